"""``python -m minigrad``: run the demo (``python -m minigrad.demo --help`` for its options)."""

from .demo import main

if __name__ == "__main__":
    main()
