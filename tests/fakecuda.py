"""A CuPy-shaped stand-in for testing device='cuda' without a GPU (tests only, never shipped).

``fakecupy`` is an array module that behaves like ``cupy`` where minigrad could tell the
difference, with numpy computing underneath:

- its arrays (``FakeArray``) are not ndarrays: ``np.asarray(a)`` / ``__array__`` raise as
  CuPy's do, numpy functions and ufuncs refuse them, and they refuse host operands (a numpy
  array in an operator or in an ``xp`` function), so every implicit host/device crossing in
  the engine fails loudly; ``get()`` is the one way back to the host;
- ``flags.writeable`` does not exist (CuPy arrays cannot be read-only);
- integer index arrays that are out of range wrap around silently, as CuPy's do, so the
  engine's own bounds checks are what raise;
- what CuPy lacks is absent: ``errstate``, ``frompyfunc``, ``seterr``, ufunc ``.at`` (CuPy
  has ``cupyx.scatter_add``), ``as_strided``'s ``writeable``; its ``random.Generator`` has
  CuPy's methods only (no ``normal``, ``choice``, ``permutation``);
- reductions give 0-d arrays, never numpy scalars.

``backend()`` is minigrad's own ``CupyBackend`` over this module, so the stand-in runs the
same backend code a real GPU does; ``install()`` makes it the "cuda" device's arrays.
"""

from __future__ import annotations

import math
import types

import numpy as np

_NP_ARRAY = np.ndarray


def _host_refused(what: str, x) -> TypeError:
    return TypeError(f"fakecuda: {what} got a host (numpy) array of shape {x.shape}; CuPy refuses host "
                     "operands (move it with minigrad's .to('cuda') / xp.asarray first)")


def _unwrap(x, what: str):
    """numpy data for a CuPy-call argument: FakeArrays unwrapped, host arrays refused."""
    cls = x.__class__
    if cls is FakeArray:
        return x._a
    if cls is _NP_ARRAY:
        raise _host_refused(what, x)
    if cls is list or cls is tuple:
        return cls(_unwrap(v, what) for v in x)
    return x


def _wrap(r):
    """A numpy result as CuPy's: arrays and numpy scalars become FakeArrays (CuPy has no scalars)."""
    if isinstance(r, _NP_ARRAY):
        return FakeArray(r)
    if isinstance(r, np.generic):
        return FakeArray(np.asarray(r))
    if r.__class__ is tuple or r.__class__ is list:
        return r.__class__(_wrap(v) for v in r)
    return r


def _wrap_indices(a, index):
    """``index`` with its integer-array entries taken modulo their dimension: CuPy does not check
    bounds on advanced indexing, it wraps (so the engine must check before indexing)."""
    if not isinstance(index, tuple):
        index = (index,)
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis and not
                 (isinstance(i, _NP_ARRAY) and i.dtype == np.bool_)) + sum(
        i.ndim for i in index if isinstance(i, _NP_ARRAY) and i.dtype == np.bool_)
    out = []
    dim = 0
    for i in index:
        if i is None:
            out.append(i)
        elif i is Ellipsis:
            out.append(i)
            dim += a.ndim - n_real
        elif isinstance(i, _NP_ARRAY) and i.dtype == np.bool_:
            out.append(i)
            dim += i.ndim
        elif isinstance(i, _NP_ARRAY) and i.dtype.kind in "iu" and dim < a.ndim and a.shape[dim]:
            out.append(i % a.shape[dim])
            dim += 1
        else:
            out.append(i)
            dim += 1
    return tuple(out)


def _index(x):
    """An index for a FakeArray: FakeArrays unwrapped; host arrays refused; lists of ints kept."""
    if isinstance(x, tuple):
        return tuple(_index(i) for i in x)
    if x.__class__ is FakeArray:
        return x._a
    if x.__class__ is _NP_ARRAY:
        raise _host_refused("indexing", x)
    return x


class _Flags:
    __slots__ = ("_a",)

    def __init__(self, a) -> None:
        self._a = a

    @property
    def c_contiguous(self) -> bool:
        return self._a.flags.c_contiguous

    @property
    def f_contiguous(self) -> bool:
        return self._a.flags.f_contiguous

    @property
    def owndata(self) -> bool:
        return self._a.flags.owndata

    def __getattr__(self, name):
        raise AttributeError(f"'cupy._core.flags.Flags' object has no attribute {name!r}")


def _binop(name):
    def op(self, other):
        if other.__class__ is FakeArray:
            other = other._a
        elif other.__class__ is _NP_ARRAY or other.__class__ is list:
            raise TypeError(f"Unsupported type {type(other)}")
        return _wrap(getattr(self._a, name)(other))

    op.__name__ = name
    return op


def _iop(name):
    def op(self, other):
        if other.__class__ is FakeArray:
            other = other._a
        elif other.__class__ is _NP_ARRAY or other.__class__ is list:
            raise TypeError(f"Unsupported type {type(other)}")
        getattr(self._a, name)(other)
        return self

    op.__name__ = name
    return op


class FakeArray:
    """A device array of the stand-in: a numpy array inside, CuPy's surface outside."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __array_ufunc__ = None  # numpy's ufuncs refuse it (and ndarray op FakeArray defers to it)
    __hash__ = None

    def __init__(self, a) -> None:
        self._a = a

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
                        "a NumPy array explicitly.")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"fakecuda: numpy.{func.__name__} called on a device array (use the backend's xp)")

    # -- attributes CuPy has ---------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: FakeArray(self._a.T))
    mT = property(lambda self: FakeArray(self._a.mT))
    flags = property(lambda self: _Flags(self._a))
    base = property(lambda self: None if self._a.base is None else FakeArray(self._a.base))
    real = property(lambda self: FakeArray(self._a.real))
    device = property(lambda self: _DEVICE)

    def get(self, stream=None, order="C", out=None):
        """A host (numpy) copy: CuPy's one way back to the host."""
        return np.array(self._a, order="K")

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __getattr__(self, name):
        if name in ("ctypes", "tofile", "__array_interface__", "__array_struct__", "tobytes", "dumps", "setflags"):
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        meth = getattr(self._a, name)
        if not callable(meth):
            return _wrap(meth)

        def call(*args, **kwargs):
            r = meth(*_unwrap(args, f"ndarray.{name}"), **{k: _unwrap(v, f"ndarray.{name}") for k, v in kwargs.items()})
            return self if r is self._a else _wrap(r)  # (astype(copy=False) is the array itself, as CuPy's)

        return call

    # -- Python protocol -----------------------------------------------------
    def __getitem__(self, index):
        return _wrap(self._a[_wrap_indices(self._a, _index(index))])

    def __setitem__(self, index, value):
        if value.__class__ is FakeArray:
            value = value._a
        elif value.__class__ is _NP_ARRAY:
            raise _host_refused("__setitem__", value)
        self._a[_wrap_indices(self._a, _index(index))] = value

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (FakeArray(np.asarray(v)) for v in self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __repr__(self) -> str:
        return "fakecuda." + repr(self._a)

    def __neg__(self):
        return _wrap(-self._a)

    def __pos__(self):
        return _wrap(+self._a)

    def __abs__(self):
        return _wrap(abs(self._a))

    def __invert__(self):
        return _wrap(~self._a)

    for _n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
               "lshift", "rshift", "radd", "rsub", "rmul", "rtruediv", "rfloordiv", "rmod", "rpow", "rmatmul",
               "rand", "ror", "rxor", "lt", "le", "gt", "ge", "eq", "ne", "divmod"):
        locals()[f"__{_n}__"] = _binop(f"__{_n}__")
    for _n in ("iadd", "isub", "imul", "itruediv", "ifloordiv", "imod", "ipow", "iand", "ior", "ixor"):
        locals()[f"__{_n}__"] = _iop(f"__{_n}__")
    del _n


class _Device:
    id = 0

    def synchronize(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


_DEVICE = _Device()


class _UfuncWrapper:
    """A ufunc of the stand-in: called as CuPy's, ``out=`` a FakeArray; no ``.at``."""

    def __init__(self, uf) -> None:
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin = uf.nin
        self.nout = uf.nout

    def __call__(self, *args, **kwargs):
        name = f"cupy.{self.__name__}"
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, name)
        r = self._uf(*_unwrap(args, name), **{k: (v if k == "out" else _unwrap(v, name)) for k, v in kwargs.items()})
        if out is not None and not isinstance(out, tuple):
            return out
        return _wrap(r)

    def __getattr__(self, name):
        if name == "at":
            raise AttributeError("fakecuda: CuPy ufuncs have no .at here (use cupyx.scatter_add)")
        meth = getattr(self._uf, name)

        def call(*args, **kwargs):
            where = f"cupy.{self.__name__}.{name}"
            return _wrap(meth(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()}))

        return call


def _function(name, fn):
    """An xp function of the stand-in: FakeArrays in and out, host arrays refused."""
    where = f"cupy.{name}"

    def call(*args, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out, where)
            fn(*_unwrap(args, where), **{k: (v if k == "out" else _unwrap(v, where)) for k, v in kwargs.items()})
            return out
        r = fn(*_unwrap(args, where), **{k: _unwrap(v, where) for k, v in kwargs.items()})
        for a in args:  # a function handing back its argument itself gives back the same device array
            if a.__class__ is FakeArray and a._a is r:
                return a
        return _wrap(r)

    call.__name__ = name
    return call


class FakeGenerator:
    """``cupy.random.Generator``'s methods (no ``normal``, ``choice``, ``permutation``)."""

    def __init__(self, seed=None) -> None:
        self._g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64, out=None):
        return _wrap(np.asarray(self._g.random(size, dtype=dtype)))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return _wrap(np.asarray(self._g.standard_normal(size, dtype=dtype)))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return _wrap(np.asarray(self._g.integers(low, high, size, dtype=dtype, endpoint=endpoint)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return _wrap(np.asarray(self._g.uniform(low, high, size).astype(dtype)))


# Names CuPy does not have (or has with another meaning): absent from the stand-in.
ABSENT = frozenset({"errstate", "frompyfunc", "seterr", "geterr", "seterrcall", "vectorize", "set_printoptions",
                    "get_printoptions", "printoptions", "savez", "savez_compressed", "save", "load", "loadtxt",
                    "genfromtxt", "fromfile", "memmap", "ctypeslib", "rec", "char", "ma", "polynomial",
                    "object_", "str_", "bytes_", "datetime64", "timedelta64", "busday_count", "exceptions"})
# Host-data entry points: CuPy copies numpy input to the device here (nowhere else).
_FROM_HOST = frozenset({"asarray", "array", "ascontiguousarray", "asanyarray"})


def _from_host(name):
    def call(a, dtype=None, order="K", **kwargs):
        if a.__class__ is FakeArray:  # already on the device: a copy only for array() or a new dtype
            r = np.array(a._a, dtype, copy=True, order=order) if name == "array" else np.asarray(a._a, dtype)
            if r is a._a:
                return a
        else:  # host data (numbers, lists, numpy arrays): always a new device buffer
            r = np.array(_unwrap(a, f"cupy.{name}") if a.__class__ is list else a, dtype, copy=True, order=order)
        return FakeArray(r if name != "ascontiguousarray" else np.ascontiguousarray(r))

    call.__name__ = name
    return call


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided``: no ``subok``, no ``writeable``."""
    return FakeArray(np.lib.stride_tricks.as_strided(_unwrap(x, "as_strided"), shape, strides))


class FakeCupy(types.ModuleType):
    """The ``cupy`` module of the stand-in (numpy's namespace, filtered and wrapped)."""

    def __init__(self) -> None:
        super().__init__("fakecupy")
        self.ndarray = FakeArray
        self.random = types.SimpleNamespace(default_rng=FakeGenerator, Generator=FakeGenerator)
        self.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=_as_strided))
        self.cuda = types.SimpleNamespace(Device=lambda i=0: _DEVICE,
                                          runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
        self.linalg = types.SimpleNamespace(**{n: _function(f"linalg.{n}", getattr(np.linalg, n))
                                               for n in ("norm", "inv", "det", "solve", "svd", "qr", "cholesky",
                                                         "eigh", "slogdet", "pinv", "matrix_power")})

    def __getattr__(self, name):
        if name in ABSENT or name.startswith("_"):
            raise AttributeError(f"module 'cupy' has no attribute {name!r}")
        if name in _FROM_HOST:
            val = _from_host(name)
        else:
            val = getattr(np, name)
            if isinstance(val, np.ufunc):
                val = _UfuncWrapper(val)
            elif callable(val) and not isinstance(val, type):
                val = _function(name, val)
        setattr(self, name, val)  # cached: the next lookup is a plain attribute
        return val


fakecupy = FakeCupy()


def _erf(x):
    """``cupyx.scipy.special.erf`` of the stand-in (libm's, elementwise, in x's dtype)."""
    a = _unwrap(x, "cupyx.scipy.special.erf")
    return FakeArray(np.asarray(np.vectorize(math.erf, otypes=[np.float64])(a), dtype=a.dtype))


special = types.SimpleNamespace(erf=_erf)


def scatter_add(a, slices, value) -> None:
    """``cupyx.scatter_add``: ``a[slices] += value`` with repeated indices accumulating."""
    if value.__class__ is _NP_ARRAY:
        raise _host_refused("cupyx.scatter_add", value)
    np.add.at(a._a, _index(slices), value._a if value.__class__ is FakeArray else value)


def backend():
    """minigrad's CuPy backend over the stand-in module."""
    from minigrad.backends._cupy import CupyBackend

    return CupyBackend(fakecupy, special, scatter_add, name="fakecupy")


def install():
    """Make the stand-in the "cuda" device's array library (returns the backend)."""
    from minigrad.backends import _registry

    bk = backend()
    _registry.set_device_backend("cuda", bk)
    return bk


def uninstall() -> None:
    from minigrad.backends import _registry

    _registry.set_device_backend("cuda", None)
