"""The Tensor: an ndarray, its autograd metadata, and one-line methods calling ops/.

No math lives here: every method forwards to a function in ``minigrad.ops``.
"""

from __future__ import annotations

from typing import Callable

from . import backend as B
from . import dtypes as D
from .autograd import graph
from .backend import backend_for, check_device, device, device_unavailable
from .size import Size
from .size import as_size as _as_size

xp = B.xp
_BUMPS = graph.BUMPS
_new_object = object.__new__
_ndarray = B.ndarray
_WRAP = D._BY_NP.get




def parse_to_args(args: tuple, kwargs: dict) -> tuple:
    """(dtype or None, device or None, copy) from the arguments of ``Tensor.to`` / ``Module.to``."""
    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):  # to(other): other's dtype and device, as PyTorch
            dtype = a.dtype
            dev = a.device
        elif isinstance(a, (str, device)) and not (isinstance(a, str) and a in D._ALIASES):
            dev = a
        else:
            dtype = a
    check_device(dev)
    return D.as_dtype(dtype), dev, copy


def _set_leaf(t, arr) -> None:
    """The slots of ``t``, a fresh leaf of a Tensor subclass (a Tensor itself is made by ``Tensor._make``)."""
    t._data = arr
    t._rg = False
    t.grad_fn = None
    t.grad = None
    t._vc = None
    t._hooks = None
    t._base = None


def _is_size_arg(a) -> bool:
    return type(a) is int or isinstance(a, xp.integer)


def legacy_new(fixed, name: str, args: tuple, kwargs: dict) -> Tensor:
    """PyTorch's legacy constructor ``Tensor(...)`` / ``FloatTensor(...)``: sizes, data or a tensor.

    ``fixed`` is the numpy dtype of a typed constructor (``FloatTensor``...), None for
    ``Tensor`` (the default float dtype).
    """
    dev = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}: PyTorch's legacy constructor "
                        "takes sizes or data, and device=; use minigrad.tensor(data, dtype=..., requires_grad=...)")
    bk = backend_for(dev)
    dt = D.default_float() if fixed is None else fixed
    if len(args) == 1 and isinstance(args[0], Tensor):
        src = args[0]
        if fixed is not None and src._data.dtype != fixed:
            raise TypeError(f"{name}(): expected a tensor of dtype {D.wrap(fixed)} (got {src.dtype})")
        return src[...] if dev is None else src.to(dev)  # an alias: the same memory and graph
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if all(_is_size_arg(a) for a in args):  # sizes (none: an empty tensor)
        sizes = tuple(int(a) for a in args) if args else (0,)
        for v in sizes:
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {list(sizes)}")
        arr = xp.zeros(sizes, dtype=dt)  # "uninitialised": zeros, so no stale memory leaks into results
    elif len(args) == 1:
        data = args[0]
        if isinstance(data, (bool, float, complex, B.generic)):
            raise TypeError(f"{name}(): new(): data must be a sequence (got {type(data).__name__})")
        arr = factories.as_array(data, dt)
    else:
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}): expected sizes "
                        "(ints), one sequence of data, or one tensor")
    return Tensor._make(B.to_backend(arr, bk), False, None)


def narrow(input: Tensor, dim: int | None = None, start=None, length: int | None = None, *,
           axis: int | None = None) -> Tensor:
    """``input`` narrowed to ``length`` elements of ``dim`` from ``start``: a view, as ``torch.narrow``."""
    dim = R.dim_alias("narrow", dim, axis, required=True)
    if start is None or length is None:
        raise TypeError("narrow() missing required arguments: 'start' and 'length'")
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = R.normalize_dims(dim, input.ndim, "narrow")[0]
    size = input._data.shape[d]
    start = int(start)  # a 0-d integer tensor too
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return input[(slice(None),) * d + (slice(start, start + length),)]


class _LegacyTensorType(type):
    """The type of ``FloatTensor``, ``LongTensor``...: calling one builds a Tensor of its dtype
    (PyTorch's legacy constructor), and ``isinstance(t, FloatTensor)`` asks ``t``'s dtype."""

    def __call__(cls, *args, **kwargs) -> Tensor:
        return legacy_new(D.as_dtype(cls.dtype), cls.__name__, args, kwargs)

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'minigrad.{cls.__name__}'>"


def _legacy_type(name: str, dt: D.dtype) -> _LegacyTensorType:
    return _LegacyTensorType(name, (), {"__module__": "minigrad", "__slots__": (), "dtype": dt,
                                        "__doc__": f"PyTorch's legacy constructor of {dt} tensors: "
                                                   f"``{name}(2, 3)`` (sizes) or ``{name}([1, 2])`` (data)."})


FloatTensor = _legacy_type("FloatTensor", D.float32)
DoubleTensor = _legacy_type("DoubleTensor", D.float64)
HalfTensor = _legacy_type("HalfTensor", D.float16)
BFloat16Tensor = _legacy_type("BFloat16Tensor", D.bfloat16)
LongTensor = _legacy_type("LongTensor", D.int64)
IntTensor = _legacy_type("IntTensor", D.int32)
ShortTensor = _legacy_type("ShortTensor", D.int16)
CharTensor = _legacy_type("CharTensor", D.int8)
ByteTensor = _legacy_type("ByteTensor", D.uint8)
BoolTensor = _legacy_type("BoolTensor", D.bool)
_LEGACY_TYPES = (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor,
                 CharTensor, ByteTensor, BoolTensor)
_LEGACY_BY_DTYPE = {str(t.dtype): t for t in _LEGACY_TYPES}  # by name: hashing bfloat16 would load it
_LEGACY_BY_NAME = {t.__name__: t for t in _LEGACY_TYPES}


class Tensor:
    """An n-dimensional array that records the ops applied to it for reverse-mode autodiff.

    ``Tensor(...)`` is PyTorch's legacy constructor: ``Tensor(2, 3)`` (sizes: an uninitialised
    tensor of the default float dtype, zeros in minigrad), ``Tensor([1, 2])`` (data, converted
    to the default float dtype), ``Tensor()`` (empty), ``Tensor(t)`` (an alias of the tensor
    ``t``); only ``device=`` may be passed by keyword. ``minigrad.tensor(data, dtype=...,
    requires_grad=...)`` is the constructor to use in new code.
    """

    # Set only where needed (else unset): ``_saved`` on a tensor that a recorded op saved without it
    # requiring grad (registry.mark_saved), ``_views`` on a root tensor with live views (movement.make_view).
    __slots__ = ("_data", "_rg", "grad_fn", "grad", "_vc", "_hooks", "_base", "_saved", "_views", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator
    __array_priority__ = 1000

    def __new__(cls, *args, **kwargs):
        if cls is not Tensor:
            return object.__new__(cls)  # a subclass (Parameter) builds itself in its __init__
        return legacy_new(None, "Tensor", args, kwargs)

    def __init__(self, *args, **kwargs) -> None:
        pass  # Tensor(...) is built whole by __new__

    @staticmethod
    def _make(data, requires_grad: bool, grad_fn) -> Tensor:
        """The Tensor holding the array ``data`` as is: the one way minigrad builds a Tensor
        (``minigrad.tensor(data)`` converts user data first). Slot stores, no ``__init__``: this runs
        once per op."""
        t = _new_object(Tensor)
        t._data = data
        t._rg = requires_grad
        t.grad_fn = grad_fn
        t.grad = None
        t._vc = None
        t._hooks = None
        t._base = None
        return t

    # -- metadata ----------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether this leaf records ops for gradients; returns self."""
        if requires_grad and self._data.dtype.kind != "f":
            if self._data.dtype.kind == "V":
                raise RuntimeError("minigrad does not differentiate through bfloat16 tensors yet: keep tensors "
                                   "that require grad in float16/32/64")
            raise RuntimeError(
                f"Only Tensors of floating point dtype can require gradients (got dtype {self.dtype})"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self._rg = bool(requires_grad)
        return self

    @property
    def data(self) -> Tensor:
        """A detached tensor on the same array (writes through it are not tracked)."""
        return Tensor._make(self._data, False, None)

    @data.setter
    def data(self, value) -> None:
        arr = value._data if isinstance(value, Tensor) else xp.asarray(value)
        if arr.shape != self._data.shape:
            self._bump()  # a saved value with another shape would be silently wrong
        self._data = arr

    @property
    def shape(self) -> Size:
        """The shape, a ``minigrad.Size`` (engine code reads ``_data.shape``, a plain tuple)."""
        return _as_size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> D.dtype:
        """The element type, a ``minigrad.dtype`` (``minigrad.float32``...)."""
        return _WRAP(self._data.dtype) or D.wrap(self._data.dtype)

    @property
    def device(self) -> device:
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return B.device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        """Whether this tensor is on a CUDA device."""
        return self._data.__class__ is not _ndarray and B.device_of(self._data).type == "cuda"

    @property
    def is_cpu(self) -> bool:
        """Whether this tensor is on the CPU."""
        return self._data.__class__ is _ndarray

    @property
    def is_xpu(self) -> bool:
        """False: no XPU tensors in minigrad."""
        return False

    @property
    def is_mps(self) -> bool:
        """False: no MPS tensors in minigrad."""
        return False

    @property
    def is_meta(self) -> bool:
        """False: no meta tensors in minigrad."""
        return False

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    @property
    def T(self) -> Tensor:
        return M.reverse_dims(self)

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
        return M.transpose(self, -2, -1)

    def size(self, dim: int | None = None, *, axis: int | None = None):
        """The shape as a ``minigrad.Size``, or the size of one dim."""
        dim = R.dim_alias("size", dim, axis)
        if dim is None:
            return _as_size(self._data.shape)
        d = R.normalize_dims(dim, self.ndim, "size")
        return self._data.shape[d[0]] if self.ndim else 1

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def dim(self) -> int:
        return self._data.ndim

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self._data.dtype.kind == "V"  # ("V": bfloat16)

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the elements lie in memory in row-major order with no gaps (as PyTorch: a
        transposed, sliced with a step, expanded or diagonal view is not)."""
        return self._data.flags.c_contiguous

    def contiguous(self, memory_format=None) -> Tensor:
        """``self`` when contiguous, else a contiguous copy (differentiable)."""
        return M.contiguous(self)

    # -- autograd ------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every tensor of the graph that requires grad."""
        if gradient is None and inputs is None and self._rg and self._data.size == 1:
            # The common call, loss.backward(): seeded with ones, straight into the walk.
            d = self._data
            if d.__class__ is _ndarray:
                seed = Tensor._make(B.scalar_array(1, d.dtype).copy() if d.ndim == 0 else xp.ones(d.shape, d.dtype),
                                    False, None)
            else:  # on another device: its own ones
                seed = Tensor._make(B.XP[d.__class__].ones(d.shape, d.dtype), False, None)
            engine.run_backward((self,), (seed,), retain_graph=create_graph if retain_graph is None else retain_graph,
                           create_graph=create_graph)
            return
        engine.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """The same array, cut off the graph (shares the version counter)."""
        t = Tensor._make(self._data, False, None)
        t._vc = self._counter()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        return self

    def retain_grad(self) -> None:
        """No-op: every tensor that requires grad gets ``.grad`` in minigrad."""
        if not self._rg:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")

    @property
    def retains_grad(self) -> bool:
        return self._rg and self.grad_fn is not None

    def register_hook(self, hook: Callable) -> Callable:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a return value replaces it."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            self.grad_fn.register_hook(hook)
            hooks = self.grad_fn.hooks
        else:
            if self._hooks is None:
                self._hooks = graph.LeafHooks()
            hooks = self._hooks.grad
            hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable) -> Callable:
        """Call ``hook(tensor)`` after ``backward()`` has accumulated this leaf's gradient into ``.grad``.

        The hook returns None (it may read or change ``tensor.grad`` in place). It runs only when
        ``.grad`` is written, so not for ``autograd.grad``. Returns a handle whose ``remove()``
        unregisters it.
        """
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._hooks is None:
            self._hooks = graph.LeafHooks()
        hooks = self._hooks.post_accumulate
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # -- conversion ----------------------------------------------------------
    def numpy(self, *, force: bool = False):
        """The underlying ndarray (shares memory): writable for a plain tensor, as PyTorch's; a
        read-only view for a tensor that requires grad or that a recorded op saved for backward
        (a write through it would silently corrupt gradients). ``force=True``: a copy."""
        if self._data.__class__ is not _ndarray:
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy "
                            "the tensor to host memory first.")
        if force:
            return self._data.copy()
        if self._rg or self._is_saved():
            ro = self._data.view()
            ro.flags.writeable = False
            return ro
        return self._data

    def _is_saved(self) -> bool:
        """Whether a recorded op whose graph is alive saved this tensor (see ``registry.mark_saved``)."""
        try:
            refs = self._saved
        except AttributeError:
            return False
        for r in (refs if refs.__class__ is list else (refs,)):
            node = r()
            if node is not None and node.inputs:
                return True
        return False

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self._data.dtype or copy:
            return self._data.astype(self._data.dtype if dtype is None else dtype, copy=True)
        return self.numpy()

    def item(self):
        """The single element as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar (shape {self._data.shape})"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        """The data as (nested) Python numbers (read through the host)."""
        return B.backend_of(self._data).to_host(self._data).tolist()

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; differentiable (a
        gradient flows back to this tensor's device and dtype). ``self`` when nothing changes."""
        dtype, dev, copy = parse_to_args(args, kwargs)
        t = self
        if dev is not None:
            dst = backend_for(dev)
            src = B.BY_CLASS[self._data.__class__]
            if dst is not src:
                t = E.to_device(self, dst, src)
                copy = False
        if dtype is None or dtype == t._data.dtype:
            return t.clone() if copy else t
        return C.cast(t, dtype)

    def cpu(self, memory_format=None) -> Tensor:
        """This tensor on the CPU: itself when it is there, else a copy (differentiable)."""
        return self if self._data.__class__ is _ndarray else self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        """This tensor on the CUDA device (``device``: an index, a device or None for cuda:0)."""
        if isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        return self.to("cuda" if device is None else device)

    def float(self) -> Tensor:
        return self.to(B.float32)

    def double(self) -> Tensor:
        return self.to(B.float64)

    def half(self) -> Tensor:
        return self.to(B.float16)

    def long(self) -> Tensor:
        return self.to(B.int64)

    def int(self) -> Tensor:
        return self.to(B.int32)

    def bool(self) -> Tensor:
        return self.to(B.bool_)

    def bfloat16(self) -> Tensor:
        """This tensor as ``minigrad.bfloat16`` (needs the optional ``ml_dtypes`` package)."""
        return self.to(D.bfloat16)

    def type(self, dtype=None, non_blocking: bool = False):
        """With no argument, the type's name (``'minigrad.FloatTensor'``, as PyTorch's
        ``'torch.FloatTensor'``); else this tensor cast to ``dtype`` (a dtype, a legacy type such
        as ``minigrad.DoubleTensor``, or its name, ``'minigrad.DoubleTensor'`` or
        ``'torch.DoubleTensor'``), itself when it already has that dtype."""
        if dtype is None:
            legacy = _LEGACY_BY_DTYPE.get(str(self.dtype))
            return f"minigrad.{legacy.__name__}" if legacy is not None else f"minigrad.{self.dtype}Tensor"
        if isinstance(dtype, _LegacyTensorType):
            dtype = dtype.dtype
        elif isinstance(dtype, str):
            name = dtype.removeprefix("torch.").removeprefix("minigrad.")
            if name.startswith("cuda."):
                raise device_unavailable(f"Tensor.type({dtype!r})")
            if name not in _LEGACY_BY_NAME:
                raise ValueError(f"invalid type: {dtype!r}")
            dtype = _LEGACY_BY_NAME[name].dtype
        return self.to(dtype)

    def narrow(self, dim: int | None = None, start=None, length: int | None = None, *, axis: int | None = None) -> Tensor:
        """The view of ``length`` elements of dimension ``dim`` from ``start`` (may be negative)."""
        return narrow(self, dim, start, length, axis=axis)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def clone(self, *, memory_format=None) -> Tensor:
        """A copy on the graph, keeping the memory layout (PyTorch's ``preserve_format``)."""
        return M.clone_(self)

    def new_tensor(self, data, *, dtype=None, requires_grad=False) -> Tensor:
        return factories.tensor(data, dtype=dtype or self._data.dtype, device=self.device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False) -> Tensor:
        return factories.zeros(*size, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False) -> Tensor:
        return factories.ones(*size, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, requires_grad=False) -> Tensor:
        return factories.full(size, fill_value, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False) -> Tensor:
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    # -- Python protocol -----------------------------------------------------
    __hash__ = object.__hash__

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(M.unbind(self, 0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {self._data.shape})"
            )
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        from .printing import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol")
        t = object.__new__(self.__class__)
        _set_leaf(t, self._data.copy())
        t._rg = self._rg
        if self.grad is not None:
            t.grad = Tensor._make(self.grad._data.copy(), False, None)
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self._data, self._rg))

    # -- operators -------------------------------------------------------------
    def __rsub__(self, other):
        return E.sub(other, self)

    def __rtruediv__(self, other):
        return E.div(other, self)

    def __floordiv__(self, other):
        return E.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return E.floor_divide(other, self)

    def __mod__(self, other):
        return E.remainder(self, other)

    def __rmod__(self, other):
        return E.remainder(other, self)

    def __rpow__(self, other):
        return E.pow(other, self)

    def __rmatmul__(self, other):
        return L.matmul(other, self)

    def __pos__(self):
        return self

    def __invert__(self):
        if self._data.dtype.kind == "b":
            return E.logical_not(self)
        return E.bitwise_not(self)

    def __and__(self, other):
        return E.bitwise_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return E.bitwise_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return E.bitwise_xor(self, other)

    __rxor__ = __xor__

    def __eq__(self, other):  # type: ignore[override]
        if other is None:
            return False  # as PyTorch (``t == None`` is False, not an error)
        return E.eq(self, other)

    def __ne__(self, other):  # type: ignore[override]
        if other is None:
            return True
        return E.ne(self, other)

    def __lt__(self, other):
        return E.lt(self, other)

    def __le__(self, other):
        return E.le(self, other)

    def __gt__(self, other):
        return E.gt(self, other)

    def __ge__(self, other):
        return E.ge(self, other)

    def __getitem__(self, index):
        return I.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        I.setitem(self, index, value)

    # -- elementwise -------------------------------------------------------------
    def add(self, other, *, alpha=1):
        return E.add(self, other if alpha == 1 else E.mul(other, alpha))

    def sub(self, other, *, alpha=1):
        return E.sub(self, other if alpha == 1 else E.mul(other, alpha))

    subtract = sub

    def mul(self, other):
        return E.mul(self, other)

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        return E.divide(self, other, rounding_mode)

    divide = true_divide = div

    def floor_divide(self, other):
        return E.floor_divide(self, other)

    def remainder(self, other):
        return E.remainder(self, other)

    def pow(self, exponent):
        return E.pow(self, exponent)

    def log2(self):
        return C.log2(self)

    def log10(self):
        return C.log10(self)

    def square(self):
        return E.square(self)

    def reciprocal(self):
        return E.reciprocal(self)

    def round(self, *, decimals: int = 0):
        return E.round(self, decimals)

    def trunc(self):
        return E.trunc(self)

    def clamp(self, min=None, max=None):
        return E.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return E.clamp(self, min, None)

    def clamp_max(self, max):
        return E.clamp(self, None, max)

    def maximum(self, other):
        return E.maximum(self, other)

    def minimum(self, other):
        return E.minimum(self, other)

    def where(self, condition, other):
        return E.where(condition, self, other)

    def lerp(self, end, weight):
        return self + (end - self) * weight

    def addcmul(self, tensor1, tensor2, *, value=1):
        return self + tensor1 * tensor2 * value

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return self + tensor1 / tensor2 * value

    def isnan(self):
        return E.isnan(self)

    def isinf(self):
        return E.isinf(self)

    def isfinite(self):
        return E.isfinite(self)

    def eq(self, other):
        return E.eq(self, other)

    def ne(self, other):
        return E.ne(self, other)

    def lt(self, other):
        return E.lt(self, other)

    def le(self, other):
        return E.le(self, other)

    def gt(self, other):
        return E.gt(self, other)

    def ge(self, other):
        return E.ge(self, other)

    def equal(self, other) -> bool:
        if self._data.__class__ is not other._data.__class__:
            raise _registry.device_mismatch((self._data, other._data))
        return self.shape == other.shape and bool(B.XP[self._data.__class__].array_equal(self._data, other._data))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        o = other._data if isinstance(other, Tensor) else xp.asarray(other)
        if self._data.__class__ is not o.__class__:
            raise _registry.device_mismatch((self._data, o))
        return bool(B.XP[o.__class__].allclose(self._data, o, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def logical_not(self):
        return E.logical_not(self)

    def logical_and(self, other):
        return E.logical_and(self, other)

    def logical_or(self, other):
        return E.logical_or(self, other)

    def logical_xor(self, other):
        return E.logical_xor(self, other)

    # -- reductions: bound to the ops.reduce functions below the class (one signature each) --

    # -- shape -------------------------------------------------------------------
    def reshape(self, *shape):
        return M.reshape(self, *shape)

    def view(self, *shape):
        """The same memory with another shape (PyTorch's view rule: RuntimeError where the layout
        allows none), or, given a dtype, the same bytes read as that dtype (not differentiable)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and shape[0] is not None:
            return self._view_dtype(D.as_dtype(shape[0]))
        return M.view(self, *shape)

    def _view_dtype(self, dtype) -> Tensor:
        arr = self._data
        if dtype.itemsize != arr.itemsize and (arr.ndim == 0 or arr.strides[-1] != arr.itemsize):
            raise RuntimeError(
                f"view(dtype): self.stride(-1) must be 1 to view {self.dtype} as {dtype} "
                f"(different element size), got a tensor of shape {tuple(self.shape)} and strides "
                f"{tuple(s // arr.itemsize for s in arr.strides)}"
            )
        try:
            out = arr.view(dtype)
        except ValueError as e:
            raise RuntimeError(f"view(dtype): cannot view {self.dtype} of shape {tuple(self.shape)} as {dtype}: {e}") from None
        t = Tensor._make(out, False, None)
        t._vc = self._counter()  # a view: in-place changes through it count for self too
        return t

    def select(self, dim: int | None = None, index: int | None = None, *, axis: int | None = None) -> Tensor:
        """The view at ``index`` along ``dim`` (that dim removed)."""
        if index is None:
            raise TypeError("select() missing required argument 'index'")
        return M.select(self, R.dim_alias("select", dim, axis, required=True), index)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The view of the diagonal over ``dim1``, ``dim2`` (appended as the last dim)."""
        return M.diagonal(self, offset, dim1, dim2)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A copy of self with ``src`` on the diagonal over ``dim1``, ``dim2``."""
        return M.diagonal_scatter(self, src, offset, dim1, dim2)

    def view_as(self, other):
        return M.view(self, other.shape)

    def reshape_as(self, other):
        return M.reshape(self, other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return M.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return M.unflatten(self, dim, sizes)

    def squeeze(self, dim=None, *, axis=None):
        return M.squeeze(self, R.dim_alias("squeeze", dim, axis))

    def unsqueeze(self, dim=None, *, axis=None):
        return M.unsqueeze(self, R.dim_alias("unsqueeze", dim, axis, required=True))

    def transpose(self, dim0, dim1):
        return M.transpose(self, dim0, dim1)

    swapdims = transpose

    def swapaxes(self, axis0, axis1):
        return M.transpose(self, axis0, axis1)

    def t(self):
        return M.t(self)

    def permute(self, *dims):
        return M.permute(self, *dims)

    def movedim(self, source, destination):
        return M.movedim(self, source, destination)

    def expand(self, *sizes):
        return M.broadcast_to(self, *sizes)

    def expand_as(self, other):
        return M.broadcast_to(self, other.shape)

    def broadcast_to(self, *shape):
        return M.broadcast_to(self, *shape)

    def repeat(self, *sizes):
        return M.repeat(self, *sizes)

    def flip(self, *dims):
        return M.flip(self, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)

    def roll(self, shifts, dims=None):
        return M.roll(self, shifts, dims)

    def split(self, split_size, dim=0):
        return M.split(self, split_size, dim)

    def chunk(self, chunks, dim=0, *, axis=None):
        return M.chunk(self, chunks, R.dim_alias("chunk", dim, axis, 0))

    def unbind(self, dim=0, *, axis=None):
        return M.unbind(self, R.dim_alias("unbind", dim, axis, 0))

    def tril(self, diagonal=0):
        return M.tril(self, diagonal)

    def triu(self, diagonal=0):
        return M.triu(self, diagonal)

    def masked_fill(self, mask, value):
        return M.masked_fill(self, mask, value)

    def gather(self, dim=None, index=None, *, axis=None):
        if index is None:
            raise TypeError("gather() missing 1 required argument: 'index'")
        return M.gather(self, R.dim_alias("gather", dim, axis, required=True), index)

    def scatter(self, dim, index, src=None, *, value=None):
        return M.scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim, index, src):
        return M.scatter_add(self, dim, index, src)

    def index_select(self, dim=None, index=None, *, axis=None):
        if index is None:
            raise TypeError("index_select() missing 1 required argument: 'index'")
        return M.index_select(self, R.dim_alias("index_select", dim, axis, required=True), index)

    def take_along_dim(self, indices, dim=None, *, axis=None):
        return M.take_along_dim(self, indices, R.dim_alias("take_along_dim", dim, axis))

    def diag(self, diagonal=0):
        return M.diag(self, diagonal)

    def trace(self):
        return M.trace(self)

    def topk(self, k, dim=-1, largest=True, sorted=True, *, axis=None):
        return C.topk(self, k, R.dim_alias("topk", dim, axis, -1), largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False, *, axis=None):
        return C.sort(self, R.dim_alias("sort", dim, axis, -1), descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False, *, axis=None):
        return C.argsort(self, R.dim_alias("argsort", dim, axis, -1), descending, stable)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return factories.multinomial(self, num_samples, replacement, generator=generator)

    # (the second operand's name is PyTorch's for each: outer(vec2), dot(tensor), mm(mat2) ...)
    def outer(self, vec2):
        return L.outer(self, vec2)

    def dot(self, tensor):
        return L.dot(self, tensor)

    def matmul(self, other):
        return L.matmul(self, other)

    def mm(self, mat2):
        return L.mm(self, mat2)

    # Sparse COO tensors are their own class (minigrad.sparse.SparseTensor); a Tensor is dense.
    is_sparse = False

    @property
    def layout(self):
        return sparse.strided

    def to_sparse(self, sparse_dim: int | None = None):
        """The nonzero entries as a sparse COO tensor (``minigrad.sparse``), differentiable."""
        return sparse.to_sparse(self, sparse_dim)

    def to_dense(self, dtype=None) -> Tensor:
        """Already dense: ``self`` (or a cast copy when ``dtype`` differs)."""
        return self if dtype is None else self.to(dtype)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
        """``minigrad.histc(self, bins, min, max)``: counts in equal-width bins."""
        return histograms.histc(self, bins, min, max)

    def histogram(self, bins=100, *, range=None, weight=None, density: bool = False):
        """``minigrad.histogram(self, ...)``: ``(hist, bin_edges)``."""
        return histograms.histogram(self, bins, range=range, weight=weight, density=density)

    def bmm(self, mat2):
        return L.bmm(self, mat2)

    def mv(self, vec):
        return L.mv(self, vec)

    # -- in-place ------------------------------------------------------------------
    def _counter(self) -> list:
        """This tensor's version counter (shared with its views and detached aliases), made on
        first need. If the op that made this tensor saved it for backward, its node is given
        the counter too, so a change through any alias is seen there."""
        c = self._vc
        if c is None:
            c = self._vc = [0]
            fn = self.grad_fn
            if fn is not None and fn.op.save_out and fn.out_vc is None and fn.out_ref() is self:
                fn.out_vc = c
        return c

    def _bump(self) -> None:
        """Count an in-place change of this tensor's values (every change goes through here)."""
        c = self._vc
        (c if c is not None else self._counter())[0] += 1
        _BUMPS[0] += 1

    def add_(self, other, *, alpha=1):
        if I.arith_inplace(self, xp.add, other, alpha) is None:
            I.inplace(self, "add_", lambda s: s.add(other, alpha=alpha), other, keeps_input=True)
        return self

    def sub_(self, other, *, alpha=1):
        if I.arith_inplace(self, xp.subtract, other, alpha) is None:
            I.inplace(self, "sub_", lambda s: s.sub(other, alpha=alpha), other, keeps_input=True)
        return self

    def mul_(self, other):
        if I.arith_inplace(self, xp.multiply, other) is None:
            I.inplace(self, "mul_", lambda s: E.mul(s, other), other)
        return self

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None or I.arith_inplace(self, xp.true_divide, other) is None:
            I.inplace(self, "div_", lambda s: E.divide(s, other, rounding_mode), other)
        return self

    # x += y is add_ itself (one call: the in-place arithmetic of optimizer steps)
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def pow_(self, exponent):
        return I.inplace(self, "pow_", lambda s: E.pow(s, exponent), exponent)

    def clamp_(self, min=None, max=None):
        return I.inplace(self, "clamp_", lambda s: E.clamp(s, min, max), min, max)

    clip_ = clamp_

    def relu_(self):
        return I.inplace(self, "relu_", E.relu, keeps_input=True)

    def sigmoid_(self):
        return I.inplace(self, "sigmoid_", E.sigmoid, keeps_input=True)

    def tanh_(self):
        return I.inplace(self, "tanh_", E.tanh, keeps_input=True)

    def exp_(self):
        return I.inplace(self, "exp_", E.exp, keeps_input=True)

    def neg_(self):
        return I.inplace(self, "neg_", E.neg, keeps_input=True)

    def sqrt_(self):
        return I.inplace(self, "sqrt_", E.sqrt, keeps_input=True)

    def abs_(self):
        return I.inplace(self, "abs_", E.abs)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return I.inplace(self, "addcmul_", lambda s: s.addcmul(tensor1, tensor2, value=value), tensor1, tensor2,
                         keeps_input=True)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return I.inplace(self, "addcdiv_", lambda s: s.addcdiv(tensor1, tensor2, value=value), tensor1, tensor2,
                         keeps_input=True)

    def lerp_(self, end, weight):
        return I.inplace(self, "lerp_", lambda s: s.lerp(end, weight), end, weight)

    def masked_fill_(self, mask, value):
        return I.inplace(self, "masked_fill_", lambda s: s.masked_fill(mask, value), value)

    def zero_(self):
        return I.fill(self, "zero_", 0)

    def fill_(self, value):
        return I.fill(self, "fill_", value)

    def copy_(self, src, non_blocking: bool = False):
        return I.copy_(self, src)

    # -- in-place random fills: PyTorch's CPU stream from ``generator`` (default generator if None)
    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        return _fill_random(self, "uniform_", lambda g, s: RNG.uniform(g, s, self.dtype, a, b), generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        contiguous = self._data.flags.c_contiguous
        return _fill_random(self, "normal_", lambda g, s: RNG.normal(g, s, self.dtype, mean, std, contiguous),
                            generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        if isinstance(p, Tensor):
            return _fill_random(self, "bernoulli_", lambda g, s: RNG.bernoulli_tensor(g, s, self.dtype, p.cpu()._data),
                                generator)
        return _fill_random(self, "bernoulli_", lambda g, s: RNG.bernoulli_scalar(g, s, self.dtype, p), generator)

    def bernoulli(self, p=None, *, generator=None):
        """0/1 samples with probability ``self`` elementwise (or the number ``p``)."""
        return factories.bernoulli(self, p, generator=generator)

    def exponential_(self, lambd: float = 1.0, *, generator=None):
        return _fill_random(self, "exponential_", lambda g, s: RNG.exponential(g, s, self.dtype, lambd), generator)

    def geometric_(self, p: float, *, generator=None):
        return _fill_random(self, "geometric_", lambda g, s: RNG.geometric(g, s, self.dtype, p), generator)

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None):
        return _fill_random(self, "cauchy_", lambda g, s: RNG.cauchy(g, s, self.dtype, median, sigma), generator)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None):
        return _fill_random(self, "log_normal_", lambda g, s: RNG.log_normal(g, s, self.dtype, mean, std),
                            generator)

    def random_(self, *args, generator=None, **kw):
        """``random_()``, ``random_(to)``, ``random_(from, to)`` (``to=None``: up to the dtype's
        largest value): integers drawn as PyTorch draws them."""
        if len(args) > 2 or set(kw) - {"from", "to"}:
            raise TypeError(f"random_() takes (from, to) or (to), got {args} {kw}")
        if not args and not kw:
            return _fill_random(self, "random_", lambda g, s: RNG.random_full(g, s, self.dtype), generator)
        if len(args) == 1 and not kw:
            low, high = 0, args[0]
        else:
            low = args[0] if args else kw.get("from", 0)
            high = args[1] if len(args) > 1 else kw.get("to")
        high = None if high is None else int(high)
        return _fill_random(self, "random_", lambda g, s: RNG.random_from_to(g, s, self.dtype, int(low), high),
                            generator)

    def unsqueeze_(self, dim=None, *, axis=None):
        dim = R.dim_alias("unsqueeze_", dim, axis, required=True)
        self._data = self._data.reshape(M.unsqueeze(self.detach(), dim).shape)
        return self

    def squeeze_(self, dim=None, *, axis=None):
        dim = R.dim_alias("squeeze_", dim, axis)
        self._data = self._data.reshape(M.squeeze(self.detach(), dim).shape)
        return self


def _rebuild(data, requires_grad):
    t = Tensor._make(data, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


from .ops import registry as _registry  # noqa: E402

_registry._set_tensor_class(Tensor)

from . import factories, sparse  # noqa: E402
from . import histogram as histograms  # noqa: E402
from . import random as RNG  # noqa: E402
from .autograd import engine  # noqa: E402
from .ops import composite as C  # noqa: E402
from .ops import elementwise as E  # noqa: E402
from .ops import indexing as I  # noqa: E402
from .ops import linalg as L  # noqa: E402
from .ops import movement as M  # noqa: E402
from .ops import reduce as R  # noqa: E402

# The hottest operators and methods are the op callers themselves, bound as methods: one
# Python call less per op. (x + 2 and 2 + x add the same numbers, so __radd__ is add; so for mul.)
Tensor.__add__ = E.add
Tensor.__radd__ = E.add
Tensor.__sub__ = E.sub
Tensor.__mul__ = E.mul
Tensor.__rmul__ = E.mul
Tensor.__truediv__ = E.div
Tensor.__pow__ = E.pow
Tensor.__neg__ = E.neg
Tensor.__abs__ = E.abs
Tensor.__matmul__ = L.matmul
Tensor.neg = Tensor.negative = E.neg
Tensor.abs = Tensor.absolute = E.abs
Tensor.exp = E.exp
Tensor.log = E.log
Tensor.log1p = E.log1p
Tensor.expm1 = E.expm1
Tensor.sqrt = E.sqrt
Tensor.rsqrt = E.rsqrt
Tensor.sign = E.sign
Tensor.sin = E.sin
Tensor.cos = E.cos
Tensor.tan = E.tan
Tensor.tanh = E.tanh
Tensor.sigmoid = E.sigmoid
Tensor.relu = E.relu
Tensor.erf = E.erf
Tensor.floor = E.floor
Tensor.ceil = E.ceil
Tensor.sum = R.sum
Tensor.mean = R.mean
# Reductions: the functions themselves (their signatures carry PyTorch's names and aliases).
Tensor.prod = R.prod
Tensor.var = R.var
Tensor.std = R.std
Tensor.max = R.max
Tensor.min = R.min
Tensor.amax = R.amax
Tensor.amin = R.amin
Tensor.argmax = R.argmax
Tensor.argmin = R.argmin
Tensor.logsumexp = R.logsumexp
Tensor.norm = R.norm
Tensor.cumsum = R.cumsum
Tensor.all = R.all
Tensor.any = R.any
Tensor.softmax = R.softmax
Tensor.log_softmax = R.log_softmax


def _fill_random(x: Tensor, name: str, draw, generator) -> Tensor:
    """Overwrite ``x`` with ``draw(generator, shape)``, the values taken in ``x``'s memory order
    (as PyTorch's kernels walk a strided tensor, e.g. a transposed weight)."""
    a = x._data
    bk = B.backend_of(a)  # drawn on the host (the device's own stream there), then copied over
    gen = RNG._gen(generator, bk.device_type)
    if a.flags.c_contiguous or a.ndim < 2:
        return I.overwrite(x, name, bk.from_host(draw(gen, a.shape)))
    order = sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))
    vals = draw(gen, tuple(a.shape[d] for d in order))
    return I.overwrite(x, name, bk.from_host(vals.transpose(B.xp.argsort(order))))
