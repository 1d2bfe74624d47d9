"""The array module behind every Tensor: the only module that names numpy.

Everything else imports ``xp`` (and the few helpers here) from this module, so a
cupy backend can slot in later by changing this file alone: what differs per array
library (dtypes, RNG, FP error state, finiteness tests, fast paths around numpy's
dispatchers) and the ``device`` a tensor lives on. Process-level tuning (malloc, the
garbage collector, thread pools) is in ``runtime.py``.
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


# Every device type PyTorch's parser knows; only 'cpu' holds tensors in minigrad today.
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class DeviceUnavailableError(RuntimeError, AssertionError):
    """Raised where a program asks for a device minigrad cannot use.

    PyTorch raises ``AssertionError("Torch not compiled with CUDA enabled")`` in its CPU build
    and ``RuntimeError`` in a CUDA build on a machine without a GPU; this is both, so a
    program's ``except`` written for either catches it.
    """


def device_unavailable(what: str, kind: str = "cuda") -> DeviceUnavailableError:
    """The error for ``what`` (an op or call) needing the unavailable device type ``kind``."""
    if kind == "cuda":
        why = "CUDA is not available: minigrad runs on the CPU only (minigrad.cuda.is_available() is False)"
    else:
        why = f"device type {kind!r} is not available: minigrad runs on the CPU only"
    return DeviceUnavailableError(f"{what}: {why}; use device='cpu'")


class device:
    """A device, as ``torch.device``: ``device('cpu')``, ``device('cuda:0')``, ``device('cuda', 0)``.

    Any device type PyTorch knows can be named (so ``device('cuda' if cuda.is_available() else
    'cpu')`` and the like run); only ``'cpu'`` can hold tensors, others raise where used.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device | int = "cpu", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # torch.device(0) is the first accelerator
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: got {type!r}")
        kind, sep, num = type.partition(":")
        if kind not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                               f"string: {type}")
        if sep:
            if not num.isdigit() or ":" in num:
                raise RuntimeError(f"Invalid device string: '{type}'")
            if index is not None:
                raise RuntimeError("type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            index = int(num)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = kind
        self.index = index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type and other.index == self.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> device:
        if self.type != "cpu":
            raise device_unavailable("with device(...)", self.type)
        return self

    def __exit__(self, *exc) -> None:
        return None


_CPU = device("cpu")


def check_device(dev) -> None:
    """Raise unless ``dev`` (a device, a device string, an int or None) is the CPU."""
    if dev is not None and dev is not _CPU and dev != "cpu":
        d = device(dev)
        if d.type != "cpu":
            raise device_unavailable(f"placing a tensor on {str(d)!r}", d.type)
