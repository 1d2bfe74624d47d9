"""The CuPy array backend: CUDA tensors' arrays (imported only when a CUDA tensor is first made).

CuPy is numpy's drop-in clone on NVIDIA GPUs, so the ops' rows run unchanged with ``xp`` =
cupy; this object covers what differs: no floating-point error state and no read-only
arrays (``flags.writeable`` does not exist), no ``frompyfunc``, erf from
``cupyx.scipy.special``, explicit host transfers (``get()`` / ``asarray``), and integer
indices that CuPy wraps around silently where numpy raises, so gathers check their bounds
here. Scatter-adds (``cupyx.scatter_add``, used by index backward) add floats with atomics:
their summation order, so the last bits of a gradient with repeated indices, can differ
from run to run.
"""

from __future__ import annotations

import contextlib

from ._base import ArrayBackend, DeviceUnavailableError


class CupyBackend(ArrayBackend):
    """A CuPy-shaped array module ``xp`` (cupy itself, or the test suite's stand-in) as a backend.

    ``special`` is the module with ``erf`` (``cupyx.scipy.special``); ``scatter_add`` is
    ``cupyx.scatter_add``.
    """

    device_type = "cuda"
    has_read_only = False
    frompyfunc = None

    def __init__(self, xp, special, scatter_add, name: str = "cupy") -> None:
        self.name = name
        self.xp = xp
        self.ndarray = xp.ndarray
        self._special = special
        self.scatter_add = scatter_add
        self._scalars: dict = {}

    def scalar_array(self, x, dt):
        """A 0-d device array of dtype ``dt`` holding ``x``, cached per dtype (a Python number
        operand would be sent to the device on every call). Never written: the engine only
        writes into arrays it made."""
        cache = self._scalars.get(dt)
        if cache is None:
            cache = self._scalars[dt] = {}
        key = (x, str(x))  # (-0.0 and 0.0 are one dict key; their strings differ)
        arr = cache.get(key)
        if arr is None:
            arr = self.xp.asarray(x, dtype=dt)
            if len(cache) >= 256:
                cache.clear()
            cache[key] = arr
        return arr

    def surely_finite(self, a) -> bool:
        """True when every element of ``a`` is finite (one reduction, one host read)."""
        return bool(self.xp.isfinite(a).all())

    def broadcast_to(self, x, shape: tuple):
        return self.xp.broadcast_to(x, shape)

    def as_strided(self, x, shape: tuple, strides: tuple, writeable: bool = True):
        """A view with the given shape and byte strides (CuPy's ``as_strided`` has no ``writeable``)."""
        return self.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def may_share_memory(self, a, b) -> bool:
        return bool(self.xp.may_share_memory(a, b))

    @staticmethod
    def errstate():
        """GPU kernels raise no floating-point warnings: nothing to silence."""
        return contextlib.nullcontext()

    @staticmethod
    def read_only(a):
        """CuPy arrays cannot be made read-only: ``a`` unchanged (the engine does not rely on it)."""
        return a

    @staticmethod
    def is_read_only(a) -> bool:
        return False

    @staticmethod
    def writeable(a) -> bool:
        """False for a broadcast view (a zero stride over more than one element), else True."""
        for st, n in zip(a.strides, a.shape):
            if st == 0 and n > 1:
                return False
        return True

    @staticmethod
    def to_host(a):
        """A numpy copy of the device array ``a`` (waits for the GPU)."""
        return a.get()

    def from_host(self, a):
        """A device copy of the numpy array ``a``."""
        return self.xp.asarray(a)

    def erf(self, x):
        return self._special.erf(x)

    def check_indices(self, idx, size: int, what: str) -> None:
        """Raise IndexError, as numpy does, for an integer index array with an entry outside
        ``[-size, size)``: CuPy would wrap it around silently. (One reduction and host read.)"""
        if idx.size and idx.dtype.kind in "iu":
            lo = int(idx.min())
            hi = int(idx.max())
            if lo < -size or hi >= size:
                bad = hi if hi >= size else lo
                raise IndexError(f"{what}: index {bad} is out of bounds for dimension with size {size}")

    def synchronize(self) -> None:
        """Wait for every queued kernel on the current device."""
        self.xp.cuda.Device().synchronize()


def load() -> CupyBackend:
    """The backend over the installed cupy; a clear error when CuPy or a GPU is missing."""
    try:
        import cupy
        import cupyx
        import cupyx.scipy.special as special
    except ImportError as e:
        raise DeviceUnavailableError(
            "CUDA is not available: device='cuda' runs on CuPy, which is not installed (pip install "
            f"'minigrad[cuda]', or the cupy-cuda12x / cupy-cuda11x wheel matching your CUDA; {e})") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # cupy's CUDARuntimeError when no driver is present
        raise DeviceUnavailableError(f"CUDA is not available: CuPy finds no usable GPU ({e})") from None
    if count == 0:
        raise DeviceUnavailableError("CUDA is not available: CuPy finds no GPU")
    return CupyBackend(cupy, special, cupyx.scatter_add)
