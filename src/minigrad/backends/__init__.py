"""``minigrad.backends``: PyTorch's backend flags (``backends.cudnn``, ``backends.cuda``,
``backends.mps``), so programs that set or read them run unchanged.

None of these flags changes a result: they are plain settable attributes with PyTorch's
defaults. The package also holds minigrad's array backends, the only modules naming an array
library: ``_numpy.py`` (CPU tensors), ``_cupy.py`` (CUDA tensors, imported on first use) and
``_registry.py`` (which backend serves which array class and device; ``minigrad.backend``
is what the rest of minigrad imports).
"""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
