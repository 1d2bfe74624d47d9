"""Turn a table row into a callable op: ``defunary``, ``defbinary``, ``defop``.

An op is a forward on arrays plus one VJP per input written with Tensor ops (so
the backward pass is itself differentiable). Everything else about the op is a
column of its row: what it saves, its dtype rule, whether its VJPs also run on raw
arrays, whether it takes Python numbers as operands, a fused array backward (only
on the hottest ops), its one-line doc. Calling an op converts its operands,
applies PyTorch's type promotion, runs the forward and, only when grad mode is on
and some input requires grad, records a ``Node`` (``record``: the one recording path).
"""

from __future__ import annotations

import sys
import weakref
from typing import Callable

from .. import backend as B
from .. import dtypes as D
from ..autograd import graph

_np = B.NUMPY.xp  # numpy: the CPU fast paths test ``arr.__class__ is _ndarray`` first
_ndarray = B.ndarray
_BY_CLASS = B.BY_CLASS  # array class -> its backend: how a call on device arrays finds its functions
_NP_SCALARS = B.NP_SCALAR_TYPES
_np_asarray = _np.asarray
_state = graph._state
_GRAD_OFF = graph.GRAD_OFF
_ANOMALY_ON = graph.ANOMALY_ON
_KEEP_ON = graph.KEEP_ON
_Node = graph.Node
_new_object = object.__new__
_next_seq = graph.next_seq
_BUMPS = graph.BUMPS
_ref = weakref.ref
_fp_set = B.fp_var_set
_fp_reset = B.fp_var_reset
_scalar_array = B.scalar_array
_FP_IGNORE = B.FP_IGNORE

# Every op made by the makers below, by name (the test harness walks this).
REGISTRY: dict = {}

# minigrad.compile's recorder while it records a call (else None): every op caller hands it
# (op, operands, params, output array) right after the forward. One global test per op.
TRACE = None

_Tensor = None  # set by minigrad.tensor once the class exists
_make = None
# Tensor and its library subclasses (Parameter): operands taking the callers' fast paths.
_TENSOR_CLASSES: set = set()


def _set_tensor_class(cls) -> None:
    global _Tensor, _make
    _Tensor = cls
    _make = cls._make  # the one way a Tensor is built on the hot path
    _TENSOR_CLASSES.add(cls)


def register_tensor_subclass(cls) -> None:
    """Let instances of ``cls`` (a Tensor subclass) take the op callers' fast paths."""
    _TENSOR_CLASSES.add(cls)


def make_tensor(data, requires_grad: bool = False, grad_fn=None):
    """``Tensor._make``, for the ops modules (which do not import the tensor module)."""
    return _make(data, requires_grad, grad_fn)


def is_tensor(x) -> bool:
    """``isinstance(x, Tensor)`` for the modules the tensor module imports (a function-level
    ``from ..tensor import Tensor`` costs microseconds per call)."""
    return isinstance(x, _Tensor)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.strip("_").split("_"))


class Op:
    """A primitive op: its table row.

    ``forward`` is ``forward(*arrays, *params)`` (taking its array module from the arrays, see
    ``minigrad.backend``), or the name of an array-module function (``"exp"``: numpy's
    ``exp`` for CPU arrays, cupy's for CUDA ones, looked up once per backend).
    ``vjps``: one VJP per input, ``vjp(g, out, *inputs, *params)`` on Tensors (None for an
    input that takes no gradient); or ``vjp_all(g, out, inputs, params, mask)`` for all.
    ``save`` names what the VJPs read: ``"inputs"``, ``"out"``, ``"both"`` or
    ``None``; VJPs receive ``None`` in place of what is not saved.
    ``dtype_rule``: ``"same"`` keeps the input dtype, ``"float"`` casts integer
    inputs to the default float, ``"promote"`` applies PyTorch's promotion to all
    tensor inputs, ``"promote_float"`` also makes an integer result floating,
    ``"promote_tail"`` promotes all inputs but the first.
    ``array_safe``: the VJPs work on raw numpy arrays as well as on Tensors (they use only
    arithmetic operators, ``shape``/``reshape``/``mT``/``@``/indexing and calls of other
    ops), so backward without create_graph hands them arrays, skipping Tensor dispatch.
    ``number_operands``: a binary op whose VJPs accept a Python number's 0-d array as
    either operand (no constant Tensor is made for ``x * 2.0``), also under create_graph.
    ``array_backward``: a fused backward on raw arrays for all inputs at once, which the walk
    calls instead of the VJPs when there is no create_graph (on an array-safe row, only where
    it measurably pays: mul, exp, tanh, sigmoid, relu). ``array_backward(g, out, inputs, parents, g_free,
    out_free)`` returns one gradient (or None) per input, by the same formulas as the VJPs,
    computing none for an input whose parent is None (``parents[0] is parents[1]``: the same
    tensor twice, as in ``x * x``). For large arrays the walk sets ``g_free`` / ``out_free``
    when the incoming gradient / the saved output is an array nothing else references: it
    may then be overwritten instead of allocating.
    ``doc``: the op's one-line docstring.
    """

    __slots__ = (
        "name", "forward", "forward_name", "forwards", "vjps", "vjp_all", "save_inputs", "save_out", "saves",
        "differentiable", "backward_name", "dtype_rule", "arity", "fn", "array_safe", "number_operands",
        "array_backward", "keeps_shape", "table", "__weakref__",
    )

    def __init__(self, name: str, forward: Callable, vjps=None, vjp_all=None, *, save=None, dtype_rule="same",
                 arity=1, array_safe=False, number_operands=False, array_backward=None, doc=None):
        if name in REGISTRY:
            raise ValueError(f"op {name!r} defined twice")
        if array_backward is not None and not array_safe:
            raise ValueError(f"op {name!r}: a fused array backward needs array_safe=True (the walk's array path)")
        self.name = name
        self.forward_name = forward if isinstance(forward, str) else None
        self.forward = getattr(_np, forward) if isinstance(forward, str) else forward  # the CPU's
        self.forwards = {}  # array class -> forward, for arrays of other backends (see device_forward)
        self.table = sys._getframe(2).f_globals.get("__name__", "")  # the module whose table defines it
        self.vjps = vjps
        self.vjp_all = vjp_all
        self.save_inputs = save in ("inputs", "both")
        self.save_out = save in ("out", "both")
        self.saves = self.save_inputs or self.save_out
        self.differentiable = vjps is not None or vjp_all is not None
        self.backward_name = _camel(name) + "Backward0"
        self.dtype_rule = dtype_rule
        self.arity = arity
        self.array_safe = array_safe
        self.number_operands = number_operands
        self.array_backward = array_backward
        # A one-input ufunc's result has its input's shape (record skips comparing shapes).
        self.keeps_shape = arity == 1 and isinstance(self.forward, _np.ufunc)  # (cupy's ufuncs keep it too)
        self.fn = _make_caller(self, doc)
        REGISTRY[name] = self

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def __call__(self, *args):
        return self.fn(*args)


def identity_vjp(g, out, *inputs_and_params):
    """The VJP that hands ``g`` on unchanged (add, sub's first input, casts, clone); the
    backward walk recognises it and skips the call."""
    return g


def defunary(name: str, forward: Callable, vjp: Callable | None, *, save=None, dtype_rule="same",
             array_safe=False, array_backward=None, doc=None):
    """One-input op. ``forward(x, *params)``; ``vjp(g, out, x, *params)``.

    Returns the op's callable ``f(x, *params)``; ``f.op`` is the ``Op``.
    """
    return Op(name, forward, None if vjp is None else (vjp,), save=save, dtype_rule=dtype_rule, arity=1,
              array_safe=array_safe, array_backward=array_backward, doc=doc).fn


def defbinary(name: str, forward: Callable, vjp_a: Callable | None, vjp_b: Callable | None = None, *, save=None,
              dtype_rule="promote", array_safe=False, number_operands=False, array_backward=None, doc=None):
    """Two-input broadcasting op. ``forward(a, b)``; ``vjp_*(g, out, a, b)``."""
    return Op(name, forward, None if vjp_a is None else (vjp_a, vjp_b), save=save, dtype_rule=dtype_rule, arity=2,
              array_safe=array_safe, number_operands=number_operands, array_backward=array_backward, doc=doc).fn


def defop(name: str, forward: Callable, vjp_all: Callable | None = None, *, vjps=None, save=None,
          dtype_rule="same", arity=-1, array_safe=False, doc=None):
    """Op on a sequence of tensors, or with per-input VJPs over several inputs.

    ``forward(arrays, *params)``; ``vjp_all(g, out, inputs, params, mask)``
    returns one gradient (or None) per input, computing only where ``mask`` is True.
    With ``arity=N`` the op is called as ``op(t1, ..., tN, *params)``, else as
    ``op(sequence_of_tensors, *params)``.
    """
    return Op(name, forward, vjps, vjp_all, save=save, dtype_rule=dtype_rule,
              arity=-1 if arity < 0 else 100 + arity, array_safe=array_safe, doc=doc).fn


# ---------------------------------------------------------------------------
# Devices: an op on arrays that are not numpy's takes its forward from their backend.

# False until a backend other than numpy's is loaded: until then every array is numpy's and the
# callers skip the per-call device checks (one global test per op, not one per operand).
_ANY_DEVICE = False


def _device_loaded(backend) -> None:
    global _ANY_DEVICE
    _ANY_DEVICE = True


B.on_device_backend(_device_loaded)

def device_forward(op: Op, arr):
    """``op``'s forward for ``arr``'s array class: the function of that name in the array's
    module when the row names one, else the row's function (which takes its module from
    its arrays). Cached on the op: one dict lookup per call."""
    cls = arr.__class__
    f = op.forwards.get(cls)
    if f is None:
        bk = _BY_CLASS[cls]  # (TypeError for something that is not an array)
        f = op.forward if op.forward_name is None or bk is B.NUMPY else getattr(bk.xp, op.forward_name)
        op.forwards[cls] = f
    return f


def device_mismatch(arrays) -> RuntimeError:
    """PyTorch's error for one op's tensors on two devices (the accelerator named first)."""
    devs = []
    for a in arrays:
        d = B.device_of(a)
        if d not in devs:
            devs.append(d)
    devs.sort(key=lambda d: d.type == "cpu")
    return RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                        f"{devs[0]} and {devs[1]}!")


def _forward2(op: Op, ad, bd):
    """The forward for two operand arrays, not both numpy's: raises if they are on two devices."""
    if _BY_CLASS[ad.__class__] is not _BY_CLASS[bd.__class__]:
        raise device_mismatch((ad, bd))
    return device_forward(op, ad if ad.__class__ is not _ndarray else bd)


def _raw_forward(op: Op, a, b):
    """The forward for two raw operands (arrays, or numbers) in a backward walk: the backend of
    the array that is not numpy's, if any; raises if two are on two devices."""
    dev = None
    for x in (a, b):
        if x.__class__ is not _ndarray and x.__class__ in _BY_CLASS and not isinstance(x, B.generic):
            dev = x
    if dev is None:
        return op.forward
    for x in (a, b):
        if x.__class__ is _ndarray:
            raise device_mismatch((a, b))
    return device_forward(op, dev)


def _forward_n(op: Op, arrays):
    """The forward for a list of operand arrays, not all numpy's: raises if they are on two devices."""
    bk = _BY_CLASS[arrays[0].__class__]
    for a in arrays:
        if _BY_CLASS[a.__class__] is not bk:
            raise device_mismatch(arrays)
    return device_forward(op, arrays[0])


def as_result(out):
    """A forward's result as an array: numpy's scalars (what ufuncs give for 0-d inputs) and
    Python numbers become 0-d numpy arrays; another backend's arrays stay as they are."""
    if out.__class__ in _BY_CLASS and not isinstance(out, B.generic):
        return out
    return _np.asarray(out)


# ---------------------------------------------------------------------------
# Operand conversion and promotion.

def constant(value, dtype=None, bk=None):
    """Wrap a Python number, numpy scalar or array as a constant Tensor (a number on the backend
    ``bk``, the CPU's by default)."""
    if isinstance(value, _Tensor):
        return value if dtype is None or value._data.dtype == dtype else value.to(dtype)
    if isinstance(value, _ndarray) or (value.__class__ in _BY_CLASS and not isinstance(value, B.generic)):
        arr = value if dtype is None else value.astype(dtype, copy=False)
    else:
        if dtype is None:
            dtype = D.scalar_dtype(value)
        arr = (_np if bk is None else bk.xp).asarray(value, dtype=dtype)
    return _make(arr, False, None)


def constant_like(value, like, dtype=None):
    """``constant(value, dtype)`` on the device of ``like`` (a Tensor or an array): minigrad's own
    helper arrays (masks, eyes, index lists) built on the host are moved there."""
    bk = _BY_CLASS[(like._data if isinstance(like, _Tensor) else like).__class__]
    if bk is not B.NUMPY and isinstance(value, _ndarray):
        value = bk.from_host(value)
    return constant(value, dtype, bk)


def tensor_backend(operands):
    """The backend of the first Tensor among ``operands`` (the CPU's when there is none)."""
    for x in operands:
        if isinstance(x, _Tensor):
            return _BY_CLASS[x._data.__class__]
    return B.NUMPY


def _tier(x):
    """(tier, dtype) of an operand: 0 dimensioned, 1 zero-dim, 2 Python number."""
    if isinstance(x, _Tensor):
        arr = x._data
        return (0 if arr.ndim else 1), arr.dtype
    if isinstance(x, _ndarray):
        return (0 if x.ndim else 1), x.dtype
    if isinstance(x, (int, float, bool, B.generic)):
        return 2, D.scalar_dtype(x)
    if x.__class__ in _BY_CLASS:  # another backend's array
        return (0 if x.ndim else 1), x.dtype
    raise TypeError(f"unsupported operand type {type(x).__name__!r}")


def result_dtype(operands, rule: str):
    """The dtype an op computes in, following PyTorch's promotion."""
    tiers = ([], [], [])
    for x in operands:
        tier, dt = _tier(x)
        tiers[tier].append(dt)
    dt = D.promote(tuple(tiers[0]), tuple(tiers[1]), tuple(tiers[2]))
    if rule == "promote_float" and dt.kind != "f" and dt.kind != "V":  # ("V": bfloat16 is a float)
        dt = D.default_float()
    return dt


def _as_operand(x, dt, bk=None):
    if isinstance(x, _Tensor):
        return x if x._data.dtype is dt else _cast(x, dt)
    return constant(x, dt, bk)


def _cast(t, dt):
    """Cast for an op's computation; differentiable when ``t`` requires grad."""
    if t._rg and dt.kind == "f" and _state.enabled:
        return t.to(dt)
    return _make(t._data.astype(dt), False, None)


def _make_caller(op: Op, doc: str | None):
    """The function that calls ``op``: specialised per arity, since this is the hot path."""
    if op.arity == 1:
        f = _unary_caller(op)
    elif op.arity == 2:
        f = _binary_caller(op)
    elif op.arity < 0:
        def f(tensors, *params):
            return apply_variadic(op, tensors, params)
    else:
        n = op.arity - 100  # a fixed number of tensor inputs

        def f(*args):
            return apply_variadic(op, args[:n], args[n:])
    f.__name__ = op.name
    f.__qualname__ = op.name
    f.__doc__ = doc or f"The ``{op.name}`` op (see its table row)."
    f.op = op
    return f


def _unary_caller(op: Op):
    fwd = op.forward
    to_float = op.dtype_rule == "float"
    diff = op.differentiable

    def call(x, *params):
        if x.__class__ is not _Tensor and not isinstance(x, _Tensor):
            if _state.raw and (x.__class__ is _ndarray or isinstance(x, B.generic) or x.__class__ in _BY_CLASS):
                # An array-safe VJP in a backward walk: arrays in, arrays out (FP state set there).
                # (0-d arithmetic gives numpy scalars: they are arrays here, not Python numbers.)
                if x.__class__ in _NP_SCALARS:
                    x = _np.asarray(x)
                out = (fwd if x.__class__ is _ndarray else device_forward(op, x))(x, *params)
                return out if out.__class__ is _ndarray else as_result(out)
            x = constant(x)
        data = x._data
        if to_float and data.dtype.kind != "f" and data.dtype.kind != "V":  # ("V": bfloat16)
            x = _make(data.astype(D.default_float()), False, None)
            data = x._data
        f = fwd
        if _ANY_DEVICE and data.__class__ is not _ndarray:
            f = device_forward(op, data)
        tok = _fp_set(_FP_IGNORE)
        try:
            out = f(data, *params) if params else f(data)  # (a star-call builds a tuple)
        finally:
            _fp_reset(tok)
        if out.__class__ is not _ndarray:  # (numpy's scalar from a 0-d op; another device's array)
            out = _np_asarray(out) if out.__class__ in _NP_SCALARS else as_result(out)
        if TRACE is not None:
            TRACE(op, (x,), params, out)
        if x._rg and diff and (not _GRAD_OFF or _state.enabled):
            return record(op, (x,), params, out)
        return _make(out, False, None)

    return call


def _binary_caller(op: Op):
    fwd = op.forward
    rule = op.dtype_rule
    needs_float = rule == "promote_float"
    diff = op.differentiable
    name = op.name
    tensor_classes = _TENSOR_CLASSES

    def call(a, b, *params):
        ca = a.__class__
        cb = b.__class__
        if ca is _ndarray and cb is _ndarray and _state.raw:
            # An array-safe VJP in a backward walk (the usual case there): arrays in, arrays out.
            out = fwd(a, b, *params)
            return out if out.__class__ is _ndarray else as_result(out)
        num = False
        if ca in tensor_classes:
            ad = a._data
            if cb in tensor_classes:
                bd = b._data
                if ad.dtype is not bd.dtype or (needs_float and ad.dtype.kind != "f"):
                    a, b = _promote_pair(a, b, rule)
                    ad = a._data
                    bd = b._data
                rg = a._rg or b._rg
            elif (cb is float or cb is int) and ad.dtype.kind == "f":
                # A Python number never widens a floating tensor (PyTorch's rule): it becomes a
                # cached 0-d array of the tensor's dtype, and no constant Tensor is made for it.
                if not _ANY_DEVICE or ad.__class__ is _ndarray:
                    b = bd = _scalar_array(b, ad.dtype)
                    num = True
                else:  # on a device: the number as a constant tensor there (record wants numpy's 0-d)
                    bd = _BY_CLASS[ad.__class__].scalar_array(b, ad.dtype)
                    b = _make(bd, False, None)
                rg = a._rg
            else:
                a, b = _promote_pair(a, b, rule)
                ad = a._data
                bd = b._data
                rg = a._rg or b._rg
        elif cb in tensor_classes and (ca is float or ca is int) and b._data.dtype.kind == "f":
            bd = b._data
            if not _ANY_DEVICE or bd.__class__ is _ndarray:
                a = ad = _scalar_array(a, bd.dtype)
                num = True
            else:
                ad = _BY_CLASS[bd.__class__].scalar_array(a, bd.dtype)
                a = _make(ad, False, None)
            rg = b._rg
        else:
            if _state.raw and not isinstance(a, _Tensor) and not isinstance(b, _Tensor):
                # An array-safe VJP in a backward walk: arrays in, arrays out (FP state set there).
                out = _raw_forward(op, a, b)(a, b, *params)
                return out if out.__class__ is _ndarray else as_result(out)
            a, b = _promote_pair(a, b, rule)
            ad = a._data
            bd = b._data
            rg = a._rg or b._rg
        f = fwd
        if _ANY_DEVICE and (ad.__class__ is not _ndarray or bd.__class__ is not _ndarray):
            f = _forward2(op, ad, bd)
        tok = _fp_set(_FP_IGNORE)
        try:
            out = f(ad, bd, *params) if params else f(ad, bd)  # (a star-call builds a tuple)
        except ValueError as e:
            if ad.shape != bd.shape:
                raise RuntimeError(
                    f"{name}: shapes {tuple(ad.shape)} and {tuple(bd.shape)} are not "
                    f"broadcastable (numpy: {e})"
                ) from None
            raise
        finally:
            _fp_reset(tok)
        if out.__class__ is not _ndarray:  # (numpy's scalar from a 0-d op; another device's array)
            out = _np_asarray(out) if out.__class__ in _NP_SCALARS else as_result(out)
        if TRACE is not None:
            TRACE(op, (a, b), params, out)
        if rg and diff and (not _GRAD_OFF or _state.enabled):
            if num and not op.number_operands:  # this op's VJPs want Tensors for both operands
                if ca in tensor_classes:
                    b = _make(bd, False, None)
                else:
                    a = _make(ad, False, None)
            return record(op, (a, b), params, out)
        return _make(out, False, None)

    return call


def _promote_pair(a, b, rule):
    dt = result_dtype((a, b), rule)
    bk = tensor_backend((a, b))  # a number operand becomes an array on the tensor's device
    return _as_operand(a, dt, bk), _as_operand(b, dt, bk)


def apply_variadic(op: Op, tensors, params: tuple):
    tensors = tuple(tensors)
    if _state.raw:
        for t in tensors:
            if isinstance(t, _Tensor):
                break
        else:  # an array-safe VJP in a backward walk: arrays in, arrays out
            arrays = list(tensors)
            f = op.forward
            for a in arrays:
                if a.__class__ is not _ndarray and a.__class__ in _BY_CLASS and not isinstance(a, B.generic):
                    f = device_forward(op, a)
                    break
            out = f(arrays, *params)
            return out if out.__class__ is _ndarray else as_result(out)
    rule = op.dtype_rule
    if rule == "promote" or rule == "promote_tail":
        head = () if rule == "promote" else tensors[:1]
        tail = tensors[len(head):]
        dts = {t._data.dtype if isinstance(t, _Tensor) else None for t in tail}
        if len(dts) != 1 or None in dts:
            dt = result_dtype(tail, "promote")
            bk = tensor_backend(tensors)
            tail = tuple(_as_operand(t, dt, bk) for t in tail)
        tensors = tuple(t if isinstance(t, _Tensor) else constant(t, None, tensor_backend(tensors))
                        for t in head) + tail
    else:
        for t in tensors:
            if not isinstance(t, _Tensor):
                bk = tensor_backend(tensors)
                tensors = tuple([t if isinstance(t, _Tensor) else constant(t, None, bk) for t in tensors])
                break
    arrays = [t._data for t in tensors]
    f = op.forward
    for a in arrays:
        if a.__class__ is not _ndarray:
            f = _forward_n(op, arrays)
            break
    tok = _fp_set(_FP_IGNORE)
    try:
        out = f(arrays, *params)
    except ValueError as e:
        if "broadcast" not in str(e):
            raise
        shapes = ", ".join(str(tuple(t._data.shape)) for t in tensors)
        raise RuntimeError(f"{op.name}: shapes {shapes} are not broadcastable (numpy: {e})") from None
    finally:
        _fp_reset(tok)
    if out.__class__ is not _ndarray:
        out = _np_asarray(out) if out.__class__ in _NP_SCALARS else as_result(out)
    if TRACE is not None:
        TRACE(op, tensors, params, out)
    if (not _GRAD_OFF or _state.enabled) and op.differentiable:
        for t in tensors:
            if t._rg:
                return record(op, tensors, params, out)
    return _make(out, False, None)


def record(op: Op, inputs: tuple, params: tuple, out):
    """The output Tensor of a recorded op call, and its Node: the one recording path.

    ``inputs`` are the op's operands: Tensors, or the 0-d array a Python number became (ops
    with ``number_operands``: no parent, no version). The node holds ``parents`` (each
    input's node, the input itself for a leaf that requires grad, None where no gradient is
    wanted), ``params``; the inputs when the VJPs read them, with ``versions`` (their
    version counters' values now: backward refuses a value changed in place since);
    ``in_meta``, each input's (shape, dtype) when some input differs from ``out`` (the walk
    reduces gradients back to them); ``out`` when saved; a weak reference to the output
    Tensor; and ``seq``, its creation number. Nodes are built with object.__new__ and slot
    stores: half the cost of a Python ``__init__``.
    """
    # Per input: its node (the input itself for a leaf; None where no gradient is wanted), its
    # version now, and its (shape, dtype) when some input differs from out's (None for an input
    # that has out's). One and two inputs are unrolled: a comprehension costs about a tenth of a
    # small op.
    node = _new_object(_Node)
    node.op = op
    node.params = params
    save = op.save_inputs
    node.inputs = inputs if save else None
    dtype = out.dtype
    arity = op.arity
    if arity == 1:
        (x,) = inputs
        xd = x._data
        node.parents = (x.grad_fn or x,)  # (a one-input op is recorded only when x requires grad)
        node.versions = (_V0 if x._vc is None else (x._vc[0],)) if save else None
        # (a one-input ufunc keeps its input's shape: no shape tuples to build and compare)
        node.in_meta = None if xd.dtype is dtype and (op.keeps_shape or xd.shape == out.shape) \
            else ((xd.shape, xd.dtype),)
    elif arity == 2:
        a, b = inputs
        if b.__class__ is _ndarray:  # a Python number: no gradient, no version, never widens a
            node.parents = (a.grad_fn or a, None)
            node.versions = (0 if a._vc is None else a._vc[0], None) if save else None
            node.in_meta = (None, (b.shape, b.dtype))
        elif a.__class__ is _ndarray:
            node.parents = (None, b.grad_fn or b)
            node.versions = (None, 0 if b._vc is None else b._vc[0]) if save else None
            node.in_meta = ((a.shape, a.dtype), None)
        else:
            ad = a._data
            bd = b._data
            node.parents = ((a.grad_fn or a) if a._rg else None, (b.grad_fn or b) if b._rg else None)
            if save:
                node.versions = _V00 if a._vc is None and b._vc is None else \
                    (0 if a._vc is None else a._vc[0], 0 if b._vc is None else b._vc[0])
                if not (a._rg and b._rg):
                    _mark_saved_constants(inputs, node)
            else:
                node.versions = None
            shape = out.shape
            a_as_out = ad.shape == shape and ad.dtype is dtype
            b_as_out = bd.shape == shape and bd.dtype is dtype
            node.in_meta = None if a_as_out and b_as_out else \
                (None if a_as_out else (ad.shape, ad.dtype), None if b_as_out else (bd.shape, bd.dtype))
    else:
        parents = tuple([(t.grad_fn or t) if t._rg else None for t in inputs])
        node.parents = parents
        node.versions = tuple([0 if t._vc is None else t._vc[0] for t in inputs]) if save else None
        if save:
            for p in parents:
                if p is None:  # (not ``None in parents``: that would call Tensor.__eq__ on leaf parents)
                    _mark_saved_constants(inputs, node)
                    break
        in_meta = tuple([(t._data.shape, t._data.dtype) for t in inputs])
        if in_meta.count(in_meta[0]) == len(in_meta) and in_meta[0] == (out.shape, dtype):
            in_meta = None  # (no generator expression here: one reading shape would make it a cell)
        node.in_meta = in_meta
    node.hooks = None
    node.seq = _next_seq()
    node.bumps = _BUMPS[0]
    node.out = out if op.save_out else None
    node.out_vc = None  # the output's version counter, once it has one (Tensor._counter links it)
    result = _make(out, True, node)
    node.out_ref = _ref(result)
    if _ANOMALY_ON and _state.anomaly:
        node.trace = graph.creation_site()
    if _KEEP_ON and _state.keep:  # minigrad.viz.keep_intermediates(): hold the inputs' tensors
        node.kept = (tuple([p.out_ref() for p in node.parents if p.__class__ is _Node]), node.inputs)
    return result


# Version tuples shared by the nodes whose inputs have no counter yet (most): none allocated.
_V0 = (0,)
_V00 = (0, 0)


def _mark_saved_constants(inputs: tuple, node) -> None:
    """The saved inputs of ``node`` that take no gradient (constants) remember it: their
    ``numpy()`` turns read-only while the graph may still read them."""
    for t in inputs:
        if t.__class__ is not _ndarray and not t._rg:
            _mark_saved(t, node)


def _mark_saved(t, node) -> None:
    """Remember on ``t`` (saved by ``node`` without requiring grad) that ``node`` saved it, by
    weak reference (no cycle), so that ``numpy()`` hands out a read-only view while the graph may
    still read it (``Tensor._is_saved``). One reference, or a list when graphs overlap."""
    try:
        old = t._saved
    except AttributeError:
        t._saved = _ref(node)
        return
    if old.__class__ is not list:
        n = old()
        if n is None or not n.inputs:  # that graph was freed: the common case
            t._saved = _ref(node)
            return
        old = [old]
    old[:] = [r for r in old if (n := r()) is not None and n.inputs]
    old.append(_ref(node))
    t._saved = old
