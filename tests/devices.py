"""The device the device-aware tests run on: ``'cuda'`` under MINIGRAD_TEST_DEVICE=fakecuda (the
CuPy-shaped stand-in of tests/fakecuda.py, installed by conftest.py), else ``'cpu'``."""

from __future__ import annotations

import os

TEST_DEVICE = "cuda" if os.environ.get("MINIGRAD_TEST_DEVICE") == "fakecuda" else "cpu"
ON_DEVICE = TEST_DEVICE != "cpu"


def host(t):
    """A tensor's values as a numpy array, through ``.cpu()`` (whatever its device)."""
    return t.detach().cpu().numpy()
