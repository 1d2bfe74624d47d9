"""``minigrad.cuda``: PyTorch's CUDA queries, answered through CuPy.

``device='cuda'`` tensors hold CuPy arrays (one GPU: ``cuda:0``). CuPy is imported the first
time a CUDA tensor is made or these functions are asked about the GPU; where CuPy or a GPU is
missing, ``is_available()`` is False, ``device_count()`` is 0, and calls that need a GPU raise
:class:`~minigrad.backend.DeviceUnavailableError`, as ``torch.cuda`` does without CUDA.
"""

from __future__ import annotations

import importlib.util

from ..backend import DeviceUnavailableError, device_unavailable
from ..backends import _registry
from . import amp

__all__ = [
    "amp", "current_device", "device_count", "empty_cache", "get_device_capability", "get_device_name",
    "get_device_properties", "initial_seed", "is_available", "is_bf16_supported", "is_initialized",
    "manual_seed", "manual_seed_all", "max_memory_allocated", "memory_allocated", "memory_reserved", "seed",
    "seed_all", "set_device", "synchronize",
]

_unavailable: list = []  # the reason CUDA could not be loaded, once known


def _backend(what: str | None = None):
    """The CUDA array backend (loading CuPy on first use); None, or raises when ``what`` names the
    call, where there is no usable GPU."""
    bk = _registry.loaded("cuda")
    if bk is not None:
        return bk
    if not _unavailable:
        if importlib.util.find_spec("cupy") is None:
            _unavailable.append("CuPy is not installed")
        else:
            try:
                return _registry.for_device("cuda")
            except DeviceUnavailableError as e:
                _unavailable.append(str(e))
    if what is not None:
        raise device_unavailable(what)
    return None


def is_available() -> bool:
    """Whether CUDA can be used: CuPy is installed and sees a GPU."""
    return _backend() is not None


def device_count() -> int:
    """The number of CUDA devices minigrad uses: 1 with a GPU (``cuda:0``), else 0."""
    return 1 if is_available() else 0


def is_initialized() -> bool:
    """Whether CUDA has been initialised (a CUDA tensor or query loaded CuPy)."""
    return _registry.loaded("cuda") is not None


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether a CUDA device supports bfloat16 here: False (minigrad's bfloat16 is CPU-only)."""
    return False


def manual_seed(seed: int) -> None:
    """Seed the CUDA device's default generator (queued until it is first used, as PyTorch)."""
    from .. import random as R

    R.seed_cuda(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's generator: the one device's (see :func:`manual_seed`)."""
    manual_seed(seed)


def seed() -> None:
    """Seed the CUDA generator nondeterministically."""
    from .. import random as R

    R.seed_cuda(None)


def seed_all() -> None:
    """Seed every CUDA generator nondeterministically."""
    seed()


def _pool():
    """CuPy's default memory pool when CUDA is loaded (None otherwise, or for the test stand-in)."""
    bk = _registry.loaded("cuda")
    get = getattr(bk.xp, "get_default_memory_pool", None) if bk is not None else None
    return None if get is None else get()


def empty_cache() -> None:
    """Release the cached, unused CUDA memory of CuPy's pool."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()


def memory_allocated(device=None) -> int:
    """Bytes of CUDA memory held by arrays (CuPy's pool: used bytes); 0 without CUDA."""
    pool = _pool()
    return 0 if pool is None else int(pool.used_bytes())


def max_memory_allocated(device=None) -> int:
    """Peak bytes of CUDA memory held by arrays: not tracked by CuPy, so the current figure."""
    return memory_allocated(device)


def memory_reserved(device=None) -> int:
    """Bytes of CUDA memory held by CuPy's pool (used and cached); 0 without CUDA."""
    pool = _pool()
    return 0 if pool is None else int(pool.total_bytes())


def synchronize(device=None) -> None:
    """Wait for every queued CUDA kernel to finish; raises where CUDA is not available."""
    _backend("minigrad.cuda.synchronize()").synchronize()


def current_device() -> int:
    """The index of the current CUDA device: 0; raises where CUDA is not available."""
    _backend("minigrad.cuda.current_device()")
    return 0


def set_device(device) -> None:
    """Select a CUDA device: only ``cuda:0`` exists here; raises where CUDA is not available."""
    from ..backend import backend_for
    from ..backend import device as _device

    _backend("minigrad.cuda.set_device()")
    backend_for(_device("cuda", device) if isinstance(device, int) else device)


def get_device_name(device=None) -> str:
    """The CUDA device's name; raises where CUDA is not available."""
    bk = _backend("minigrad.cuda.get_device_name()")
    try:
        return bk.xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except AttributeError:  # (the test suite's stand-in has no properties)
        return bk.name


def get_device_properties(device=None):
    """The CUDA device's properties (CuPy's dict); raises where CUDA is not available."""
    return _backend("minigrad.cuda.get_device_properties()").xp.cuda.runtime.getDeviceProperties(0)


def get_device_capability(device=None) -> tuple:
    """The CUDA device's compute capability (major, minor); raises where CUDA is not available."""
    props = get_device_properties(device)
    return props["major"], props["minor"]


def initial_seed() -> int:
    """The CUDA default generator's seed; raises where CUDA is not available."""
    from .. import random as R

    _backend("minigrad.cuda.initial_seed()")
    return R.cuda_default_generator().initial_seed()
