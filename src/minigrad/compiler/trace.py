"""Recording one call at op level: the ``Trace`` that ``minigrad.compile`` (and ONNX export) read.

While a call is recorded, every op caller in ``ops/registry.py`` hands the recorder its op,
its operands, its params and the output array right after the forward ran (``registry.TRACE``:
one global test per op when nothing records). The backward walk runs its VJPs on Tensors while
recording (``autograd/engine.py``), so the backward's ops pass the same hook, in the order the
walk ran them. What works on raw arrays in Python is recorded as one opaque step replayed by
calling the same code: the optimizers' ``step``/``zero_grad``, ``Module.zero_grad``, the
schedulers' ``step`` (``kind="call"``); the random draws of ``minigrad.random`` and dropout's
mask (``kind="random"``: replay draws fresh numbers from the same generator, in the same order);
the walk's stores into ``.grad`` (``kind="grad"``: replay calls the engine's ``_store_grad``).

The data format (a ``Trace``)
-----------------------------
``trace.steps`` is a list of ``Step`` in call order. Each step has

- ``kind``: ``"op"`` (a registry op), ``"random"``, ``"call"``, ``"grad"`` or ``"walk"`` (a backward
  walk starts: ``inputs`` are its seeds);
- ``name``: the registry name for ``"op"`` (``"mul"``, ``"matmul"``, ``"getitem"``...), else the
  function's qualified name (``"SGD.step"``, ``"bernoulli_scalar"``, ``"store_grad"``);
- ``fn``: the ``Op`` row (``"op"``) or the Python function replay calls;
- ``inputs``: a tuple of ``Ref`` (the op's operands in order; the walk's seeds; the gradient stored);
- ``params``: the op's params as the forward received them, with each array that is a recorded
  value replaced by its ``Ref`` (nested in tuples and lists too); other arrays there are constants;
  for ``"random"``/``"call"`` steps, the positional arguments after the generator / the object;
- ``kwargs``: keyword arguments (``"call"`` steps), else ``{}``;
- ``target``: for ``"grad"``, the ``Ref`` of the tensor whose ``.grad`` is stored; for ``"call"``,
  the object whose method is called (an optimizer, a module, a scheduler); for ``"random"``, the
  generator;
- ``out``: the ``Ref`` of the result (None when there is none);
- ``phase``: ``"forward"``, ``"backward"`` (inside a backward walk) or ``"update"`` (opaque
  calls: optimizer, ``zero_grad``, scheduler).

A ``Ref`` names one value: ``kind`` is ``"input"`` (the ``index``-th tensor among the call's
flattened arguments, ``trace.inputs[index]``), ``"param"`` (a tensor that existed before the call:
a parameter, a buffer, a tensor in a closure; ``trace.params[index]`` is the Tensor),
``"const"`` (an array made during the call without a recorded op, such as a Python number's
0-d array or a backward seed: ``trace.consts[index]`` is the array) or ``"buf"`` (the output of
step ``trace.steps[index]``... see ``Ref.step``; buffers are numbered in order of creation). Every
Ref carries the ``shape`` and ``dtype`` the value had. ``trace.outputs`` is the call's result as a
structure of Refs (``Trace.output_refs()`` lists them).

A call that returns a tensor needing autograd without running a backward (a module's forward)
also carries the walk from that tensor: ``trace.backward`` (steps, phase ``"backward"``),
``trace.seed`` (the incoming gradient, a Ref of kind ``"input"`` numbered after the inputs),
``trace.grad_output`` and ``trace.grad_inputs`` ([(leaf Ref, its gradient's Ref or None)]);
otherwise ``trace.backward`` is None. ONNX export reads ``trace.steps`` only.

Graph breaks
------------
What the recorder cannot turn into a replayable program stops the recording (``GraphBreak``):
Python reading a tensor's value (``item``, ``bool``, ``float``, ``int``, ``tolist``, ``numpy``,
printing), boolean-mask indexing (its shape depends on the data), an in-place change of a
recorded value outside an opaque step, a tensor hook, a custom ``autograd.Function``, an array
derived from a recorded value by raw numpy code the recorder did not see.
"""

from __future__ import annotations

import os
import sys
import weakref

from .. import backend as B
from ..autograd import engine as _engine
from ..autograd import graph as _graph
from ..ops import registry as _registry
from ..tensor import Tensor

_ndarray = B.ndarray
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GraphBreak(Exception):
    """Raised inside the recorded call where it cannot be recorded (internal: ``compile``
    turns it into ``CompileWarning``/eager, or ``GraphBreakError`` under ``fullgraph=True``)."""


class Ref:
    """One value of a trace: ``kind`` (``"input"``, ``"param"``, ``"const"``, ``"buf"``), its
    ``index`` in that kind, its ``shape`` and ``dtype``; a buffer also knows the ``step`` that
    made it and its ``storage`` (the buffer number owning its memory: itself, or the value it
    is a view of; None when that is not a recorded buffer)."""

    __slots__ = ("kind", "index", "shape", "dtype", "step", "storage", "owner", "root", "strides")

    def __init__(self, kind: str, index: int, shape, dtype, step: int = -1) -> None:
        self.kind = kind
        self.index = index
        self.shape = tuple(shape)
        self.dtype = dtype
        self.step = step
        self.storage = None
        self.owner = False  # a buffer that owns its memory (not a view)
        self.root = None  # for a view of an input, a parameter or a constant: that value's Ref
        self.strides = None  # a buffer's memory layout when recorded (buffer reuse keeps it)

    def name(self) -> str:
        """``b3``, ``in0``, ``p1``, ``c2``: how ``explain`` prints it."""
        return {"buf": "b", "input": "in", "param": "p", "const": "c"}[self.kind] + str(self.index)

    def __repr__(self) -> str:
        return f"{self.name()}:{self.dtype}{list(self.shape)}"


class Step:
    """One recorded call (see the module docstring for its fields)."""

    __slots__ = ("kind", "name", "fn", "inputs", "params", "kwargs", "target", "out", "phase")

    def __init__(self, kind, name, fn, inputs, params, out, phase, kwargs=None, target=None) -> None:
        self.kind = kind
        self.name = name
        self.fn = fn
        self.inputs = inputs
        self.params = params
        self.kwargs = kwargs or {}
        self.target = target
        self.out = out
        self.phase = phase

    def __repr__(self) -> str:
        return f"<{self.phase} {self.kind} {self.name} {list(self.inputs)} -> {self.out}>"


class TensorArg:
    """In a ``"call"`` step's params: the tensor object (not its array) of an input or parameter
    ``ref``, which the called function receives (it writes into the tensor)."""

    __slots__ = ("ref",)

    def __init__(self, ref: Ref) -> None:
        self.ref = ref

    def __eq__(self, other) -> bool:
        return (other.__class__ is TensorArg and self.ref.kind == other.ref.kind
                and self.ref.index == other.ref.index)

    __hash__ = None

    def __repr__(self) -> str:
        return f"tensor {self.ref.name()}"


class Trace:
    """The record of one call: ``steps``, ``inputs`` (the argument tensors), ``params`` (tensors
    that existed before the call), ``consts`` (arrays), ``outputs`` (the result, Refs in place of
    tensors), ``modules`` (modules called, for the training-mode guard) and ``broken`` (the graph
    break's message, or None)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.inputs: list = []
        self.params: list = []
        self.consts: list = []
        self.buffers: list[Ref] = []
        self.outputs = None
        self.modules: list = []
        self.broken: str | None = None
        # A call that returns a tensor needing autograd and runs no backward (a module's forward):
        # the recorded walk from it (``backward``: steps), its seed (``seed``: a Ref of kind
        # "input" numbered after the call's inputs), the output it starts from (``grad_output``)
        # and each leaf's gradient (``grad_inputs``: [(leaf Ref, gradient Ref or None)]).
        self.backward: list | None = None
        self.seed = None
        self.grad_output = None
        self.grad_inputs: list = []

    def output_refs(self) -> list:
        out: list = []
        _collect(self.outputs, Ref, out)
        return out

    def __repr__(self) -> str:
        return f"<Trace: {len(self.steps)} steps, {len(self.inputs)} inputs, {len(self.params)} params>"


def _collect(obj, cls: type, out: list) -> None:
    """Append the instances of ``cls`` in ``obj`` (nested tuples, lists, dict values) to ``out``, in order."""
    if isinstance(obj, cls):
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _collect(x, cls, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _collect(x, cls, out)


def user_site() -> str:
    """``file:line: source`` of the innermost frame outside the minigrad package (the user's line)."""
    f = sys._getframe(1)
    while f is not None:
        path = os.path.abspath(f.f_code.co_filename)
        if not path.startswith(_PKG_DIR + os.sep):
            import linecache

            src = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
            return f"{f.f_code.co_filename}:{f.f_lineno}" + (f": {src}" if src else "")
        f = f.f_back
    return "<unknown>"


# Random sources: module-level functions replay calls with the same generator (fresh draws).
_RANDOM_FUNCS = ("uniform", "normal", "random_from_to", "random_full", "randperm", "bernoulli_scalar",
                 "bernoulli_tensor", "exponential", "geometric", "cauchy", "log_normal",
                 "multinomial_with_replacement")
# Tensor methods whose result Python reads: a graph break.
_READS = {"item": "`.item()`", "tolist": "`.tolist()`", "numpy": "`.numpy()`", "__bool__": "`bool(tensor)`",
          "__float__": "`float(tensor)`", "__int__": "`int(tensor)`", "__index__": "using a tensor as an index",
          "__repr__": "printing a tensor", "__str__": "printing a tensor", "__format__": "formatting a tensor", "__array__": "`numpy.asarray(tensor)`",
          "__complex__": "`complex(tensor)`"}


class Recorder:
    """Records one call into a ``Trace``: ``with Recorder(trace, inputs) as r: fn(...)``.

    Installs the op hook and the recording wrappers for the duration (this thread's ops and
    every other thread's: record from one thread at a time), and removes them at the end or at
    the first graph break (the call then simply finishes eagerly). ``fullgraph``: a graph break
    raises ``GraphBreak`` out of the call instead.
    """

    def __init__(self, trace: Trace, inputs: list, fullgraph: bool = False, fn_name: str = "fn") -> None:
        self.trace = trace
        self.fullgraph = fullgraph
        self.fn_name = fn_name
        self.known: dict = {}  # id(array) -> Ref
        self.keep: list = []  # the arrays behind ``known`` (so ids stay unique while recording)
        self.unknown_tensors: dict = {}  # id(array) -> (weakref to its tensor, array), resolved at the end
        self.phase = "forward"
        self.paused = 0
        self.walks = 0
        self.capturing = False
        self.holders: dict = {}  # param candidate -> more tensors seen holding its array (aliases)
        self.patches: list = []
        self.active = False
        self.modules: dict = {}
        for i, t in enumerate(inputs):
            trace.inputs.append(t)
            if id(t._data) not in self.known:
                self._remember(t._data, Ref("input", i, t._data.shape, t._data.dtype))

    # -- installing and removing the hooks -------------------------------------------------------
    def __enter__(self) -> Recorder:
        if _registry.TRACE is not None:
            raise RuntimeError("minigrad.compile: a call is already being recorded (nested or from another thread)")
        self._install()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Remove every hook and wrapper (idempotent)."""
        if not self.active:
            return
        self.active = False
        _registry.TRACE = None
        for owner, name, old in reversed(self.patches):
            if old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)
        self.patches.clear()

    def _patch(self, owner, name: str, new) -> None:
        old = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name)
        self.patches.append((owner, name, old))
        setattr(owner, name, new)

    def _install(self) -> None:
        from .. import random as R
        from ..nn import functional as F
        from ..nn.module import Module
        from ..ops import indexing as I
        from ..optim import lr_scheduler as S
        from ..optim.optimizer import Optimizer

        self.active = True
        _registry.TRACE = self.on_op
        self.orig_walk = _engine.run_backward
        self._patch(_engine, "run_backward", self._wrap_walk(_engine.run_backward))
        self._patch(_engine, "_store_grad", self._wrap_store(_engine._store_grad))
        for name in _RANDOM_FUNCS:
            self._patch(R, name, self._wrap_random(getattr(R, name), name))
        self._patch(F, "_dropout_noise", self._wrap_random(F._dropout_noise, "dropout_noise", gen=False))
        self._patch(F, "_update_running_stats", self._wrap_opaque(F._update_running_stats, "update_running_stats"))
        for name, what in _READS.items():
            if name in Tensor.__dict__:
                self._patch(Tensor, name, self._wrap_read(Tensor.__dict__[name], what))
        self._patch(Tensor, "_bump", self._wrap_bump(Tensor.__dict__["_bump"]))
        self._patch(Tensor, "register_hook", self._wrap_break(Tensor.__dict__["register_hook"],
                                                             "`Tensor.register_hook`"))
        self._patch(I, "normalize_index", self._wrap_index(I.normalize_index))
        self._patch(I, "arith_inplace", self._wrap_arith_inplace(I.arith_inplace))
        self._patch(I, "inplace", self._wrap_inplace(I.inplace))
        self._patch(I, "_write", self._wrap_write(I._write))
        self._patch(I, "fill", self._wrap_fill(I.fill))
        self._patch(Tensor, "grad", self._wrap_grad_slot(Tensor.__dict__["grad"]))
        data = Tensor.__dict__["data"]
        self._patch(Tensor, "data", property(data.fget, self._wrap_break(data.fset, "assigning `Tensor.data`")))
        self._patch(Module, "__call__", self._wrap_module_call(Module.__dict__["__call__"]))
        self._patch(Module, "zero_grad", self._wrap_call(Module.__dict__["zero_grad"], "Module.zero_grad"))
        for cls in _subclasses(Optimizer):
            for name in ("step", "zero_grad"):
                if name in cls.__dict__:
                    self._patch(cls, name, self._wrap_call(cls.__dict__[name], f"{cls.__name__}.{name}"))
        for name in ("manual_seed", "seed", "set_state"):  # the generator's state set in the call
            self._patch(R.Generator, name, self._wrap_call(R.Generator.__dict__[name], f"Generator.{name}"))
        for cls in _subclasses(S.LRScheduler):
            if "step" in cls.__dict__:
                self._patch(cls, "step", self._wrap_call(cls.__dict__["step"], f"{cls.__name__}.step"))

    # -- graph breaks --------------------------------------------------------------------------
    def graph_break(self, what: str) -> None:
        """Stop recording: ``what`` cannot be recorded. Raises under fullgraph; else the call goes
        on eagerly and the trace is marked broken."""
        msg = f"graph break in {self.fn_name}: {what} at {user_site()}"
        self.trace.broken = msg
        self.stop()
        if self.fullgraph:
            raise GraphBreak(msg)

    # -- the op hook -----------------------------------------------------------------------------
    def on_op(self, op, operands, params, out) -> None:
        if self.paused:
            return
        inputs = tuple([self._ref(x if x.__class__ is _ndarray else x._data, x) for x in operands])
        if self.trace.broken is not None:
            return
        params = self._params(params) if params else ()
        if self.trace.broken is not None:
            return
        self._step("op", op.name, op, inputs, params, out)

    def _step(self, kind, name, fn, inputs, params, out, kwargs=None, target=None) -> Ref | None:
        trace = self.trace
        n = len(trace.steps)
        ref = None
        if out is not None:
            ref = Ref("buf", len(trace.buffers), out.shape, out.dtype, n)
            ref.strides = out.strides
            ref.owner = out.base is None
            r = self._known_base(out)
            root = out if r is None and out.base is None else None
            same = self.known.get(id(out))
            if same is not None:  # the op handed back an array already recorded (a no-op cast, asarray)
                ref.owner = False
                ref.storage = same.storage if same.kind == "buf" else -1 - _kind_code(same)
                ref.root = same.root if same.kind == "buf" else same
            elif root is out:
                ref.storage = ref.index
            elif r is not None:
                ref.storage = r.storage if r.kind == "buf" else -1 - _kind_code(r)
                ref.root = r.root if r.kind == "buf" else r
            else:
                ref.storage = ref.index  # a view of an unrecorded temporary: its own storage
            trace.buffers.append(ref)
            self._remember(out, ref)
        trace.steps.append(Step(kind, name, fn, inputs, params, ref, self.phase, kwargs, target))
        return ref

    def _known_base(self, arr):
        """The Ref of the recorded array whose memory ``arr`` views (following ``.base`` through
        numpy's views and as_strided's intermediate objects), or None."""
        b = arr.base
        while b is not None:
            r = self.known.get(id(b))
            if r is not None:
                return r
            b = getattr(b, "base", None)
        return None

    def _remember(self, arr, ref: Ref) -> None:
        self.known[id(arr)] = ref
        self.keep.append(arr)
        if ref.kind != "buf":
            ref.storage = -1 - _kind_code(ref)

    def _ref(self, arr, tensor=None) -> Ref:
        """The Ref of an operand's array: recorded, or new (a parameter or a constant)."""
        r = self.known.get(id(arr))
        if r is not None:
            if r.kind == "param" and tensor is not None and tensor.__class__ is not _ndarray \
                    and r.index in self.unknown_tensors:
                self.holders.setdefault(r.index, []).append(weakref.ref(tensor))  # another tensor on it
            return r
        if arr.base is not None and self._known_base(arr) is not None:
            self.graph_break(f"an array derived from a recorded value outside the recorded ops ({arr.dtype}"
                             f"{list(arr.shape)}: raw numpy code on a tensor's data)")
        if tensor is not None and tensor.__class__ is not _ndarray:
            # A tensor the recorder has not seen: made before the call (a parameter) or during it
            # by code the recorder does not see (a constant); told apart at the end (alive or not).
            trace = self.trace
            ref = Ref("param", len(trace.params), arr.shape, arr.dtype)
            trace.params.append(weakref.ref(tensor))
            self.unknown_tensors[ref.index] = (arr, arr.copy())
        else:
            ref = Ref("const", len(self.trace.consts), arr.shape, arr.dtype)
            self.trace.consts.append(arr.copy())  # its value now (the array itself may change later)
        self._remember(arr, ref)
        return ref

    def _params(self, params):
        """``params`` with each array replaced by its Ref where it is a recorded value."""
        out = []
        for p in params:
            if p.__class__ is _ndarray:
                r = self.known.get(id(p))
                if r is None and p.base is not None and id(p.base) in self.known:
                    self.graph_break("an index or parameter array derived from a recorded value by raw numpy "
                                     "code (a data-dependent op)")
                out.append(p if r is None else r)
            elif isinstance(p, (tuple, list)) and p and not isinstance(p[0], (int, float, type(None))):
                q = self._params(p)
                out.append(tuple(q) if isinstance(p, tuple) else list(q))
            elif isinstance(p, (tuple, list)):
                q = self._params(p) if any(x.__class__ is _ndarray or isinstance(x, (tuple, list)) for x in p) \
                    else p
                out.append(tuple(q) if isinstance(p, tuple) else list(q) if isinstance(q, list) else q)
            else:
                if isinstance(p, Tensor):
                    self.graph_break("an op given a Tensor as a parameter")
                out.append(p)
        return tuple(out)

    def finish(self, result) -> None:
        """Resolve the tensors first seen during the call (alive now: parameters; else constants),
        and record the result's structure with Refs in place of tensors."""
        trace = self.trace
        results: list = []
        flatten_tensors(result, results)
        needs = [t for t in results if t._rg and t.grad_fn is not None] if not self.walks else []
        n0 = len(trace.steps)
        leaves: list = []
        if needs:
            if len(needs) > 1 or any(t is not needs[0] for t in needs):
                self.graph_break("the function returns several tensors that require grad and runs no backward() "
                                 "(compile the whole training step, or call it under no_grad)")
                return
            leaves = self._record_backward(needs[0])
            if not self.active:
                return
        owners = self._owners()
        for i, (arr, value) in self.unknown_tensors.items():
            t = trace.params[i]()
            if t is None or t._data is not arr:  # seen through a temporary alias (a detach)?
                for w in self.holders.get(i, ()):
                    if w() is not None and w()._data is arr:
                        t = w()
                        break
                else:
                    t = owners.get(id(arr))
                if t is not None and t._data is arr:
                    trace.params[i] = weakref.ref(t)
            if t is None or t._data is not arr:
                # made during the call (or rebound since): its value when first used, as a constant
                trace.params[i] = None
                r = self.known[id(arr)]
                r.kind = "const"
                r.index = len(trace.consts)
                trace.consts.append(value)
        for step in trace.steps:  # an in-place write into a constant: nothing outside sees it
            if step.kind in ("inplace", "write", "fill") and step.target is not None and step.target.kind == "const":
                step.target = None
        # renumber the parameters that remain
        kept = [i for i, w in enumerate(trace.params) if w is not None]
        remap = {old: new for new, old in enumerate(kept)}
        for r in self.known.values():
            if r.kind == "param":
                r.index = remap[r.index]
        trace.params = [trace.params[i] for i in kept]
        trace.outputs = self._outputs(result)
        trace.modules = list(self.modules.values())
        if needs:
            trace.backward = trace.steps[n0:]
            del trace.steps[n0:]
            trace.grad_output = self.known[id(needs[0]._data)]
            trace.grad_inputs = [(r, g) for r, g in leaves if r.kind in ("input", "param")]
        by_id = {id(t): t for t in results}
        for step in trace.steps:
            if step.kind == "grad" and step.target.__class__ is tuple:
                t = step.target[1]()
                step.target = ("output", self.known[id(t._data)]) if t is not None and id(t) in by_id else None
        self.keep.clear()

    def _owners(self) -> dict:
        """id(array) -> tensor, for the parameters and buffers of the modules called and the
        parameters of the optimizers called (a parameter read through a temporary alias, such as
        ``p.detach()``, is still that parameter)."""
        owners: dict = {}
        for m in self.modules.values():
            for t in list(m.parameters()) + list(m.buffers()):
                owners[id(t._data)] = t
        for step in self.trace.steps:
            for group in getattr(step.target, "param_groups", ()) if step.kind == "call" else ():
                for t in group["params"]:
                    owners[id(t._data)] = t
        return owners

    def _record_backward(self, out) -> list:
        """The call returns ``out``, which needs autograd, and runs no backward: record the walk
        from ``out`` to every input and parameter that requires grad (as ``autograd.grad`` with a
        seed of ones, storing nothing), so the replay can hand autograd one node for the whole
        forward. Returns [(the leaf's Ref, its gradient's Ref or None)]."""
        trace = self.trace
        leaves = [(Ref("input", i, t._data.shape, t._data.dtype), t) for i, t in enumerate(trace.inputs) if t._rg]
        for w in trace.params:
            t = w()
            if t is not None and t._rg and t.grad_fn is None and self.known[id(t._data)].kind == "param":
                leaves.append((self.known[id(t._data)], t))
        if not leaves:
            return []
        d = out._data
        seed_arr = B.xp.ones(d.shape, d.dtype)
        seed = Tensor._make(seed_arr, False, None)
        trace.seed = Ref("input", len(trace.inputs), d.shape, d.dtype)
        self._remember(seed_arr, trace.seed)
        prev = self.phase
        self.phase = "backward"
        self.capturing = True
        try:
            grads = self.orig_walk((out,), (seed,), retain_graph=True, create_graph=False,
                                   capture=[t for _, t in leaves])
        finally:
            self.capturing = False
            self.phase = prev
        if not self.active:
            return []
        return [(r, None if g is None else self._ref(g._data, None)) for (r, _), g in zip(leaves, grads)]

    def _outputs(self, obj):
        if isinstance(obj, Tensor):
            for i, t in enumerate(self.trace.inputs):
                if t is obj:
                    return Ref("input", i, obj._data.shape, obj._data.dtype)
            r = self.known.get(id(obj._data))
            if r is None:
                self.graph_break("the function returns a tensor made by code the recorder does not see")
                return None
            if r.kind == "param":
                t = self.trace.params[r.index]()
                if t is not obj:
                    self.graph_break("the function returns a new tensor sharing a parameter's data")
            return r
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return tuple(self._outputs(x) for x in obj)
        if isinstance(obj, list):
            return [self._outputs(x) for x in obj]
        if isinstance(obj, dict):
            return {k: self._outputs(v) for k, v in obj.items()}
        if obj is None or isinstance(obj, (int, float, bool, str)):
            return obj
        self.graph_break(f"the function returns a {type(obj).__name__}")
        return None

    # -- the wrappers ------------------------------------------------------------------------------
    def _wrap_walk(self, orig):
        rec = self

        def run_backward(roots, root_grads, **kw):
            if rec.paused or not rec.active:
                return orig(roots, root_grads, **kw)
            if kw.get("create_graph") or kw.get("capture") is not None:
                rec.graph_break("a backward with create_graph or inputs= (autograd.grad)")
                return orig(roots, root_grads, **kw)
            seeds = tuple([rec._ref(g._data, None) for g in root_grads])
            rec._step("walk", "backward", orig, seeds, (), None)
            rec.trace.steps[-1].phase = "backward"
            prev = rec.phase
            rec.phase = "backward"
            try:
                return orig(roots, root_grads, **kw)
            finally:
                rec.phase = prev
                rec.walks += 1
        return run_backward

    def _unrecorded(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` with recording paused: a wrapped call records itself as one step,
        not the ops inside it."""
        self.paused += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.paused -= 1

    def _wrap_store(self, orig):
        rec = self

        def _store_grad(tensor, g, owned):
            if rec.capturing:
                return None  # recording a compiled forward's backward: nothing is stored anywhere
            if rec.paused or not rec.active:
                return orig(tensor, g, owned)
            arr = g if g.__class__ is _ndarray else g._data
            gref = rec._ref(arr, None)
            target = rec._target(tensor)
            rec._unrecorded(orig, tensor, g, owned)
            if rec.active:
                rec._step("grad", "store_grad", orig, (gref,), (rec.walks,), tensor.grad._data, target=target)
        return _store_grad

    def _target(self, tensor):
        """The Ref naming the tensor that receives a ``.grad``: an input or a parameter, else
        ("tensor", weakref) resolved when the outputs are known."""
        for i, t in enumerate(self.trace.inputs):
            if t is tensor:
                return Ref("input", i, tensor._data.shape, tensor._data.dtype)
        if tensor.grad_fn is None:
            r = self.known.get(id(tensor._data))
            if r is None:
                r = self._ref(tensor._data, tensor)
            if r.kind == "param":
                return r
        return ("tensor", weakref.ref(tensor), id(tensor._data))

    def _wrap_random(self, orig, name: str, gen: bool = True):
        rec = self

        def draw(*args, **kwargs):
            if rec.paused or not rec.active:
                return orig(*args, **kwargs)
            target, rest = (args[0], args[1:]) if gen else (None, args)
            params = rec._params(rest)
            out = rec._unrecorded(orig, *args, **kwargs)
            if rec.active:
                if out.__class__ is not _ndarray:
                    rec.graph_break(f"random draw {name} returned a {type(out).__name__}")
                    return out
                rec._step("random", name, orig, (), params, out, kwargs, target)
            return out
        draw.__name__ = name
        return draw

    def _wrap_call(self, orig, name: str):
        rec = self

        def call(obj, *args, **kwargs):
            if rec.paused or not rec.active:
                return orig(obj, *args, **kwargs)
            for a in list(args) + list(kwargs.values()):
                if isinstance(a, (Tensor, _ndarray)) or callable(a):
                    rec.graph_break(f"`{name}` called with a tensor or a closure argument")
                    return orig(obj, *args, **kwargs)
            rec._step("call", name, orig, (), args, None, kwargs, obj)
            prev = rec.phase
            rec.phase = "update"
            rec.trace.steps[-1].phase = "update"
            rec.paused += 1
            try:
                return orig(obj, *args, **kwargs)
            finally:
                rec.paused -= 1
                rec.phase = prev
        call.__name__ = orig.__name__
        call.__doc__ = orig.__doc__
        return call

    def _wrap_opaque(self, orig, name: str):
        """A library function that works on raw arrays (batch norm's running statistics): one
        recorded call, replayed with the same arrays and tensors."""
        rec = self

        def call(*args):
            if rec.paused or not rec.active:
                return orig(*args)
            params = []
            for a in args:
                if a.__class__ is _ndarray:
                    r = rec.known.get(id(a))
                    if r is None:
                        rec.graph_break(f"`{name}` given an array made outside the recorded ops")
                        return orig(*args)
                    params.append(r)
                elif isinstance(a, Tensor):
                    r = rec._ref(a._data, a)
                    if r.kind not in ("param", "input"):
                        rec.graph_break(f"`{name}` given a tensor made during the call")
                        return orig(*args)
                    params.append(TensorArg(r))
                else:
                    params.append(a)
            rec._step("call", name, orig, (), tuple(params), None)
            return rec._unrecorded(orig, *args)
        call.__name__ = name
        return call

    def _wrap_read(self, orig, what: str):
        rec = self

        def read(self_, *args, **kwargs):
            if not rec.paused and rec.active:
                rec.graph_break(f"{what} reads a tensor's value in Python")
            return orig(self_, *args, **kwargs)
        read.__name__ = orig.__name__
        return read

    def _wrap_break(self, orig, what: str, classmethod_: bool = False):
        rec = self
        fn = orig.__func__ if isinstance(orig, classmethod) else orig

        def unsupported(*args, **kwargs):
            if not rec.paused and rec.active:
                rec.graph_break(f"{what} cannot be recorded")
            return fn(*args, **kwargs)
        unsupported.__name__ = getattr(fn, "__name__", "unsupported")
        return classmethod(unsupported) if isinstance(orig, classmethod) else unsupported

    def _wrap_bump(self, orig):
        rec = self

        def _bump(self_):
            if not rec.paused and rec.active:
                rec.graph_break("an in-place op (its write is not a recorded op)")
            return orig(self_)
        return _bump

    def _wrap_arith_inplace(self, orig):
        rec = self

        def arith_inplace(x, ufunc, other, alpha=1):
            if rec.paused or not rec.active:
                return orig(x, ufunc, other, alpha)
            done = rec._unrecorded(orig, x, ufunc, other, alpha)
            if done is None or not rec.active:
                return done  # the general path follows (recorded as an in-place op: a graph break)
            # x's array was written by ``ufunc(x, other * alpha, out=x)``: replay does the same
            dst = rec._ref(x._data, x)
            o = other._data if isinstance(other, Tensor) else other
            src = rec._ref(o, other) if o.__class__ is _ndarray else o
            target = dst if dst.kind in ("param", "input") else None
            rec._step("inplace", ufunc.__name__ + "_", ufunc, (dst,), (src, alpha), None, target=target)
            if target is not None and target.kind == "param" and rec.phase == "forward":
                rec.trace.steps[-1].phase = "update"  # a hand-written optimizer step
            return done
        return arith_inplace

    def _wrap_inplace(self, orig):
        rec = self

        def inplace(x, name, fn, *others, keeps_input=False):
            if rec.active and not rec.paused and _graph._state.enabled and (
                    x._rg or any(isinstance(o, Tensor) and o._rg for o in others)):
                if not keeps_input or x._base is not None:
                    # (autograd keeps a raw copy of the old value: not a recorded op)
                    rec.graph_break(f"the in-place op `{name}` on a tensor that requires grad")
            return orig(x, name, fn, *others, keeps_input=keeps_input)
        return inplace

    def _wrap_write(self, orig):
        rec = self

        def _write(x, arr, name):
            if rec.paused or not rec.active:
                return orig(x, arr, name)
            dst = rec._ref(x._data, x)
            src = rec._ref(arr, None)
            rec._unrecorded(orig, x, arr, name)
            if rec.active:
                target = dst if dst.kind in ("param", "input") else None
                rec._step("write", name, B.xp.copyto, (dst, src), (), None, target=target)
        return _write

    def _wrap_fill(self, orig):
        rec = self

        def fill(x, name, value):
            if rec.paused or not rec.active or (_graph._state.enabled and (
                    x.grad_fn is not None or isinstance(value, Tensor) and value._rg)):
                return orig(x, name, value)  # (the recorded path goes through ``inplace``)
            dst = rec._ref(x._data, x)
            v = rec._ref(value._data, value) if isinstance(value, Tensor) else value
            rec._unrecorded(orig, x, name, value)
            if rec.active:
                target = dst if dst.kind in ("param", "input") else None
                rec._step("fill", name, None, (dst,), (v,), None, target=target)
        return fill

    def _wrap_grad_slot(self, slot):
        rec = self

        def get(t):
            return slot.__get__(t, Tensor)

        def set_(t, value):
            if rec.active and not rec.paused:
                try:
                    slot.__get__(t, Tensor)
                except AttributeError:  # a tensor being built (Tensor._make): not a user's assignment
                    slot.__set__(t, value)
                    return
                target = rec._target(t)
                if target.__class__ is not Ref:
                    pass  # an intermediate's .grad: not kept beyond the call
                elif value is None:
                    rec._step("setgrad", "set_grad", None, (), (), None, target=target)
                    rec.trace.steps[-1].phase = "update" if rec.phase == "forward" else rec.phase
                elif isinstance(value, Tensor) and id(value._data) in rec.known:
                    rec._step("setgrad", "set_grad", None, (rec.known[id(value._data)],), (), None, target=target)
                else:
                    rec.graph_break("assigning `.grad` a tensor the recorder has not seen made")
            slot.__set__(t, value)

        return property(get, set_, doc="This tensor's gradient (recorded while minigrad.compile records)")

    def _wrap_index(self, orig):
        rec = self

        def normalize_index(index, shape):
            if not rec.paused and rec.active:
                for item in (index if isinstance(index, tuple) else (index,)):
                    arr = item._data if isinstance(item, Tensor) else item
                    if isinstance(arr, list):
                        arr = B.xp.asarray(arr)
                    if arr.__class__ is _ndarray and arr.dtype.kind == "b" and arr.ndim > 0:
                        rec.graph_break("boolean-mask indexing (its result's shape depends on the data)")
                        break
            return orig(index, shape)
        return normalize_index

    def _wrap_module_call(self, orig):
        rec = self

        def __call__(self_, *args, **kwargs):
            if rec.active and not rec.paused:
                rec.modules[id(self_)] = self_
            return orig(self_, *args, **kwargs)
        return __call__


_MISSING = object()


def _kind_code(ref: Ref) -> int:
    return {"input": 0, "param": 1, "const": 2, "buf": 3}[ref.kind]


def _subclasses(cls) -> list:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(c for c in _subclasses(sub) if c not in out)
    return out


def record(fn, args: tuple, kwargs: dict | None = None, *, fullgraph: bool = False, name: str | None = None) -> tuple:
    """Call ``fn(*args, **kwargs)`` once, eagerly, and record it: returns ``(result, trace)``.

    The tensors among ``args``/``kwargs`` (in lists, tuples and dicts too) are the trace's
    inputs, in order. ``trace.broken`` holds the graph break's message if one happened (the
    call then finished eagerly); under ``fullgraph`` a graph break raises ``GraphBreak``.
    """
    kwargs = kwargs or {}
    inputs: list = []
    flatten_tensors((args, kwargs), inputs)
    trace = Trace()
    rec = Recorder(trace, inputs, fullgraph, name or getattr(fn, "__qualname__", getattr(fn, "__name__", "fn")))
    with rec:
        result = fn(*args, **kwargs)
        if rec.active:
            rec.finish(result)
    return result, trace


def flatten_tensors(obj, out: list) -> None:
    """Append the tensors in ``obj`` (nested tuples, lists, dict values) to ``out``, in order."""
    _collect(obj, Tensor, out)


def grad_mode() -> bool:
    return _graph._state.enabled
