"""``nn.modules.batchnorm``: batch normalisation (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..normalization import BatchNorm1d, BatchNorm2d
