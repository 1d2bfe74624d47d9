"""The array module behind every Tensor: the only module that names numpy.

Everything else imports ``xp`` (and the few helpers here) from this module, so a
cupy backend can slot in later by changing this file alone.
"""

from __future__ import annotations

import math

import numpy

xp = numpy
ndarray = numpy.ndarray
generic = numpy.generic  # numpy scalar types (np.float32(1.0), ...)
ufunc = numpy.ufunc
dtype = numpy.dtype
AxisError = numpy.exceptions.AxisError

float16 = numpy.dtype(numpy.float16)
float32 = numpy.dtype(numpy.float32)
float64 = numpy.dtype(numpy.float64)
int8 = numpy.dtype(numpy.int8)
int16 = numpy.dtype(numpy.int16)
int32 = numpy.dtype(numpy.int32)
int64 = numpy.dtype(numpy.int64)
uint8 = numpy.dtype(numpy.uint8)
bool_ = numpy.dtype(numpy.bool_)

_ZERO_STRIDES = [(0,) * n for n in range(65)]
# numpy.where's and numpy.may_share_memory's C functions without the __array_function__
# dispatcher in front of them (a Python call, ~0.5 us): the hot paths only pass ndarrays.
where = getattr(numpy.where, "_implementation", numpy.where)
may_share_memory = getattr(numpy.may_share_memory, "_implementation", numpy.may_share_memory)


def broadcast_to(x, shape: tuple):
    """``numpy.broadcast_to`` (a read-only view); a 0-d ``x`` (a full reduction's gradient)
    is spread straight from strides, about 8x faster than numpy's Python-level function."""
    if x.ndim == 0 and len(shape) <= 64:
        view = numpy.ndarray(shape, x.dtype, x, 0, _ZERO_STRIDES[len(shape)])
        view.flags.writeable = False
        return view
    return numpy.broadcast_to(x, shape)


_BLAS_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def surely_finite(a) -> bool:
    """True when every element of the array ``a`` is finite; False when one is nan or inf,
    and, rarely, for finite values so large that the test's sum of squares overflows (callers
    then take their exact path for non-finite values, which is right for any input).

    For float32/float64 the test is BLAS's dot of ``a`` with itself: a single vectorised
    pass, ~3x faster than ``isfinite(a.sum())``, numpy's pairwise sum being scalar code.
    """
    tok = fp_var_set(FP_IGNORE)  # an overflowing test is an answer here, not a warning
    try:
        if a.dtype in _BLAS_FLOATS:
            flat = a.ravel(order="K")  # a view when ``a`` is contiguous in any order
            return math.isfinite(numpy.dot(flat, flat))
        return bool(numpy.isfinite(a.sum()))
    finally:
        fp_var_reset(tok)


_SCALARS: dict = {}  # dtype -> {Python number: read-only 0-d array}


def scalar_array(x, dt):
    """A read-only 0-d array of dtype ``dt`` holding the Python number ``x``, cached per dtype.

    numpy takes a 0-d array operand about twice as fast as a Python number (~0.3 us less
    per call on small arrays), so the hot paths pass these instead of literals.
    """
    cache = _SCALARS.get(dt)
    if cache is None:
        cache = _SCALARS[dt] = {}
    arr = cache.get(x)
    if arr is not None and (x or not (x.__class__ is float and math.copysign(1.0, x) < 0)):
        return arr  # (-0.0 == 0.0 as a dict key: a cached +0 never stands for -0.0)
    tok = fp_var_set(FP_IGNORE)  # 1e300 in float32 is inf, silently (as PyTorch)
    try:
        arr = numpy.asarray(x, dtype=dt)
    finally:
        fp_var_reset(tok)
    arr.flags.writeable = False
    if not (x == 0 and x.__class__ is float and math.copysign(1.0, x) < 0):
        if len(cache) >= 256:
            cache.clear()
        cache[x] = arr
    return arr


# Floating-point warnings: PyTorch returns inf/nan silently (log(0), 1/0, exp(1000)),
# so every forward runs with numpy's FP warnings off. Setting numpy's error-state
# context variable directly costs ~0.2 us, against ~1.3 us for ``numpy.errstate``.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _fp_var

    with numpy.errstate(all="ignore"):
        FP_IGNORE = _fp_var.get()
    # Used as: token = fp_var_set(FP_IGNORE) ... fp_var_reset(token).
    fp_var_set = _fp_var.set
    fp_var_reset = _fp_var.reset
except Exception:  # pragma: no cover - other numpy layouts
    FP_IGNORE = None

    def fp_var_set(_ignored):
        ctx = numpy.errstate(all="ignore")
        ctx.__enter__()
        return ctx

    def fp_var_reset(ctx):
        ctx.__exit__(None, None, None)


# glibc malloc settings made at import (see _keep_freed_heap); benchmarks/runner.py repeats them.
HEAP_KEEP = 128 << 20  # M_TRIM_THRESHOLD: freed memory at the heap's top kept for reuse, bytes
OWN_MAP_FROM = 16 << 20  # M_MMAP_THRESHOLD: allocations this big get their own mapping, bytes


def _keep_freed_heap(keep: int = HEAP_KEEP, own_map_from: int = OWN_MAP_FROM) -> None:
    """Ask glibc's malloc to keep up to ``keep`` bytes of freed memory at the top of its heap,
    and to map allocations of ``own_map_from`` bytes or more on their own.

    Training allocates and frees the same large arrays every step (im2col columns,
    activations, gradients). By default glibc hands the top of its heap back to the OS
    as soon as it is free, so the next step faults every page in again, zero-filled by
    the kernel: about 40% of a small CNN's training step. Kept, memory freed by one step
    is reused by the next. Arrays of 16 MiB and more get their own mapping, returned to the
    OS when freed: a one-off big temporary (say float64 data before a cast to float32) then
    leaves no hole in the heap that the next arrays cannot fill (seen: +15 MiB of peak
    memory on 4M-element float32 work). Only glibc has ``mallopt``; elsewhere, or with
    ``MINIGRAD_MALLOC_TUNING=0``, nothing changes.
    """
    import os
    import sys

    if os.environ.get("MINIGRAD_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    M_TRIM_THRESHOLD = -1
    M_MMAP_THRESHOLD = -3
    # Setting either turns off glibc's adaptive thresholds (which start by mapping every
    # array over 128 KiB afresh, zero-filled page faults on each step).
    mallopt(M_TRIM_THRESHOLD, int(keep))
    mallopt(M_MMAP_THRESHOLD, int(own_map_from))


_keep_freed_heap()


def _fewer_gc_passes(threshold0: int = 10_000) -> None:
    """Run Python's cyclic garbage collector less often, unless the program chose its own
    thresholds.

    Every recorded op leaves a few container objects (its Node, output Tensor, weak reference
    and tuples) that live until backward; with the default first-generation threshold (700
    allocations) the collector runs every hundred or so ops and its older generations rescan
    the whole graph held so far: about 40% of a 20,000-op chain's forward pass (graphs are freed
    by reference counting, so the collector finds nothing there). A threshold of 10,000 keeps
    its cost small. ``MINIGRAD_GC_TUNING=0`` leaves Python's settings alone.
    """
    import gc
    import os

    if os.environ.get("MINIGRAD_GC_TUNING", "1") == "0" or gc.get_threshold() != (700, 10, 10):
        return
    gc.set_threshold(threshold0, 10, 10)


_fewer_gc_passes()
