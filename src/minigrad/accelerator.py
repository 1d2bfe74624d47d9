"""``minigrad.accelerator``: PyTorch's device-agnostic accelerator queries.

minigrad has no accelerator today (it runs on the CPU), so ``is_available()`` is False and
``current_accelerator()`` None: the ``device = accelerator.current_accelerator() if
accelerator.is_available() else "cpu"`` idiom picks the CPU. Calls that need one raise
as PyTorch's do on a machine without one.
"""

from __future__ import annotations

from .backend import DeviceUnavailableError, device

__all__ = ["current_accelerator", "current_device_index", "device_count", "empty_cache", "is_available",
           "synchronize"]


def _none() -> DeviceUnavailableError:
    return DeviceUnavailableError("Cannot access accelerator device when none is available.")


def is_available() -> bool:
    """Whether an accelerator (CUDA, MPS, XPU...) is available: False."""
    return False


def device_count() -> int:
    """The number of accelerator devices: 0."""
    return 0


def current_accelerator(check_available: bool = False) -> device | None:
    """The accelerator's device type as a ``device``, or None: there is none."""
    return None


def current_device_index() -> int:
    """The current accelerator's index; raises: there is none."""
    raise _none()


current_device_idx = current_device_index


def set_device_index(device) -> None:
    """Select an accelerator device; raises: there is none."""
    raise _none()


set_device_idx = set_device_index


def synchronize(device=None) -> None:
    """Wait for the accelerator; raises: there is none."""
    raise _none()


def empty_cache() -> None:
    """Release the accelerator's cached memory; raises: there is none."""
    raise _none()
