"""Export a module's forward as an ONNX model: ``minigrad.onnx.export``.

The exporter is the compiler's second consumer: it records the forward with the compiler's
recorder (``compiler/trace.py``: every primitive op call, as ``minigrad.compile`` records),
reads the trace's op steps as a ``Program`` (in-place arithmetic becomes its out-of-place op),
then writes each step as ONNX node(s) by the mapping table further down: one row per op of
``ops.registry.REGISTRY``, or an entry in ``UNMAPPED`` saying why the op has none. Parameters
and buffers become initializers (named as in ``state_dict``), other constants initializers of
their own, the forward's tensor arguments the graph's inputs. The file is written from host
numpy arrays (numpy named here, as in ``viz.py``).

The ``onnx`` package is needed only here, imported on the first export.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy

from .. import backend as B
from ..autograd.graph import no_grad
from ..ops.registry import is_tensor

DEFAULT_OPSET = 18  # torch.onnx.export's default; the rules below need at least 18 (reduce ops take axes as inputs)
MIN_OPSET = 18


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("minigrad.onnx.export needs the onnx package: pip install 'minigrad[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


# ---------------------------------------------------------------------------
# The recorded program: the trace's op steps, with parameters named and arrays as Refs.

@dataclass(frozen=True)
class Ref:
    """Where a step's operand comes from: ``kind`` is ``"input"`` (the forward's i-th tensor
    argument), ``"param"`` (a parameter or buffer, by its ``state_dict`` name), ``"const"`` (an
    array made during the forward that no op produced: ``value``) or ``"step"`` (step k's output)."""

    kind: str
    key: Any
    value: Any = field(default=None, compare=False, repr=False)


@dataclass
class Step:
    """One primitive op call: the op's registry name, its operands, its params (any array in them
    that the program computed is a Ref), its output's shape and dtype, and the user's line."""

    op: str
    inputs: list
    params: tuple
    shape: tuple
    dtype: Any
    site: str = ""
    dyn: dict = field(default_factory=dict)  # output dim -> its (size, second size) under dynamic_axes
    varying: frozenset = frozenset()  # params that differ with the dynamic axes' sizes


@dataclass
class Program:
    steps: list
    inputs: list  # (shape, dtype) of each tensor argument
    params: dict  # state_dict name -> array
    outputs: list  # a Ref per output tensor
    sizes: dict = field(default_factory=dict)  # (size, second size) -> (input index, axis) under dynamic_axes
    const_dyn: dict = field(default_factory=dict)  # a constant's key -> {dim: (size, second size)}


def _module_names(model) -> dict:
    return {id(m): name for name, m in model.named_modules()}


def _site(modules: dict) -> str:
    """The user's line that called the op, and the module whose forward ran it."""
    f = sys._getframe(2)
    where = module = None
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    while f is not None:
        fn = f.f_code.co_filename
        if where is None and not os.path.abspath(fn).startswith(pkg):
            where = f"{fn}:{f.f_lineno} in {f.f_code.co_name}"
        if module is None and f.f_code.co_name == "forward":
            m = f.f_locals.get("self")
            if m is not None and id(m) in modules:
                name = modules[id(m)]
                module = f"module {name} ({type(m).__name__})" if name else f"the model ({type(m).__name__})"
        if where is not None and module is not None:
            break
        f = f.f_back
    return ", ".join(s for s in (module, where) if s)


def _flatten(out):
    """The tensors of a forward's result (a tensor, or nested tuples / lists of them), in order."""
    if is_tensor(out):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    raise TypeError(f"onnx.export: the forward returned {type(out).__name__}; expected tensors or tuples of them")


def _recorder_class():
    from . import trace

    class SiteRecorder(trace.Recorder):
        """The compiler's recorder, also keeping each op step's module and user line (for errors)."""

        def __init__(self, *args, modules: dict, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.module_names = modules
            self.sites: dict = {}

        def _step(self, *args, **kwargs):
            self.sites[len(self.trace.steps)] = _site(self.module_names)
            return super()._step(*args, **kwargs)

    return SiteRecorder


def record(model, args: tuple, kwargs: dict) -> Program:
    """Run ``model(*args, **kwargs)`` once under no_grad, recorded by the compiler's tracer
    (``compiler.trace``), as a Program of op steps."""
    from . import trace as T

    inputs: list = []
    T.flatten_tensors((args, kwargs), inputs)
    tr = T.Trace()
    rec = _recorder_class()(tr, inputs, True, f"{type(model).__name__}.forward", modules=_module_names(model))
    try:
        with no_grad(), rec:
            result = model(*args, **kwargs)
            _flatten(result)
            rec.finish(result)
    except T.GraphBreak as e:
        raise RuntimeError(f"onnx.export: the forward cannot be recorded ({e})") from None
    return _program(tr, rec.sites, model, inputs)


def _program(tr, sites: dict, model, inputs: list) -> Program:
    """The trace's op steps as a Program (parameters and buffers named as in ``state_dict``)."""
    from . import trace as T

    named = {id(t): name for name, t in list(model.named_parameters()) + list(model.named_buffers())}
    params: dict = {}
    step_of: dict = {}  # buffer number -> index in the Program's steps

    rebound: dict = {}  # buffer number -> the step that wrote it in place last

    def ref(r):
        if r.kind == "input":
            return Ref("input", r.index)
        if r.kind == "buf":
            return rebound.get(r.index) or Ref("step", step_of[r.index])
        if r.kind == "const":
            return Ref("const", ("c", r.index), tr.consts[r.index])
        t = tr.params[r.index]()
        if id(t) in named:
            params[named[id(t)]] = t._data
            return Ref("param", named[id(t)])
        return Ref("const", ("p", r.index), t._data)  # a tensor from before the call that is no parameter

    def convert(p):
        if p.__class__ is T.Ref:
            return ref(p)
        if isinstance(p, (tuple, list)):
            return type(p)(convert(q) for q in p)
        return p

    steps: list = []
    for n, st in enumerate(tr.steps):
        site = sites.get(n, "")
        if st.kind in ("inplace", "write", "fill"):  # x.add_(y), x.relu_(), x.zero_()...: x names the new value
            rebound[st.inputs[0].index] = _inplace_step(tr, st, site, ref, steps)
            continue
        if st.kind != "op":
            raise RuntimeError(f"onnx.export: the forward made a {st.kind} step ({st.name}), which a graph "
                               f"cannot hold; at {site}")
        steps.append(Step(st.name, [ref(r) for r in st.inputs], convert(st.params), st.out.shape, st.out.dtype,
                          site))
        step_of[st.out.index] = len(steps) - 1
    outputs = [ref(r) for r in tr.output_refs()]
    return Program(steps, [(tuple(t.shape), t._data.dtype) for t in inputs], params, outputs)


_INPLACE_OPS = {"add_": "add", "subtract_": "sub", "multiply_": "mul", "divide_": "div", "true_divide_": "div"}


def _inplace_step(tr, st, site: str, ref, steps: list) -> Ref:
    """The new value of ``x`` after an in-place step on it, as a Ref: arithmetic ``ufunc(x, y * alpha,
    out=x)`` becomes its out-of-place op (appended to ``steps``); a write (``x.relu_()`` writes the
    recorded result into x) names that result; a fill, a constant. Only for a value ``x`` that no
    view shares (else other names of that memory would miss the write)."""
    from . import trace as T

    dst = st.inputs[0]
    shared = dst.kind != "buf" or not dst.owner or any(b.storage == dst.index and b is not dst for b in tr.buffers)
    if shared or (st.kind == "inplace" and st.name not in _INPLACE_OPS):
        raise RuntimeError(f"onnx.export: the in-place {st.name} at {site} writes into an input, a parameter or "
                           "memory a view shares; write it out of place")
    if st.kind == "write":
        src = st.inputs[1]
        if src.shape != dst.shape or src.dtype != dst.dtype:
            raise RuntimeError(f"onnx.export: the in-place {st.name} at {site} writes a value of another shape or "
                               "dtype; write it out of place")
        return ref(src)
    if st.kind == "fill":
        (value,) = st.params
        if value.__class__ is T.Ref:
            raise RuntimeError(f"onnx.export: the in-place {st.name} at {site} fills with a tensor; write it out "
                               "of place")
        return Ref("const", ("fill", len(steps), st.name), numpy.full(dst.shape, value, dst.dtype))
    x = ref(dst)
    src, alpha = st.params
    if src.__class__ is T.Ref:
        y = ref(src)
        if alpha != 1:
            steps.append(Step("mul", [y, Ref("const", ("alpha", len(steps)), numpy.asarray(alpha, src.dtype))], (),
                              src.shape, src.dtype, site))
            y = Ref("step", len(steps) - 1)
    else:
        y = Ref("const", ("number", len(steps)), numpy.asarray(src * alpha, dst.dtype))
    steps.append(Step(_INPLACE_OPS[st.name], [x, y], (), dst.shape, dst.dtype, site))
    return Ref("step", len(steps) - 1)


# ---------------------------------------------------------------------------
# The ONNX graph being built.

class Unsupported(RuntimeError):
    """An op (or an op's arguments) with no ONNX mapping."""


class _Graph:
    """Nodes, initializers and value names of the graph being built; the rules call ``node``."""

    def __init__(self, onnx, opset: int):
        self.onnx = onnx
        self.opset = opset
        self.nodes: list = []
        self.inits: list = []
        self.meta: dict = {}  # value name -> (shape, numpy dtype)
        self._n = 0
        self._consts: dict = {}
        self.where = ""  # the op being translated, for node names
        self.sizes: dict = {}  # (size, second size) -> (input name, axis): the dynamic axes
        self._size_nodes: dict = {}
        self.name_of: Callable = None  # Ref -> value name (set by build)

    def size_of(self, pair) -> str:
        """A 1-element int64 tensor: the run-time size of the dynamic axis recorded as ``pair``."""
        if pair not in self._size_nodes:
            name, axis = self.sizes[pair]
            where, self.where = self.where, "shape"
            self._size_nodes[pair] = self.node("Shape", [name], start=axis, end=axis + 1)
            self.where = where
        return self._size_nodes[pair]

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"/{self.where}/{stem}_{self._n}"

    def node(self, op_type: str, inputs: Sequence[str], n_out: int = 1, **attrs):
        outs = [self.fresh(op_type) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs, name=outs[0] + "_node", **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None) -> str:
        """An initializer holding ``value`` (numbers and small lists shared by value)."""
        arr = numpy.asarray(value, dtype=dtype)
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.fresh("const")
        self.add_init(name, arr)
        if key is not None:
            self._consts[key] = name
        return name

    def value(self, v) -> str:
        """The name of a Ref found in an op's params (an index tensor), or of a constant array."""
        return self.name_of(v) if isinstance(v, Ref) else self.const(v)

    def ints(self, values) -> str:
        return self.const(list(values), numpy.int64)

    def scalar(self, value, like: str) -> str:
        """A 0-d constant of the dtype of value ``like``."""
        return self.const(value, self.meta[like][1])

    def add_init(self, name, arr) -> None:
        arr = numpy.asarray(arr)
        if not arr.flags.c_contiguous:  # (ascontiguousarray would make a 0-d array 1-d)
            arr = arr.copy(order="C")
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))


# ---------------------------------------------------------------------------
# The mapping table: registry op name -> rule(graph, step, inputs) -> output value name.
# ``inputs`` are the ONNX names of the step's operands; ``step.params`` the op's params.

def _unary(op_type: str, **attrs) -> Callable:
    return lambda g, s, x: g.node(op_type, x, **attrs)


def _binary(op_type: str) -> Callable:
    return lambda g, s, x: g.node(op_type, x)


def _not_of(op_type: str) -> Callable:
    return lambda g, s, x: g.node("Not", [g.node(op_type, x)])


def _is_float(g, name) -> bool:
    return numpy.dtype(g.meta[name][1]).kind == "f"


def _axes(dims, ndim):
    return list(range(ndim)) if dims is None else list(dims)


def _round(g, s, x):
    (decimals,) = s.params
    if not decimals:
        return g.node("Round", x)
    scale = g.scalar(10.0 ** decimals, x[0])
    return g.node("Div", [g.node("Round", [g.node("Mul", [x[0], scale])]), scale])


def _clamp(g, s, x):
    lo, hi = s.params
    return g.node("Clip", [x[0], "" if lo is None else g.scalar(lo, x[0]), "" if hi is None else g.scalar(hi, x[0])])


def _cast(g, s, x):
    (dtype,) = s.params
    return g.node("Cast", x, to=g.onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype)))


def _isfinite(g, s, x):
    return g.node("Not", [g.node("Or", [g.node("IsNaN", x), g.node("IsInf", x)])])


def _remainder(g, s, x):
    if _is_float(g, x[0]):  # Python's a % b (sign of b): a - floor(a / b) * b (ONNX Mod needs fmod=1 on floats)
        return g.node("Sub", [x[0], g.node("Mul", [g.node("Floor", [g.node("Div", x)]), x[1]])])
    return g.node("Mod", x, fmod=0)


def _floor_divide(g, s, x):
    if _is_float(g, x[0]):
        return g.node("Floor", [g.node("Div", x)])
    return g.node("Div", [g.node("Sub", [x[0], g.node("Mod", x, fmod=0)]), x[1]])  # exact: a - a mod b divides


def _tanh_backward(g, s, x):
    grad, y = x
    return g.node("Mul", [grad, g.node("Sub", [g.scalar(1, y), g.node("Mul", [y, y])])])


def _sigmoid_backward(g, s, x):
    grad, y = x
    return g.node("Mul", [g.node("Mul", [grad, y]), g.node("Sub", [g.scalar(1, y), y])])


def _relu_backward(g, s, x):
    grad, y = x
    return g.node("Where", [g.node("Greater", [y, g.scalar(0, y)]), grad, g.scalar(0, grad)])


def _reduce(op_type: str) -> Callable:
    """amax, amin, prod: params (dims, keepdim)."""
    def rule(g, s, x):
        dims, keepdim = s.params[:2]
        return g.node(op_type, [x[0], g.ints(_axes(dims, len(g.meta[x[0]][0])))], keepdims=int(bool(keepdim)))
    return rule


def _sum(g, s, x):
    """sum and mean: params (dims, keepdim, shape, dtype[, count])."""
    dims, keepdim, shape, dtype = s.params[:4]
    count = s.params[4] if len(s.params) > 4 else None
    src = x[0]
    if dtype is not None and numpy.dtype(dtype) != numpy.dtype(g.meta[src][1]):
        src = g.node("Cast", [src], to=g.onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype)))
    axes = g.ints(_axes(dims, len(shape)))
    if count is not None and 4 in s.varying:  # a mean over a dynamic axis: its count is known at run time
        return g.node("ReduceMean", [src, axes], keepdims=int(bool(keepdim)))
    out = g.node("ReduceSum", [src, axes], keepdims=int(bool(keepdim)))
    if count is None:
        return out
    return g.node("Div", [out, g.const(count, s.dtype)])  # the sum over the count, as the row computes it


def _softmax(op_type: str) -> Callable:
    def rule(g, s, x):
        d = s.params[0]
        if not s.shape:  # a 0-d input: (log-)softmax over its one element
            one = g.node(op_type, [g.node("Reshape", [x[0], g.ints([1])])], axis=0)
            return g.node("Reshape", [one, g.ints([])])
        return g.node(op_type, x, axis=d)
    return rule


def _cumsum(g, s, x):
    (dim,) = s.params
    if not s.shape:
        return g.node("Identity", x)
    return g.node("CumSum", [x[0], g.const(dim, numpy.int64)])


def _norm(g, s, x):
    p, dims, keepdim = s.params
    axes = g.ints(_axes(dims, len(g.meta[x[0]][0])))
    k = int(bool(keepdim))
    if p == 2:
        return g.node("Sqrt", [g.node("ReduceSumSquare", [x[0], axes], keepdims=k)])
    if p == 1:
        return g.node("ReduceL1", [x[0], axes], keepdims=k)
    powered = g.node("Pow", [g.node("Abs", x), g.scalar(p, x[0])])
    g.meta[powered] = g.meta[x[0]]
    return g.node("Pow", [g.node("ReduceSum", [powered, axes], keepdims=k), g.scalar(1.0 / p, x[0])])


def _arg(op_type: str) -> Callable:
    def rule(g, s, x):
        axis, keepdim = s.params
        src = x[0]
        if axis is None:  # over the flattened input
            src = g.node("Reshape", [src, g.ints([-1])])
            out = g.node(op_type, [src], axis=0, keepdims=0)
            return g.node("Reshape", [out, g.ints(s.shape)]) if keepdim else out
        return g.node(op_type, [src], axis=axis, keepdims=int(bool(keepdim)))
    return rule


def _all_any(op_type: str) -> Callable:
    def rule(g, s, x):
        dims, keepdim = s.params
        bits = g.node("Cast", [g.node("Cast", x, to=g.onnx.TensorProto.BOOL)], to=g.onnx.TensorProto.INT32)
        red = g.node(op_type, [bits, g.ints(_axes(dims, len(g.meta[x[0]][0])))], keepdims=int(bool(keepdim)))
        return g.node("Cast", [red], to=g.onnx.TensorProto.BOOL)
    return rule


def _shape_input(g, s, shape, dyn=None):
    """A Reshape / Expand target: ``shape``, with the dims that follow the dynamic axes read from
    the inputs' shapes at run time (-1 for one that is not an input's axis: a product of dims)."""
    dyn = s.dyn if dyn is None else dyn
    if not dyn:
        return g.ints(shape)
    unknown = [i for i in dyn if dyn[i] not in g.sizes]
    if len(unknown) > 1:
        raise Unsupported(f"{s.op}: shape {tuple(shape)} has several dims that follow the dynamic axes "
                          "as products; export it with static shapes")
    parts = []
    for i, n in enumerate(shape):
        if i in dyn and dyn[i] in g.sizes:
            parts.append(g.size_of(dyn[i]))
        else:
            parts.append(g.ints([-1 if i in dyn else n]))
    return g.node("Concat", parts, axis=0)


def _reshape(g, s, x):
    return g.node("Reshape", [x[0], _shape_input(g, s, s.shape)])


def _broadcast_to(g, s, x):
    if any(s.dyn[i] not in g.sizes for i in s.dyn):  # keep such a dim as the input has it (Expand broadcasts)
        keep = {i: 1 for i in s.dyn if s.dyn[i] not in g.sizes}
        shape = [keep.get(i, n) for i, n in enumerate(s.shape)]
        return g.node("Expand", [x[0], _shape_input(g, s, shape, {i: p for i, p in s.dyn.items() if i not in keep})])
    return g.node("Expand", [x[0], _shape_input(g, s, s.shape)])


def _permute(g, s, x):
    return g.node("Transpose", x, perm=list(s.params[0]))


def _sum_to(g, s, x):
    shape = s.params[0]
    src_shape = g.meta[x[0]][0]
    lead = len(src_shape) - len(shape)
    axes = list(range(lead)) + [lead + i for i, n in enumerate(shape) if n == 1 and src_shape[lead + i] != 1]
    out = x[0]
    if axes:
        out = g.node("ReduceSum", [out, g.ints(axes)], keepdims=1)
    return g.node("Reshape", [out, _shape_input(g, s, shape)])


_END = 2 ** 63 - 1  # Slice's "to the end" (clamped, as numpy)


def _slices(index, shape):
    """(starts, ends, steps, axes) of the basic part of a numpy index, and its index arrays by axis.

    Bounds are written as the index has them (negative ones count from the end at run time), so a
    slice stays right when its axis is dynamic."""
    items = list(index)
    at = next((k for k, i in enumerate(items) if i is Ellipsis), None)
    if at is not None:
        used = sum(1 for i in items if i is not None and i is not Ellipsis)
        items[at:at + 1] = [slice(None)] * (len(shape) - used)
    starts, ends, steps, axes, arrays = [], [], [], [], []
    d = 0
    for item in items:
        if item is None:
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            if item.start not in (None, 0) or item.stop is not None or step != 1:
                start = item.start if item.start is not None else (0 if step > 0 else -1)
                stop = item.stop if item.stop is not None else (_END if step > 0 else -_END - 1)
                starts.append(int(start))
                ends.append(int(stop))
                steps.append(step)
                axes.append(d)
        elif isinstance(item, (Ref, B.ndarray)):
            arrays.append((d, item))
        elif isinstance(item, (int, numpy.integer)) and not isinstance(item, bool):
            i = int(item)
            starts.append(i)
            ends.append(_END if i == -1 else i + 1)
            steps.append(1)
            axes.append(d)
        else:
            raise Unsupported(f"getitem: index item {item!r} has no ONNX mapping")
        d += 1
    return starts, ends, steps, axes, arrays


def _getitem(g, s, x):
    index, shape, advanced = s.params[:3]
    starts, ends, steps, axes, arrays = _slices(index, shape)
    ints_or_none = any(i is None or (isinstance(i, (int, numpy.integer)) and not isinstance(i, bool)) for i in index)
    if advanced and (len(arrays) != 1 or ints_or_none):
        raise Unsupported("getitem: advanced indexing other than one index tensor among slices (as an "
                          "embedding lookup) has no ONNX mapping")
    out = x[0]
    if starts:
        out = g.node("Slice", [out, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if arrays:
        d, idx = arrays[0]
        return g.node("Gather", [out, g.value(idx)], axis=d)
    if ints_or_none:  # ints remove their dims, None adds one: a reshape to the traced shape
        out = g.node("Reshape", [out, _shape_input(g, s, s.shape)])
    return out if out is not x[0] else g.node("Identity", [out])


def _nll_loss(g, s, x):
    """-sum(x[rows, targets]) / divisor, with rows = arange(N) (nn.functional.nll_loss's one-node case)."""
    (rows, targets), divisor = s.params[:2]
    n = g.meta[x[0]][0][0]
    if isinstance(rows, Ref) or not numpy.array_equal(rows, numpy.arange(n)):
        raise Unsupported("nll_loss: rows other than arange(N) have no ONNX mapping")
    picked = g.node("GatherElements", [x[0], g.node("Unsqueeze", [g.value(targets), g.ints([1])])], axis=1)
    if 1 in s.varying:  # the mean over a dynamic batch
        return g.node("Neg", [g.node("ReduceMean", [picked], keepdims=0)])
    total = g.node("Neg", [g.node("ReduceSum", [picked], keepdims=0)])
    return g.node("Div", [total, g.const(divisor, s.dtype)])


def _diagonal(g, s, x):
    """The diagonal over dims d1, d2 (removed; appended last): those dims moved last and merged, then
    the diagonal's positions gathered."""
    off, d1, d2, shape = s.params
    keep = [i for i in range(len(shape)) if i not in (d1, d2)]
    n1, n2 = shape[d1], shape[d2]
    k = s.shape[-1]
    moved = g.node("Transpose", x, perm=keep + [d1, d2])
    flat = g.node("Reshape", [moved, g.ints([0] * len(keep) + [n1 * n2])])  # (0: keep that dim as it is)
    first = off if off >= 0 else -off * n2
    return g.node("Gather", [flat, g.ints([first + i * (n2 + 1) for i in range(k)])], axis=len(keep))


def _flip(g, s, x):
    (dims,) = s.params
    dims = [dims] if isinstance(dims, int) else list(dims)
    n = len(dims)
    return g.node("Slice", [x[0], g.ints([-1] * n), g.ints([-(2 ** 63)] * n), g.ints(dims), g.ints([-1] * n)])


def _roll(g, s, x):
    """Each rolled dim as two slices, the tail first; no dims: over the flattened input."""
    shifts, dims = s.params
    shape = g.meta[x[0]][0]
    out = x[0]
    flat = dims is None
    if flat:
        out = g.node("Reshape", [out, g.ints([-1])])
        dims, shape = (0,), (math.prod(shape),)
    shifts = shifts if isinstance(shifts, tuple) else (shifts,)
    dims = dims if isinstance(dims, tuple) else (dims,)
    if s.dyn and (flat or any(d in s.dyn for d in dims)):
        raise Unsupported("roll: rolling a dynamic axis has no ONNX mapping here (its shift is taken modulo "
                          "the example's size); export it with static shapes")
    for shift, d in zip(shifts, dims):
        n = shape[d]
        k = shift % n if n else 0
        if k:
            tail = g.node("Slice", [out, g.ints([n - k]), g.ints([n]), g.ints([d])])
            head = g.node("Slice", [out, g.ints([0]), g.ints([n - k]), g.ints([d])])
            out = g.node("Concat", [tail, head], axis=d)
    return g.node("Reshape", [out, _shape_input(g, s, s.shape)])  # (back from the flattened form; else a no-op)


def _pad(g, s, x):
    widths, value = s.params
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    return g.node("Pad", [x[0], g.ints(pads), g.scalar(value, x[0])], mode="constant")


def _cat(g, s, x):
    dim = s.params[0]
    return g.node("Concat", x, axis=dim)


def _scatter(reduction: str | None) -> Callable:
    def rule(g, s, x):
        attrs = {"reduction": reduction} if reduction else {}
        return g.node("ScatterElements", x, axis=s.params[0], **attrs)
    return rule


def _einsum(g, s, x):
    return g.node("Einsum", x, equation=s.params[0])


def _linear(g, s, x):
    if len(g.meta[x[0]][0]) == 2:
        return g.node("Gemm", x, transB=1)
    out = g.node("MatMul", [x[0], g.node("Transpose", [x[1]], perm=[1, 0])])
    return g.node("Add", [out, x[2]]) if len(x) == 3 else out


def _conv2d(g, s, x):
    stride, ((pt, pb), (pl, pr)), dilation, groups = s.params[0]
    return g.node("Conv", x, strides=list(stride), pads=[pt, pl, pb, pr], dilations=list(dilation), group=groups)


def _conv_transpose2d(g, s, x):
    stride, ((pt, pb), (pl, pr)), dilation, groups = s.params[0]
    h, w = g.meta[x[0]][0][2:]
    kh, kw = g.meta[x[1]][0][2:]
    out_h, out_w = s.params[1]
    extra = [out_h - (stride[0] * (h - 1) + dilation[0] * (kh - 1) + 1 - pt - pb),
             out_w - (stride[1] * (w - 1) + dilation[1] * (kw - 1) + 1 - pl - pr)]
    return g.node("ConvTranspose", x, strides=list(stride), pads=[pt, pl, pb, pr], dilations=list(dilation),
                  group=groups, output_padding=extra)


def _pool_padded(g, s, x, value):
    """The input padded as the pooling row reads it: (ph, pw) in front, to the windows' extent behind."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo), shape = s.params[0][:6]
    h, w = shape[-2:]
    eh = (ho - 1) * sh + dh * (kh - 1) + 1
    ew = (wo - 1) * sw + dw * (kw - 1) + 1
    back_h, back_w = max(eh - ph - h, 0), max(ew - pw - w, 0)
    rank = len(shape)
    if not (ph or pw or back_h or back_w):
        return x[0]
    front = [0] * (rank - 2) + [ph, pw]
    back = [0] * (rank - 2) + [back_h, back_w]
    return g.node("Pad", [x[0], g.ints(front + back), g.scalar(value, x[0])], mode="constant")


def _max_pool2d(g, s, x):
    (kh, kw), stride, _, dilation = s.params[0][:4]
    src = _pool_padded(g, s, x, -numpy.inf)
    return g.node("MaxPool", [src], kernel_shape=[kh, kw], strides=list(stride), dilations=list(dilation))


def _avg_pool2d(g, s, x):
    (kh, kw), stride = s.params[0][:2]
    inv = s.params[0][6]  # 1 / divisor: a number or an (Ho, Wo) array
    src = _pool_padded(g, s, x, 0.0)
    mean = g.node("AveragePool", [src], kernel_shape=[kh, kw], strides=list(stride))
    return g.node("Mul", [mean, g.const(numpy.asarray(inv) * (kh * kw), s.dtype)])


def _where(g, s, x):
    return g.node("Where", x)


# fmt: off
# One row per op: registry name -> rule. Shape-only rows keep the output's traced shape.
RULES: dict = {
    # elementwise, one input
    "neg": _unary("Neg"), "exp": _unary("Exp"), "log": _unary("Log"), "sqrt": _unary("Sqrt"),
    "log1p": lambda g, s, x: g.node("Log", [g.node("Add", [x[0], g.scalar(1, x[0])])]),
    "expm1": lambda g, s, x: g.node("Sub", [g.node("Exp", x), g.scalar(1, x[0])]),
    "rsqrt": lambda g, s, x: g.node("Reciprocal", [g.node("Sqrt", x)]),
    "sin": _unary("Sin"), "cos": _unary("Cos"), "tan": _unary("Tan"), "tanh": _unary("Tanh"),
    "sigmoid": _unary("Sigmoid"), "erf": _unary("Erf"), "relu": _unary("Relu"), "abs": _unary("Abs"),
    "sign": _unary("Sign"), "floor": _unary("Floor"), "ceil": _unary("Ceil"), "round": _round,
    "clamp": _clamp, "to": _cast,
    "logical_not": _unary("Not"), "bitwise_not": _unary("BitwiseNot"), "isnan": _unary("IsNaN"),
    "isinf": _unary("IsInf"), "isfinite": _isfinite,
    # elementwise, two inputs (ONNX broadcasts as numpy)
    "add": _binary("Add"), "sub": _binary("Sub"), "mul": _binary("Mul"), "div": _binary("Div"),
    "pow": _binary("Pow"), "maximum": _binary("Max"), "minimum": _binary("Min"),
    "remainder": _remainder, "floor_divide": _floor_divide,
    "eq": _binary("Equal"), "ne": _not_of("Equal"), "lt": _binary("Less"), "le": _binary("LessOrEqual"),
    "gt": _binary("Greater"), "ge": _binary("GreaterOrEqual"),
    "logical_and": _binary("And"), "logical_or": _binary("Or"), "logical_xor": _binary("Xor"),
    "bitwise_and": _binary("BitwiseAnd"), "bitwise_or": _binary("BitwiseOr"), "bitwise_xor": _binary("BitwiseXor"),
    "tanh_backward": _tanh_backward, "sigmoid_backward": _sigmoid_backward, "relu_backward": _relu_backward,
    "where": _where,
    # reductions
    "sum": _sum, "mean": _sum, "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "amax": _reduce("ReduceMax"), "amin": _reduce("ReduceMin"), "prod": _reduce("ReduceProd"),
    "cumsum": _cumsum, "norm": _norm, "nll_loss": _nll_loss, "argmax": _arg("ArgMax"), "argmin": _arg("ArgMin"),
    "all": _all_any("ReduceMin"), "any": _all_any("ReduceMax"),
    # movement
    "reshape": _reshape, "permute": _permute, "broadcast_to": _broadcast_to, "sum_to": _sum_to,
    "getitem": _getitem, "diagonal": _diagonal, "flip": _flip, "roll": _roll, "pad": _pad, "clone": _unary("Identity"),
    "cat": _cat, "gather": lambda g, s, x: g.node("GatherElements", x, axis=s.params[0]),
    "scatter_add": _scatter("add"), "scatter": _scatter(None),
    # linear algebra, convolution, pooling
    "matmul": _binary("MatMul"), "einsum": _einsum, "linear": _linear,
    "conv2d": _conv2d, "conv_transpose2d": _conv_transpose2d,
    "max_pool2d": _max_pool2d, "avg_pool2d": _avg_pool2d,
}
# fmt: on

# The ops with no mapping, and why.
UNMAPPED: dict = {
    "getitem_backward": "a backward op (export writes forwards)",
    "index_put": "an in-place write through an index",
    "diagonal_scatter": "a strided write with no ONNX counterpart",
    "conv2d_weight": "a backward op (export writes forwards)",
    "max_pool2d_backward": "a backward op (export writes forwards)",
    "max_pool2d_gather": "a backward op (export writes forwards)",
    "avg_pool2d_backward": "a backward op (export writes forwards)",
    "to_device": "a copy between devices (an ONNX graph has no device: export a model on one device)",
}


# ---------------------------------------------------------------------------
# The second recording: the forward runs again on other inputs (values rolled by one place, the
# dynamic axes grown by repeating leading slices) and the two programs are compared. Every output
# dim, shape param and constant that differs follows the dynamic axes; anything else that differs
# was computed from the inputs outside the op table, and would be baked into the file: it raises.

# Params that carry shapes (allowed to differ): op -> their positions.
_SHAPE_PARAMS = {"reshape": (0, 1), "broadcast_to": (0, 1), "sum_to": (0, 1), "getitem": (1,), "sum": (2,),
                 "mean": (2, 4), "cat": (1,), "nll_loss": (0, 1, 2)}


def _grown(t, extras: dict):
    """``t``'s array with each dynamic axis grown by ``extras[axis]`` (repeating its leading slices)."""
    arr = t._data
    for axis, extra in sorted(extras.items()):
        if arr.shape[axis] == 0:
            raise ValueError("onnx.export: a dynamic axis of size 0 cannot be traced")
        take = numpy.arange(extra) % arr.shape[axis]
        arr = numpy.concatenate([arr, numpy.take(arr, take, axis=axis)], axis=axis)
    return arr


def _same(a, b) -> bool:
    if isinstance(a, B.ndarray) or isinstance(b, B.ndarray):
        return isinstance(a, B.ndarray) and isinstance(b, B.ndarray) and a.shape == b.shape and bool(
            numpy.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b))
    if isinstance(a, slice) and isinstance(b, slice):
        return _same((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if type(a) is type(b) and not isinstance(a, (int, float, str, complex, numpy.generic, numpy.dtype, type)) \
            and a is not None:
        return True  # an op's per-call scratch (conv2d's saved columns): not a value of the program
    return type(a) is type(b) and bool(a == b)


def _varying(sa: Step, sb: Step) -> frozenset:
    """The params of ``sa`` and ``sb`` that differ; raises for one that is not a shape."""
    out = set()
    for i, (p, q) in enumerate(zip(sa.params, sb.params)):
        if _same(p, q):
            continue
        if sa.op in ("max_pool2d", "avg_pool2d") and i == 0 and _same(p[:5], q[:5]) and _same(p[6:], q[6:]) \
                and p[5][-2:] == q[5][-2:]:
            continue  # the pooling geometry records the input's shape; only its (H, W) is read
        if i not in _SHAPE_PARAMS.get(sa.op, ()):
            raise Unsupported(f"{sa.op}: its params change with the dynamic axes' sizes ({p!r} vs {q!r}); "
                              "export it with static shapes")
        out.add(i)
    return frozenset(out)


def mark_dynamic(program: Program, second: Program, sizes: dict) -> None:
    """Mark in ``program`` what follows the dynamic axes, by comparing it with ``second`` (recorded
    with those axes grown); ``sizes``: (size, second size) -> (input index, axis)."""
    program.sizes = sizes
    if [s.op for s in program.steps] != [s.op for s in second.steps]:
        raise RuntimeError("onnx.export: the forward runs other ops on other inputs (Python control flow on "
                           "their values or on a dynamic axis' size), which one ONNX graph cannot hold")
    consts = {}
    for sa, sb in zip(program.steps, second.steps):
        try:
            sa.varying = _varying(sa, sb)
        except Unsupported as e:
            raise RuntimeError(f"onnx.export: {e}; called at {sa.site}") from None
        sa.dyn = {i: (n, m) for i, (n, m) in enumerate(zip(sa.shape, sb.shape)) if n != m}
        for ra, rb in zip(sa.inputs, sb.inputs):
            if ra.kind != rb.kind or (ra.kind != "const" and ra.key != rb.key):
                raise RuntimeError(f"onnx.export: {sa.op} reads other values on other inputs (called at "
                                   f"{sa.site})")
            if ra.kind == "const":
                consts[ra.key] = (ra.value, rb.value, sa.site)
    for key, (a, b, site) in consts.items():
        if a.shape == b.shape:
            if not numpy.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                raise RuntimeError("onnx.export: a value the forward computed outside the op table (an integer or "
                                   "bool cast, a mask's indices, an in-place write under no_grad) follows the "
                                   f"inputs' values; used at {site}")
            continue
        if a.size == 0 or not (a == a.flat[0]).all() or not (b == a.flat[0]).all() or a.ndim != b.ndim:
            raise RuntimeError("onnx.export: a constant made in the forward has a shape that follows the dynamic "
                               f"axes but different values (used at {site}); export it with static shapes")
        program.const_dyn[key] = {i: (n, m) for i, (n, m) in enumerate(zip(a.shape, b.shape)) if n != m}


# ---------------------------------------------------------------------------
# export

def _split_args(args, kwargs):
    if is_tensor(args):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # torch's convention: a trailing dict holds keyword inputs
        kwargs.update(args[-1])
        args = args[:-1]
    return args, kwargs


def _input_names(model, args, kwargs, given):
    """Given names first, then the forward's parameter names (as torch.onnx.export's default;
    ``name_1``, ``name_2``... for tensors inside a list or tuple argument)."""
    try:
        sig = [q.name for q in inspect.signature(model.forward).parameters.values()
               if q.kind in (q.POSITIONAL_ONLY, q.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        sig = []
    names = []

    def walk(a, name):
        if is_tensor(a):
            names.append(name)
        elif isinstance(a, (tuple, list, dict)):
            for j, b in enumerate(a.values() if isinstance(a, dict) else a):
                walk(b, f"{name}_{j}")

    for i, a in enumerate(args):
        walk(a, sig[i] if i < len(sig) else f"input_{i}")
    for k, v in kwargs.items():
        walk(v, k)
    given = list(given or [])
    if len(given) > len(names):
        raise ValueError(f"onnx.export: {len(given)} input_names given for {len(names)} tensor inputs")
    return given + names[len(given):]


def _dynamic(dynamic_axes, names) -> dict:
    """{value name: {axis: dim name}} from torch's two spellings (a dict or a list of axes)."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is not among the inputs and outputs "
                             f"{list(names)}")
        if isinstance(axes, Mapping):
            out[name] = {int(a): str(n) for a, n in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return out


def export(model, args=(), f=None, *, kwargs: dict | None = None, verbose: bool | None = None,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None, dynamo: bool = True, external_data: bool = True,
           export_params: bool = True, keep_initializers_as_inputs: bool = False,
           dynamic_axes: Mapping | None = None, training=None, do_constant_folding: bool = True):
    """Export ``model``'s forward, run on ``args``, as an ONNX model (``torch.onnx.export``).

    The forward runs in evaluation mode (``model.eval()``, restored afterwards) under
    ``no_grad``, recorded op by op; every primitive op it calls becomes ONNX node(s). Tensor
    arguments become the graph's inputs, parameters and buffers its initializers (named as in
    ``state_dict``). It runs a second time on other values (and sizes, on ``dynamic_axes``):
    anything that changes with the inputs but was not computed by an op (an integer cast,
    Python control flow on values) raises rather than being baked into the file.

    Args:
        model: an ``nn.Module``.
        args: the example inputs: a tensor or a tuple (a trailing dict gives keyword inputs).
            Non-tensor arguments are baked into the graph.
        f: a path or a writable binary file; ``None`` writes nothing (the model is returned).
        kwargs: keyword inputs.
        verbose: print the graph.
        input_names, output_names: names of the graph's inputs and outputs, in order
            (default: the forward's argument names, and ``output_0``, ...).
        opset_version: the ai.onnx opset (default and minimum 18).
        export_params: store the parameters in the file; ``False`` makes them graph inputs.
        keep_initializers_as_inputs: list the parameters among the graph's inputs too.
        dynamic_axes: ``{name: {axis: dim_name}}`` or ``{name: [axis, ...]}``: input axes whose
            size may differ at run time (the batch axis); output dims that follow them are marked
            dynamic too. The second run grows these axes, so every shape that follows them is known.
        do_constant_folding, dynamo, external_data, training: accepted for PyTorch
            compatibility (the runtime folds constants; the weights are always in the one
            file; export runs the forward in evaluation mode).

    Returns:
        the ``onnx.ModelProto`` (``torch.onnx.export`` returns an ``ONNXProgram``).

    Raises:
        ImportError: without the ``onnx`` package.
        RuntimeError: an op with no ONNX mapping, naming the op, the module and the line.
    """
    onnx = _onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < MIN_OPSET:
        raise ValueError(f"onnx.export: opset_version {opset} is not supported (minigrad exports opset {MIN_OPSET} "
                         "or newer)")
    args, kwargs = _split_args(args, kwargs)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        program = record(model, args, kwargs)
        names_in = _input_names(model, args, kwargs, input_names)
        names_out = list(output_names or [])
        names_out += [f"output_{i}" for i in range(len(names_out), len(program.outputs))]
        if len(names_out) > len(program.outputs):
            raise ValueError(f"onnx.export: {len(names_out)} output_names given for {len(program.outputs)} outputs")
        dyn = _dynamic(dynamic_axes, names_in + names_out)
        _record_again(program, model, args, kwargs, {i: dyn[n] for i, n in enumerate(names_in) if n in dyn})
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    proto = build(onnx, program, names_in, names_out, opset, dyn, export_params, keep_initializers_as_inputs)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        data = proto.SerializeToString()
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as fh:
                fh.write(data)
        else:
            f.write(data)
    return proto


def _record_again(program, model, args, kwargs, dyn_in: dict) -> None:
    """Record the forward a second time on other inputs (each input's values rolled by one place,
    its dynamic axes grown), and compare: what follows the dynamic axes is marked; a constant or
    param that changes with the inputs' values (computed outside the op table) raises."""
    from . import trace as T

    tensors: list = []
    T.flatten_tensors((args, kwargs), tensors)
    growth: dict = {}  # dim name -> how much its axes grow (axes of one name grow alike: the same batch)
    sizes, swap, named = {}, {}, {}
    for i, t in enumerate(tensors):
        axes = dyn_in.get(i, {})
        for axis in axes:
            if not 0 <= axis < t.ndim:
                raise ValueError(f"onnx.export: dynamic axis {axis} of input {i} is out of range for its shape "
                                 f"{tuple(t.shape)}")
        grown = _grown(t, {axis: growth.setdefault(name, len(growth) + 1) for axis, name in axes.items()})
        for axis, name in axes.items():
            pair = (t.shape[axis], grown.shape[axis])
            if named.setdefault(pair, name) != name:
                raise ValueError(f"onnx.export: dynamic axes {named[pair]!r} and {name!r} have the same size; give "
                                 "the example inputs different sizes on them (or one name)")
            if any(n == name and p != pair for p, n in named.items()):
                raise ValueError(f"onnx.export: the dynamic axes named {name!r} have different sizes in the "
                                 "example inputs")
            sizes.setdefault(pair, (i, axis))
        swap[id(t)] = B.xp.asarray(numpy.roll(grown.ravel(), 1).reshape(grown.shape))
    from ..tensor import Tensor

    def replace(a):
        if is_tensor(a):
            return Tensor._make(swap[id(a)], False, None) if id(a) in swap else a
        if isinstance(a, (tuple, list)):
            return type(a)(replace(b) for b in a)
        if isinstance(a, dict):
            return {k: replace(v) for k, v in a.items()}
        return a

    second = record(model, replace(args), replace(kwargs))
    mark_dynamic(program, second, sizes)


def _refs(step: Step) -> list:
    """The values a step reads: its operands, and the Refs among its params (index tensors)."""
    out = list(step.inputs)

    def walk(p):
        if isinstance(p, Ref):
            out.append(p)
        elif isinstance(p, tuple):
            for q in p:
                walk(q)

    walk(step.params)
    return out


def build(onnx, program: Program, names_in, names_out, opset, dyn, export_params, keep_initializers_as_inputs):
    """The ONNX model of ``program``."""
    g = _Graph(onnx, opset)
    h = onnx.helper
    names: dict = {}
    dyn_of: dict = {}  # value name -> its dims that follow the dynamic axes
    inputs, outputs = [], []

    def value_info(name, shape, dtype):
        axes = dyn.get(name, {})
        dims = [axes.get(i, n) for i, n in enumerate(shape)]
        return h.make_tensor_value_info(name, h.np_dtype_to_tensor_dtype(numpy.dtype(dtype)), dims)

    for pair, (i, axis) in program.sizes.items():
        g.sizes[pair] = (names_in[i], axis)
    dim_names = {pair: dyn[names_in[i]][axis] for pair, (i, axis) in program.sizes.items()}
    for i, (shape, dtype) in enumerate(program.inputs):
        names[Ref("input", i)] = names_in[i]
        g.meta[names_in[i]] = (shape, dtype)
        inputs.append(value_info(names_in[i], shape, dtype))
    used = {r.key for st in program.steps for r in _refs(st) if r.kind == "param"}
    used |= {r.key for r in program.outputs if r.kind == "param"}
    for pname, arr in program.params.items():
        if pname not in used:  # (num_batches_tracked, or a layer the forward skipped)
            continue
        names[Ref("param", pname)] = pname
        g.meta[pname] = (arr.shape, arr.dtype)
        if export_params:
            g.add_init(pname, arr)
        if keep_initializers_as_inputs or not export_params:
            inputs.append(value_info(pname, arr.shape, arr.dtype))

    def name_of(r: Ref):
        if r.kind == "const" and r not in names:
            v = r.value
            dims = program.const_dyn.get(r.key)
            if dims:  # a uniform constant shaped by the dynamic axes: expanded at run time
                names[r] = g.node("Expand", [g.const(v.flat[0], v.dtype), _shape_input(g, Step("const", [], (), v.shape, v.dtype, dyn=dims), v.shape)])
            else:
                names[r] = g.const(v)
            g.meta[names[r]] = (v.shape, v.dtype)
        return names[r]

    g.name_of = name_of
    for k, step in enumerate(program.steps):
        rule = RULES.get(step.op)
        g.where = f"{step.op}_{k}"
        if rule is None:
            why = UNMAPPED.get(step.op, "no row in the mapping table")
            raise RuntimeError(f"onnx.export: op {step.op!r} has no ONNX mapping ({why}); called at {step.site}")
        x = [name_of(r) for r in step.inputs]
        try:
            out = rule(g, step, x)
        except Unsupported as e:
            raise RuntimeError(f"onnx.export: {e}; called at {step.site}") from None
        names[Ref("step", k)] = out
        g.meta[out] = (step.shape, step.dtype)
        dyn_of[out] = step.dyn

    for r, oname in zip(program.outputs, names_out):
        src = name_of(r)
        g.nodes.append(h.make_node("Identity", [src], [oname], name=f"/output/{oname}"))
        shape, dtype = g.meta[src]
        if r.kind == "input":
            dyn_of[src] = {a: p for p, (i, a) in program.sizes.items() if i == r.key}
        axes = dyn.setdefault(oname, {})
        for i, pair in dyn_of.get(src, {}).items():  # an output dim that follows a dynamic axis is dynamic
            axes.setdefault(i, dim_names.get(pair, f"{oname}_dynamic_axes_{i + 1}"))
        outputs.append(value_info(oname, shape, dtype))

    graph = h.make_graph(g.nodes, "minigrad", inputs, outputs, g.inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)], producer_name="minigrad")
    model.ir_version = min(model.ir_version, 10)  # (runtimes lag the onnx package's newest IR)
    onnx.checker.check_model(model)
    return model

