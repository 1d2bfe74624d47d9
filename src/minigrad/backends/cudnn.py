"""``minigrad.backends.cudnn``: cuDNN's flags, as ``torch.backends.cudnn`` (cuDNN is never
used by minigrad, so they change nothing; defaults are PyTorch's)."""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available", "version"]

enabled: bool = True
"""Whether cuDNN may be used."""
benchmark: bool = False
"""Whether cuDNN picks the fastest convolution algorithm by trying them."""
deterministic: bool = False
"""Whether cuDNN uses deterministic algorithms only."""
allow_tf32: bool = True
"""Whether cuDNN convolutions may use TensorFloat-32."""


def is_available() -> bool:
    """Whether cuDNN can be used: False."""
    return False


def version() -> int | None:
    """cuDNN's version: None, as PyTorch without cuDNN."""
    return None
