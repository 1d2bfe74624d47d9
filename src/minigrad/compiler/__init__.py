"""minigrad.compile (see trace.py, plan.py, replay.py)."""
