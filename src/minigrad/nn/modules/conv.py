"""``nn.modules.conv``: convolution layers (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..conv import Conv1d, Conv2d, ConvTranspose2d
