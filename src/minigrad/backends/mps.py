"""``minigrad.backends.mps``: Apple's Metal backend queries, as ``torch.backends.mps``."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Whether the MPS device can be used: False."""
    return False


def is_built() -> bool:
    """Whether minigrad was built with MPS support: False."""
    return False
