"""``minigrad.backends``: PyTorch's backend flags (``backends.cudnn``, ``backends.cuda``,
``backends.mps``), so programs that set or read them run unchanged.

minigrad computes with numpy on the CPU, so none of these flags changes a result: they are
plain settable attributes with PyTorch's defaults. (The array-library backend itself is
``minigrad.backend``.)
"""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
