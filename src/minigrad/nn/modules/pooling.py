"""``nn.modules.pooling``: pooling layers (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
