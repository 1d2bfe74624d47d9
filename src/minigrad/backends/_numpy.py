"""The numpy array backend: every CPU tensor's arrays (always loaded).

With ``_cupy.py`` beside it, the only place that names an array library. A backend is an
object owning its ``xp`` (the array module the ops' rows are written against) and the few
helpers that differ between array libraries; the op callers pick it per call from the
class of their input arrays (``backends._registry``).
"""

from __future__ import annotations

import math

import numpy

from . import _registry
from ._base import ArrayBackend

_ZERO_STRIDES = [(0,) * n for n in range(65)]
_erf64 = numpy.frompyfunc(math.erf, 1, 1)
_P = 0.3275911  # Abramowitz & Stegun 7.1.26
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_BLAS_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))

# Floating-point warnings: PyTorch returns inf/nan silently (log(0), 1/0, exp(1000)), so every
# forward runs with numpy's FP warnings off. Setting numpy's error-state context variable
# directly costs ~0.2 us, against ~1.3 us for ``numpy.errstate``.
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


_SCALARS: dict = {}  # dtype -> {Python number: read-only 0-d array}


def _scalar_array(x, dt):
    """``NumpyBackend.scalar_array``: a read-only 0-d array of dtype ``dt`` holding ``x``, cached."""
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


class NumpyBackend(ArrayBackend):
    """numpy on the CPU: read-only views, FP error state, numpy's fast paths."""

    name = "numpy"
    device_type = "cpu"
    xp = numpy
    ndarray = numpy.ndarray
    has_read_only = True
    frompyfunc = staticmethod(numpy.frompyfunc)
    # numpy.where's C function without the __array_function__ dispatcher in front of it (a
    # Python call, ~0.5 us): the hot paths only pass ndarrays.
    where = staticmethod(getattr(numpy.where, "_implementation", numpy.where))
    may_share_memory = staticmethod(getattr(numpy.may_share_memory, "_implementation", numpy.may_share_memory))

    scatter_add = staticmethod(numpy.add.at)  # a[index] += v with repeated indices accumulating

    @staticmethod
    def broadcast_to(x, shape: tuple):
        """``numpy.broadcast_to`` (a read-only view); a 0-d ``x`` (a full reduction's gradient)
        is spread straight from strides, about 8x faster than numpy's Python-level function."""
        if x.ndim == 0 and len(shape) <= 64:
            view = numpy.ndarray(shape, x.dtype, x, 0, _ZERO_STRIDES[len(shape)])
            view.flags.writeable = False
            return view
        return numpy.broadcast_to(x, shape)

    @staticmethod
    def as_strided(x, shape: tuple, strides: tuple, writeable: bool = True):
        """A view of ``x`` with the given shape and byte strides (numpy's ``as_strided``)."""
        return numpy.lib.stride_tricks.as_strided(x, shape, strides, writeable=writeable)

    @staticmethod
    def surely_finite(a) -> bool:
        """True when every element of ``a`` is finite; False when one is nan or inf and, rarely,
        for finite values so large that the test's sum of squares overflows (callers then take
        their exact path for non-finite values, right for any input).

        For float32/float64 the test is BLAS's dot of ``a`` with itself: one vectorised pass,
        ~3x faster than ``isfinite(a.sum())``, numpy's pairwise sum being scalar code.
        """
        tok = fp_var_set(FP_IGNORE)  # an overflowing test is an answer here, not a warning
        try:
            if a.dtype in _BLAS_FLOATS:
                flat = a.ravel(order="K")  # a view when ``a`` is contiguous in any order
                return math.isfinite(numpy.dot(flat, flat))
            return bool(numpy.isfinite(a.sum()))
        finally:
            fp_var_reset(tok)

    # A read-only 0-d array of dtype ``dt`` holding the Python number ``x``, cached per dtype:
    # numpy takes a 0-d array operand about twice as fast as a Python number (~0.3 us less per
    # call on small arrays), so the hot paths pass these instead of literals.
    scalar_array = staticmethod(_scalar_array)

    @staticmethod
    def errstate():
        """A context manager silencing floating-point warnings."""
        return numpy.errstate(all="ignore")

    @staticmethod
    def read_only(a):
        """``a`` marked read-only (numpy arrays carry the flag)."""
        a.flags.writeable = False
        return a

    @staticmethod
    def is_read_only(a) -> bool:
        return not a.flags.writeable

    @staticmethod
    def writeable(a) -> bool:
        return a.flags.writeable

    @staticmethod
    def to_host(a):
        """The host (numpy) array for ``a``: ``a`` itself."""
        return a

    @staticmethod
    def from_host(a):
        """``a`` (a numpy array) on this backend: ``a`` itself."""
        return a

    @staticmethod
    def erf(x):
        """erf elementwise (numpy has none): exact (libm) in float64, A&S 7.1.26 for smaller
        floats (|error| < 1.5e-7, float32's own rounding level)."""
        if x.dtype == numpy.float64:
            return numpy.asarray(_erf64(x), dtype=numpy.float64)  # frompyfunc gives a float for 0-d input
        z = numpy.abs(x).astype(numpy.float64)
        t = 1.0 / (1.0 + _P * z)
        poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
        y = 1.0 - poly * numpy.exp(-z * z)
        return (numpy.sign(x) * y).astype(x.dtype)

    @staticmethod
    def check_indices(idx, size: int, what: str) -> None:
        """numpy raises IndexError itself for an out-of-range index: nothing to check."""

    @staticmethod
    def synchronize() -> None:
        """Nothing runs asynchronously on the CPU."""


NUMPY = NumpyBackend()
_registry.register(NUMPY)
SCALAR_TYPES = frozenset(numpy.sctypeDict.values())  # numpy's scalar classes
for _t in SCALAR_TYPES:  # numpy's scalar types (0-d arithmetic gives them) count as numpy's
    _registry.BY_CLASS[_t] = NUMPY
    _registry.XP[_t] = numpy
