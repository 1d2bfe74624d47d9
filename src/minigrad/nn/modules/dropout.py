"""``nn.modules.dropout``: dropout layers (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
