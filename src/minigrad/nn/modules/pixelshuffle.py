"""``nn.modules.pixelshuffle``: PixelShuffle and PixelUnshuffle (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..pixelshuffle import PixelShuffle, PixelUnshuffle
