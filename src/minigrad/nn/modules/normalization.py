"""``nn.modules.normalization``: LayerNorm and GroupNorm (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..normalization import GroupNorm, LayerNorm
