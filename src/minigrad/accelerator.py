"""``minigrad.accelerator``: PyTorch's device-agnostic accelerator queries.

The one accelerator minigrad knows is CUDA (through CuPy): where it is available these
answer for ``cuda``, so ``device = accelerator.current_accelerator() if
accelerator.is_available() else "cpu"`` picks the GPU; elsewhere ``is_available()`` is False,
``current_accelerator()`` None, and calls that need one raise as PyTorch's do.
"""

from __future__ import annotations

from . import cuda as _cuda
from .backend import DeviceUnavailableError, device

__all__ = ["current_accelerator", "current_device_index", "device_count", "empty_cache", "is_available",
           "synchronize"]


def _none() -> DeviceUnavailableError:
    return DeviceUnavailableError("Cannot access accelerator device when none is available.")


def is_available() -> bool:
    """Whether an accelerator (CUDA here) is available."""
    return _cuda.is_available()


def device_count() -> int:
    """The number of accelerator devices (0 or 1)."""
    return _cuda.device_count()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device(type='cuda')`` where CUDA is available, else None."""
    return device("cuda") if _cuda.is_available() else None


def current_device_index() -> int:
    """The current accelerator's index (0); raises where there is none."""
    if not _cuda.is_available():
        raise _none()
    return 0


current_device_idx = current_device_index


def set_device_index(device) -> None:
    """Select an accelerator device (only index 0 exists); raises where there is none."""
    if not _cuda.is_available():
        raise _none()
    _cuda.set_device(device)


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    """Wait for the accelerator's queued work; raises where there is none."""
    if not _cuda.is_available():
        raise _none()
    _cuda.synchronize()


def empty_cache() -> None:
    """Release the accelerator's cached memory; raises where there is none."""
    if not _cuda.is_available():
        raise _none()
    _cuda.empty_cache()
