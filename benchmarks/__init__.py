"""The minigrad benchmark suite: minigrad vs a hand-written numpy floor vs PyTorch (see README.md)."""
