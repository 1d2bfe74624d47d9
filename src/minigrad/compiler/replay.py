"""``CompiledFunction``: guards, the cache of plans, recording, checking and replay; ``explain``."""

from __future__ import annotations

import sys
import warnings
import weakref

import numpy as _np

from ..autograd import graph as _graph
from ..ops import registry as _registry
from ..tensor import Tensor
from .plan import Plan
from .trace import GraphBreak, Ref, flatten_tensors, record

_make = Tensor._make
_state = _graph._state

#: Plans (and eager-only records) kept per compiled function: the next guard set beyond this
#: runs eagerly, with one warning (torch.compile's ``recompile_limit`` is also 8).
CACHE_LIMIT = 8


class CompileWarning(UserWarning):
    """A compiled call runs eagerly instead (a graph break, a check that failed, too many plans)."""


class GraphBreakError(RuntimeError):
    """Under ``fullgraph=True``: the call cannot be recorded as one program (the message names
    what and the user's line)."""


def _sig(obj):
    """What the guard compares for one argument: a tensor's shape, strides, dtype and requires_grad; a
    Python number, string or None by value; containers by their items; anything else by identity."""
    if isinstance(obj, Tensor):
        d = obj._data
        return (d.shape, d.strides, d.dtype, obj._rg, obj.__class__)
    if obj is None or obj.__class__ in (bool, int, float, str):
        return (obj.__class__, obj)
    if obj.__class__ in (tuple, list):
        return (obj.__class__, tuple([_sig(x) for x in obj]))
    if obj.__class__ is dict:
        return (dict, tuple([(k, _sig(v)) for k, v in obj.items()]))
    return ("id", id(obj))


class _Entry:
    """One guard set's state: the recorded trace, then (once a second recording agreed) the plan;
    or eager for good (a graph break)."""

    __slots__ = ("trace", "plan", "bplan", "op", "eager", "params", "modules", "why")

    def __init__(self, trace) -> None:
        self.trace = trace
        self.plan = None
        self.bplan = None
        self.op = None
        self.eager = trace.broken is not None
        self.why = trace.broken
        self.params = [(w, w()._data.shape, w()._data.strides, w()._data.dtype, w()._rg) for w in trace.params] \
            if not self.eager else []
        self.modules = [(weakref.ref(m), m.training) for m in trace.modules] if not self.eager else []

    def matches(self) -> list | None:
        """The parameter tensors when this entry's guards hold now, else None."""
        ext = []
        for w, shape, strides, dtype, rg in self.params:
            t = w()
            if t is None or t._data.shape != shape or t._data.strides != strides or t._data.dtype is not dtype \
                    or t._rg != rg:
                return None
            ext.append(t)
        for w, training in self.modules:
            m = w()
            if m is None or m.training != training:
                return None
        return ext


class CompiledFunction:
    """``minigrad.compile(fn)``: calls ``fn`` eagerly while recording it, checks the record on
    a second call, then replays the plan on every call whose guards match (see the package
    docstring). ``explain(*args)`` prints the plan for those arguments."""

    def __init__(self, fn, *, fullgraph: bool = False, verify: bool = True, reuse: bool = True,
                 name: str | None = None, limit: int = CACHE_LIMIT) -> None:
        self.fn = fn
        self.name = name
        self.limit = limit
        self.fullgraph = fullgraph
        self.verify = verify
        self.reuse = reuse
        self._cache: dict = {}
        self._count = 0
        self._warned_limit = False
        self.__wrapped__ = fn
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(self, attr, getattr(fn, attr))
            except (AttributeError, TypeError):
                pass

    def __call__(self, *args, **kwargs):
        if _registry.TRACE is not None:  # inside another recording: the outer one records our ops
            return self.fn(*args, **kwargs)
        key = (_state.enabled, _sig(args), _sig(kwargs) if kwargs else None)
        entries = self._cache.get(key)
        if entries is not None:
            for entry in entries:
                if entry.eager:
                    if not entry.params and not entry.modules:
                        return self.fn(*args, **kwargs)
                    continue
                ext = entry.matches()
                if ext is None:
                    continue
                if entry.plan is not None:
                    inputs: list = []
                    flatten_tensors((args, kwargs), inputs)
                    if entry.bplan is None:
                        return entry.plan.run(inputs, ext)
                    result, saved = entry.plan.run(inputs, ext)
                    return _attach(entry, result, inputs, ext, saved)
                return self._check(entry, args, kwargs)
        else:
            entries = self._cache[key] = []
        if self._count >= self.limit:
            if not self._warned_limit:
                self._warned_limit = True
                warnings.warn(f"minigrad.compile: {self._name()} has {self.limit} plans already "
                              "(recompile_limit): further guard sets run eagerly", CompileWarning,
                              stacklevel=2)
            return self.fn(*args, **kwargs)
        result, trace = self._record(args, kwargs)
        entry = _Entry(trace)
        entries.append(entry)
        self._count += 1
        if entry.eager:
            self._warn(entry.why)
        elif not self.verify:
            self._build(entry, trace)
        return result

    def _build(self, entry: _Entry, trace) -> None:
        entry.trace = trace
        entry.plan = Plan(trace, self.reuse)
        if trace.backward is not None:
            entry.bplan = Plan(trace, self.reuse, part="backward")
            entry.op = _compiled_op(self._name())

    def _name(self) -> str:
        return self.name or getattr(self.fn, "__qualname__", None) or type(self.fn).__name__

    def _record(self, args, kwargs):
        try:
            return record(self.fn, args, kwargs, fullgraph=self.fullgraph, name=self._name())
        except GraphBreak as e:
            raise GraphBreakError(f"minigrad.compile(fullgraph=True): {e}") from None

    def _warn(self, why: str) -> None:
        warnings.warn(f"minigrad.compile: {why}; this call (and later ones with the same guards) run eagerly",
                      CompileWarning, stacklevel=3)

    def _check(self, entry: _Entry, args, kwargs):
        """The second call with the same guards: record again; the two records must be the same
        program with the same constants (else some value the recorder baked depends on the data)."""
        result, trace = self._record(args, kwargs)
        diff = trace.broken or difference(entry.trace, trace)
        if diff is not None:
            entry.eager = True
            entry.why = diff if trace.broken else (
                f"the second recording of {self._name()} differs from the first ({diff}): a value the recorder "
                "baked in depends on the data (raw numpy code on a tensor's data, or a Python number that "
                "changed)")
            entry.params, entry.modules = [], []
            self._warn(entry.why)
            return result
        self._build(entry, trace)
        return result

    # -- reading the plan --------------------------------------------------------------------------
    def explain(self, *args, file=None, **kwargs) -> None:
        """Print the plan for these arguments, one line per array op (like JAX's ``make_jaxpr``):
        phase (forward / backward / update), ``buffer:dtype[shape] = op(inputs, params)``, and
        where a result is computed into a dead buffer (``# into b3's buffer``). If no call with
        these guards has been recorded yet, this records one (the call runs, as a first call does)."""
        plan = self._plan_for(args, kwargs)
        out = file or sys.stdout
        if plan is None:
            print(f"{self._name()}: no plan ({self._why(args, kwargs)})", file=out)
            return
        trace = plan.trace
        ins = ", ".join(f"in{i}:{t._data.dtype}{list(t._data.shape)}" for i, t in enumerate(trace.inputs))
        ps = ", ".join(f"p{i}:{w()._data.dtype}{list(w()._data.shape)}" for i, w in enumerate(trace.params))
        print(f"plan of {self._name()}: {len(trace.steps)} steps, {plan.reused} results computed into dead "
              f"buffers", file=out)
        print(f"  inputs: {ins or '-'}", file=out)
        print(f"  params: {ps or '-'}", file=out)
        for i, c in enumerate(trace.consts):
            if c.size <= 4:
                print(f"  c{i} = {c.tolist()!r} ({c.dtype})", file=out)
            else:
                print(f"  c{i} = array {c.dtype}{list(c.shape)}", file=out)
        for line in plan.lines:
            print("  " + line, file=out)
        print(f"  return {_show_result(trace.outputs)}", file=out)
        if trace.backward is not None:
            bplan = Plan(trace, self.reuse, part="backward")
            seed = trace.seed.name()
            print(f"backward of {trace.grad_output.name()} (run when autograd reaches it; {seed} is its incoming "
                  f"gradient): {len(trace.backward)} steps", file=out)
            for line in bplan.lines:
                print("  " + line, file=out)
            grads = ", ".join(f"{r.name()}: {'-' if g is None else g.name()}" for r, g in trace.grad_inputs)
            print(f"  gradients {{{grads}}}", file=out)

    def _plan_for(self, args, kwargs):
        key = (_state.enabled, _sig(args), _sig(kwargs) if kwargs else None)
        for entry in self._cache.get(key, ()):
            if entry.plan is not None and entry.matches() is not None:
                return entry.plan
            if not entry.eager and entry.matches() is not None:
                return Plan(entry.trace, self.reuse)
        self(*args, **kwargs)
        for entry in self._cache.get(key, ()):
            if entry.plan is not None:
                return entry.plan
            if not entry.eager:
                return Plan(entry.trace, self.reuse)
        return None

    def _why(self, args, kwargs) -> str:
        key = (_state.enabled, _sig(args), _sig(kwargs) if kwargs else None)
        for entry in self._cache.get(key, ()):
            if entry.why:
                return entry.why
        return "these arguments run eagerly"

    def __repr__(self) -> str:
        return f"<minigrad.compile of {self._name()}>"


def _show_result(obj) -> str:
    if obj.__class__ is Ref:
        return obj.name()
    if isinstance(obj, (tuple, list)):
        return "(" + ", ".join(_show_result(x) for x in obj) + ")"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {_show_result(v)}" for k, v in obj.items()) + "}"
    return repr(obj)


# -- a compiled forward inside autograd -------------------------------------------------------------

def _compiled_op(name: str):
    """The op of the one node a replayed forward hands autograd: its VJP runs the recorded
    backward plan (built without a table row: it is not a registry op)."""
    from ..ops.registry import Op

    def vjp_all(g, out, inputs, params, mask):
        inputs_, params_, saved, bplan = params[0]
        if g.__class__ is not _np.ndarray:
            raise RuntimeError(f"minigrad.compile: the backward of the compiled {name} runs on arrays only "
                               "(create_graph=True through a compiled forward is not supported)")
        grads = bplan.run(inputs_ + [_make(g, False, None)], params_, saved)
        return [gr if m else None for gr, m in zip(grads, mask)]

    op = object.__new__(Op)
    op.name = f"compiled {name}"
    op.forward = None
    op.vjps = None
    op.vjp_all = vjp_all
    op.save_inputs = op.save_out = op.saves = False
    op.differentiable = True
    op.backward_name = "CompiledFunctionBackward"
    op.dtype_rule = "same"
    op.arity = -1
    op.fn = None
    op.array_safe = True
    op.number_operands = False
    op.array_backward = None
    op.table = __name__
    return op


def _attach(entry: _Entry, result, inputs: list, params: list, saved: tuple):
    """``result`` with the output that needs autograd replaced by one on a node whose backward
    is the recorded backward plan."""
    trace = entry.trace
    leaves = tuple([inputs[r.index] if r.kind == "input" else params[r.index] for r, _ in trace.grad_inputs])
    made: list = []

    def swap(obj, ref):
        if ref is trace.grad_output:
            if not made:
                made.append(_registry.record(entry.op, leaves, ((inputs, params, saved, entry.bplan),), obj._data))
            return made[0]
        if isinstance(ref, (tuple, list)):
            out = [swap(o, r) for o, r in zip(obj, ref)]
            return tuple(out) if isinstance(obj, tuple) else out
        if isinstance(ref, dict):
            return {k: swap(obj[k], ref[k]) for k in ref}
        return obj
    return swap(result, trace.outputs)


# -- comparing two records ---------------------------------------------------------------------------

def difference(a, b) -> str | None:
    """Where two traces of one function differ (None if they are the same program with the
    same constants and parameters)."""
    if len(a.steps) != len(b.steps):
        return f"{len(a.steps)} steps, then {len(b.steps)}"
    if len(a.consts) != len(b.consts) or len(a.params) != len(b.params):
        return "different constants or parameters"
    for wa, wb in zip(a.params, b.params):
        if wa() is not wb():
            return "different parameter tensors"
    for i, (ca, cb) in enumerate(zip(a.consts, b.consts)):
        if ca.dtype != cb.dtype or ca.shape != cb.shape or not _np.array_equal(ca, cb, equal_nan=ca.dtype.kind in "fc"):
            return f"constant c{i} {ca.dtype}{list(ca.shape)} changed"
    if (a.backward is None) != (b.backward is None):
        return "a backward recorded once"
    if a.backward is not None:
        if len(a.backward) != len(b.backward) or not _same([g for _, g in a.grad_inputs],
                                                           [g for _, g in b.grad_inputs]):
            return "a different backward"
        diff = _steps_difference(a.backward, b.backward)
        if diff:
            return "backward " + diff
    diff = _steps_difference(a.steps, b.steps)
    if diff:
        return diff
    if not _same(a.outputs, b.outputs):
        return "a different result structure"
    return None


def _steps_difference(sa_list, sb_list) -> str | None:
    for k, (sa, sb) in enumerate(zip(sa_list, sb_list)):
        if sa.kind != sb.kind or sa.name != sb.name or sa.fn is not sb.fn or sa.phase != sb.phase:
            return f"step {k}: {sa.name}, then {sb.name}"
        if not _same(sa.inputs, sb.inputs) or not _same(sa.params, sb.params) or not _same(sa.kwargs, sb.kwargs):
            return f"step {k} ({sa.name}): different operands or parameters"
        if not _same(sa.out, sb.out):
            return f"step {k} ({sa.name}): a different result"
        if sa.kind == "call" and sa.target is not sb.target:
            return f"step {k} ({sa.name}): another object"
        if sa.kind == "grad" and not _same(sa.target, sb.target):
            return f"step {k}: .grad stored into another tensor"
    return None


def _same(x, y) -> bool:
    if x.__class__ is Ref:
        return (y.__class__ is Ref and x.kind == y.kind and x.index == y.index and x.shape == y.shape
                and x.dtype == y.dtype)
    if isinstance(x, _np.ndarray):
        return (isinstance(y, _np.ndarray) and x.dtype == y.dtype and x.shape == y.shape
                and _np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
    if isinstance(x, (tuple, list)):
        return type(x) is type(y) and len(x) == len(y) and all(_same(p, q) for p, q in zip(x, y))
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    if type(x) is not type(y):
        return False
    if callable(x) or x.__class__ is weakref.ref:
        return x is y
    if type(x).__eq__ is object.__eq__:
        return True  # an op's per-call scratch object (conv2d's ``_Saved``): a new one per call
    try:
        return bool(x == y)
    except Exception:  # an object without a usable ==: the same object
        return x is y
