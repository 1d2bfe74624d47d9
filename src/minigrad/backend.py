"""The array backends as the rest of minigrad sees them, and devices.

The array libraries themselves live in ``minigrad.backends`` (``_numpy.py``, ``_cupy.py``,
the only modules naming them): each a backend object owning its ``xp`` and the helpers that
differ. Code computing on a tensor's arrays takes the module from the arrays, per call:
``xp = XP[a.__class__]`` (one dict lookup); the names below are numpy's (the host's), for
code that works on host arrays only (datasets, printing, serialization) and for the CPU
fast paths. ``device`` is PyTorch's device object. Process-level tuning (malloc, the garbage
collector, thread pools) is in ``runtime.py``.
"""

from __future__ import annotations

from .backends._base import DeviceUnavailableError, device_unavailable
from .backends._numpy import FP_IGNORE, NUMPY, fp_var_reset, fp_var_set
from .backends._numpy import SCALAR_TYPES as NP_SCALAR_TYPES
from .backends._registry import BY_CLASS, XP, backend_of, for_device, loaded, on_device_backend

__all__ = ["BY_CLASS", "FP_IGNORE", "NP_SCALAR_TYPES", "NUMPY", "XP", "DeviceUnavailableError", "backend_of",
           "device_unavailable", "fp_var_reset", "fp_var_set", "loaded", "on_device_backend"]

xp = NUMPY.xp  # the host's array module
ndarray = NUMPY.ndarray
generic = xp.generic  # numpy scalar types (np.float32(1.0), ...)
ufunc = xp.ufunc
dtype = xp.dtype
AxisError = xp.exceptions.AxisError

float16 = xp.dtype(xp.float16)
float32 = xp.dtype(xp.float32)
float64 = xp.dtype(xp.float64)
int8 = xp.dtype(xp.int8)
int16 = xp.dtype(xp.int16)
int32 = xp.dtype(xp.int32)
int64 = xp.dtype(xp.int64)
uint8 = xp.dtype(xp.uint8)
bool_ = xp.dtype(xp.bool_)

scalar_array = NUMPY.scalar_array  # numpy's (a backend's own: ``backend_of(a).scalar_array``)
_np_where = NUMPY.where
_np_broadcast_to = NUMPY.broadcast_to


def where(cond, a, b):
    """``xp.where`` of ``cond``'s backend (numpy's without its dispatcher)."""
    if cond.__class__ is ndarray:
        return _np_where(cond, a, b)
    return BY_CLASS[cond.__class__].where(cond, a, b)


def broadcast_to(x, shape: tuple):
    """``x`` broadcast to ``shape``: a view (read-only with numpy)."""
    if x.__class__ is ndarray:
        return _np_broadcast_to(x, shape)
    return BY_CLASS[x.__class__].broadcast_to(x, shape)


def may_share_memory(a, b) -> bool:
    """Whether arrays ``a`` and ``b`` (of one backend) may share memory."""
    return BY_CLASS[a.__class__].may_share_memory(a, b)


def surely_finite(a) -> bool:
    """True when every element of ``a`` is finite (see ``NumpyBackend.surely_finite``)."""
    return BY_CLASS[a.__class__].surely_finite(a)


# Every device type PyTorch's parser knows; 'cpu' (numpy) and 'cuda' (CuPy) hold tensors.
_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """A device, as ``torch.device``: ``device('cpu')``, ``device('cuda:0')``, ``device('cuda', 0)``.

    Any device type PyTorch knows can be named; ``'cpu'`` (numpy) and ``'cuda'`` (CuPy, one
    GPU: index 0) hold tensors, others raise where used.
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
_CUDA0 = device("cuda", 0)
_DEVICE_OF_TYPE = {"cpu": _CPU, "cuda": _CUDA0}


def writeable(a) -> bool:
    """Whether the engine may write into the array ``a``: numpy's flag; on backends without
    read-only arrays (CuPy), False for a broadcast view (a zero stride over several elements,
    where one write would change many), else True."""
    if a.__class__ is ndarray:
        return a.flags.writeable
    return BY_CLASS[a.__class__].writeable(a)


def device_of(a) -> device:
    """The device of the array ``a`` (from its backend: one dict lookup)."""
    return _DEVICE_OF_TYPE[BY_CLASS[a.__class__].device_type]


def backend_for(dev):
    """The array backend making arrays for ``dev`` (a device, a device string, an int or None for
    the CPU); raises ``DeviceUnavailableError`` for a device minigrad cannot use. cupy is
    imported here, when the first CUDA tensor is made."""
    if dev is None or dev is _CPU or dev == "cpu":
        return NUMPY
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return NUMPY
    if d.type == "cuda" and d.index not in (None, 0):
        for_device("cuda")  # (the message says why when there is no CUDA at all)
        raise DeviceUnavailableError(f"CUDA error: invalid device ordinal: {d} (minigrad uses one GPU, cuda:0)")
    return for_device(d.type)


def check_device(dev):
    """The backend for ``dev`` (see :func:`backend_for`): raises where it cannot be used."""
    return backend_for(dev)


def to_backend(a, bk):
    """The array ``a`` on backend ``bk``: itself when it is there already, else a copy through the host."""
    src = BY_CLASS[a.__class__]
    if src is bk:
        return a
    return bk.from_host(src.to_host(a))
