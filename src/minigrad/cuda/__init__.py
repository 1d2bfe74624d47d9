"""``minigrad.cuda``: PyTorch's CUDA queries, answered for a machine without CUDA.

minigrad runs on the CPU only for now, so these behave as ``torch.cuda`` does in a
PyTorch build without CUDA: the queries a program asks before choosing a device
(``is_available()``, ``device_count()``) say no, seeding is accepted and does nothing
(there is no CUDA generator to seed), and calls that need a GPU raise
:class:`~minigrad.tensor.DeviceUnavailableError`.
"""

from __future__ import annotations

from ..backend import device_unavailable
from . import amp

__all__ = [
    "amp", "current_device", "device_count", "empty_cache", "get_device_capability", "get_device_name",
    "get_device_properties", "initial_seed", "is_available", "is_bf16_supported", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "memory_allocated", "memory_reserved", "seed",
    "seed_all", "set_device", "synchronize",
]


def is_available() -> bool:
    """Whether CUDA can be used: always False in minigrad today."""
    return False


def device_count() -> int:
    """The number of CUDA devices: 0."""
    return 0


def is_initialized() -> bool:
    """Whether CUDA has been initialised: never."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether a CUDA device supports bfloat16: False, there is none."""
    return False


def manual_seed(seed: int) -> None:
    """Seed the current CUDA device's generator: nothing to seed, so nothing happens (as PyTorch
    without CUDA, which queues the call for a CUDA that never starts). The CPU stream is
    ``minigrad.manual_seed``'s."""
    int(seed)  # a bad seed still fails here, as it would with CUDA


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's generator: nothing to seed (see :func:`manual_seed`)."""
    int(seed)


def seed() -> None:
    """Seed the current CUDA generator randomly: nothing to seed."""


def seed_all() -> None:
    """Seed every CUDA generator randomly: nothing to seed."""


def empty_cache() -> None:
    """Release cached CUDA memory: there is none."""


def memory_allocated(device=None) -> int:
    """Bytes of CUDA memory held by tensors: 0."""
    return 0


def max_memory_allocated(device=None) -> int:
    """Peak bytes of CUDA memory held by tensors: 0."""
    return 0


def memory_reserved(device=None) -> int:
    """Bytes of CUDA memory held by the caching allocator: 0."""
    return 0


def synchronize(device=None) -> None:
    """Wait for CUDA work to finish; raises: CUDA is not available (as PyTorch without CUDA)."""
    raise device_unavailable("minigrad.cuda.synchronize()")


def current_device() -> int:
    """The index of the current CUDA device; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.current_device()")


def set_device(device) -> None:
    """Select a CUDA device; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.set_device()")


def get_device_name(device=None) -> str:
    """A CUDA device's name; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.get_device_name()")


def get_device_properties(device=None):
    """A CUDA device's properties; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.get_device_properties()")


def get_device_capability(device=None) -> tuple:
    """A CUDA device's compute capability; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.get_device_capability()")


def initial_seed() -> int:
    """The CUDA generator's seed; raises: CUDA is not available."""
    raise device_unavailable("minigrad.cuda.initial_seed()")
