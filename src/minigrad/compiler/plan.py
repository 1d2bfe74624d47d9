"""From a ``Trace`` to a plan: buffer liveness, buffer reuse, and the plan as Python source.

The plan is one Python function, ``run(I, E)`` (``I``: the call's input tensors, ``E``: the
parameters it reads), whose body is the recorded program written out as straight-line code
over numbered buffers: ``b7 = F7(b3, b6)`` for an op (``F7`` is the op row's forward on arrays),
``b2 = F2(G2, K2_0, K2_1)`` for a random draw (``G2``, the generator), ``F9(O9)`` for an
optimizer step, ``b12 = F12(E[0], b11, own0)`` for a store into ``.grad``. It is compiled
once with ``compile()``/``exec`` (as torch.fx does), so replaying it costs what the same
program typed by hand costs: no Tensor, Node, heap or dict work per op, and no interpreter loop.

Buffer reuse: every buffer belongs to a storage (itself, or the buffer it is a view of). A
storage dies after its last use; a later elementwise ufunc result of the same shape, dtype and
memory layout (strides) is then computed into it with ``out=``: the same bits as without, and the
same layout for the reductions that read it later (a layout changes their order of summation).
Storages
never reused: the inputs, parameters and constants (not ours), what escapes (returned, stored
into some ``.grad``, or the value ``.grad`` holds after a store), views (their owner decides).
"""

from __future__ import annotations

import bisect

import numpy as _np

from .. import backend as B
from ..autograd import engine as _engine
from ..tensor import Tensor
from .trace import Ref, TensorArg, Trace

_make = Tensor._make


def _store_grad_and_read(tensor, g, owned):
    """Replay of a recorded ``.grad`` store: the engine's own ``_store_grad`` (same semantics:
    set, copy or accumulate in place), then the array ``.grad`` now holds."""
    _engine._store_grad(tensor, g, owned)
    return tensor.grad._data


def _uses(step) -> list:
    refs: list = list(step.inputs)
    _refs_in(step.params, refs)
    _refs_in(step.kwargs, refs)
    return refs


def _refs_in(obj, out: list) -> None:
    if obj.__class__ is Ref:
        out.append(obj)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _refs_in(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _refs_in(x, out)


class Plan:
    """A compiled plan: ``run(inputs, params)`` replays the trace; ``source`` is its Python code;
    ``lines`` its readable listing (``explain``)."""

    def __init__(self, trace: Trace, reuse: bool = True, part: str = "main") -> None:
        self.trace = trace
        self.part = part
        self.loads: list = []  # buffers of the forward a backward plan reads: ``S[j]``
        self.keep: list = []  # buffers the forward plan hands its backward plan (returned as S)
        if part == "backward":
            self.steps = trace.backward
            self.outputs = [g for _, g in trace.grad_inputs]
            self.loads = _forward_buffers(trace)
        else:
            self.steps = trace.steps
            self.outputs = trace.outputs
            if trace.backward is not None:
                self.keep = _forward_buffers(trace)
        self.namespace: dict = {}
        self._notes: list = []  # (step, note) for the listing, made when asked for
        self.reused = 0
        self.source = self._emit(reuse)
        code = compile(self.source, f"<minigrad.compile plan of {len(self.steps)} steps>", "exec")
        exec(code, self.namespace)
        self.run = self.namespace["run"]

    @property
    def lines(self) -> list[str]:
        """The readable listing, one line per step (``explain`` prints it)."""
        return [self._listing(step, note) for step, note in self._notes]

    # -- liveness --------------------------------------------------------------------------------
    def _liveness(self) -> tuple[dict, set]:
        """(last step using each storage, storages that escape)."""
        last: dict = {}
        escaped: set = set()
        for k, step in enumerate(self.steps):
            for r in _uses(step):
                if r.kind == "buf":
                    last[r.storage] = k
            if step.kind == "grad":
                escaped.add(step.inputs[0].storage)
                if step.out is not None:
                    escaped.add(step.out.storage)
            elif step.kind in ("walk", "setgrad"):
                for r in step.inputs:
                    escaped.add(r.storage)
        for r in self._output_refs():
            escaped.add(r.storage)
        for r in self.loads + self.keep:  # the forward's saved values: kept for (another) backward
            escaped.add(r.storage)
        return last, escaped

    # -- code generation -------------------------------------------------------------------------
    def _const(self, value) -> str:
        name = f"K{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def _var(self, r: Ref) -> str:
        if r.kind == "buf":
            return self.names[r.index]
        if r.kind == "input":
            return f"i{r.index}"
        if r.kind == "param":
            return f"p{r.index}"
        return self.const_names[r.index]

    def _expr(self, obj) -> str:
        if obj.__class__ is Ref:
            return self._var(obj)
        if obj.__class__ is TensorArg:
            return f"{'I' if obj.ref.kind == 'input' else 'E'}[{obj.ref.index}]"
        if isinstance(obj, tuple) and _has_ref(obj):
            return "(" + "".join(self._expr(x) + ", " for x in obj) + ")"
        if isinstance(obj, list) and _has_ref(obj):
            return "[" + ", ".join(self._expr(x) for x in obj) + "]"
        if obj is None or obj is True or obj is False or (obj.__class__ is int and abs(obj) < 1 << 30):
            return repr(obj)
        return self._const(obj)

    def _emit(self, reuse: bool) -> str:
        trace = self.trace
        ns = self.namespace
        ns.update(_make=_make, _asarray=B.xp.asarray, _fp_set=B.fp_var_set, _fp_reset=B.fp_var_reset,
                  _IGNORE=B.FP_IGNORE, _SG=_store_grad_and_read)
        last, escaped = self._liveness()
        self.names = [f"b{r.index}" for r in trace.buffers]
        body: list[str] = []
        outs = self._output_refs()
        self.const_names = []
        # constants stored as a .grad, returned or written in place: a fresh copy each replay
        written = ("inplace", "write", "fill")
        escaping_consts = {r.index for s in self.steps if s.kind in ("grad", "walk", "setgrad") + written
                           for r in s.inputs[:1] if r.kind == "const"} | {r.index for r in outs if r.kind == "const"}
        for step in self.steps:  # a write through a view of a constant, or a view of one returned
            for r in step.inputs[:1] if step.kind in written else ():
                if r.root is not None and r.root.kind == "const":
                    escaping_consts.add(r.root.index)
        for r in outs:
            if r.root is not None and r.root.kind == "const":
                escaping_consts.add(r.root.index)
        for i, arr in enumerate(trace.consts):
            name = f"C{i}"
            ns[name] = arr
            if i in escaping_consts:  # stored as a .grad or returned: a fresh copy each replay
                body.append(f"c{i} = {name}.copy()")
                name = f"c{i}"
            self.const_names.append(name)
        for i in range(len(trace.inputs) + (self.part == "backward")):  # (a backward plan: the seed last)
            body.append(f"i{i} = I[{i}]._data")
        for i in range(len(trace.params)):
            body.append(f"p{i} = E[{i}]._data")
        body.append("tok = _fp_set(_IGNORE)")
        free: dict = {}  # (shape, dtype, strides) -> names of dead buffers that own their memory
        wanted: dict = {}  # (shape, dtype, strides) -> steps whose result could go into such a buffer
        for k, step in enumerate(self.steps):
            if _takes_out(step):
                wanted.setdefault((step.out.shape, step.out.dtype, step.out.strides), []).append(k)
        dying: dict = {}  # step -> storages whose last use it is
        for s, k in last.items():
            dying.setdefault(k, []).append(s)
        out_tensor: dict = {}  # buffer index -> name of the output Tensor made early (a .grad target)
        holders: dict = {}  # storage -> the variables holding it (its owner and its views)
        for j, r in enumerate(self.loads):
            body.append(f"{self.names[r.index]} = S[{j}]")
        for k, step in enumerate(self.steps):
            line, note = self._step_code(k, step, free if reuse else None, escaped, last, out_tensor, outs)
            out = step.out
            if out is not None and out.storage is not None and out.storage >= 0:
                holders.setdefault(out.storage, []).append(self.names[out.index])
            for s in dying.get(k, ()):
                if s < 0 or s in escaped:  # not ours (an input, a parameter, a constant), or kept
                    continue
                r = trace.buffers[s]
                names = holders.pop(s, [])
                key = (r.shape, r.dtype, r.strides)
                later = len(wanted.get(key, ())) - bisect.bisect_right(wanted.get(key, ()), k)
                if r.owner and r.shape and reuse and len(free.get(key, ())) < later:
                    # its memory waits for a later result of its shape, dtype and layout
                    free.setdefault(key, []).append((self.names[s], s))
                    names = [n for n in names if n != self.names[s]]
                if names and r.dtype.itemsize * _prod(r.shape) >= _DEL_MIN:
                    line += "; del " + ", ".join(dict.fromkeys(names))  # freed here, as eager frees it
            body.append(line)
            self._notes.append((step, note))
        body.append("_fp_reset(tok)")
        result = self._result(self.outputs, out_tensor)
        if self.part == "backward":
            result = "[" + ", ".join("None" if r is None else self._var(r) for r in self.outputs) + "]"
        elif self.trace.backward is not None:
            result = f"{result}, ({''.join(self._var(r) + ', ' for r in self.keep)})"
        body.append("return " + result)
        return "def run(I, E, S=None):\n" + "".join("    " + line + "\n" for line in body)

    def _output_refs(self) -> list:
        refs: list = []
        _refs_in(self.outputs, refs)
        return refs

    def _step_code(self, k, step, free, escaped, last, out_tensor, outs) -> tuple[str, str]:
        ns = self.namespace
        fname = f"F{k}"
        ns[fname] = step.fn
        out = step.out
        note = ""
        if step.kind == "op":
            op = step.fn
            ns[fname] = op.forward
            args = [self._var(r) for r in step.inputs]
            variadic = op.arity < 0 or op.arity >= 100
            call_args = ("[" + ", ".join(args) + "]") if variadic else ", ".join(args)
            params = "".join(", " + self._expr(p) for p in step.params)
            target = ""
            if free is not None and _takes_out(step):
                pool = free.get((out.shape, out.dtype, out.strides))
                if pool:
                    name, was = pool.pop()
                    self.names[out.index] = name
                    target = f", out={name}"
                    note = f"computed into b{was}'s memory (dead)"
                    self.reused += 1
            expr = f"{fname}({call_args}{params}{target})"
            if not out.shape:
                expr = f"_asarray({expr})"
            return f"{self._var(out)} = {expr}", note
        if step.kind == "random":
            args = ([self._const(step.target)] if step.target is not None else []) + \
                [self._expr(p) for p in step.params] + [f"{k_}={self._expr(v)}" for k_, v in step.kwargs.items()]
            return f"{self._var(out)} = {fname}({', '.join(args)})", ""
        if step.kind == "call":
            args = ([self._const(step.target)] if step.target is not None else []) + \
                [self._expr(p) for p in step.params] + \
                [f"{k_}={self._expr(v)}" for k_, v in step.kwargs.items()]
            # the optimizer runs as in eager: numpy's floating-point warnings as the user set them
            return f"_fp_reset(tok); {fname}({', '.join(args)}); tok = _fp_set(_IGNORE)", ""
        if step.kind == "inplace":
            d = self._var(step.inputs[0])
            src, alpha = step.params
            o = self._expr(src)
            if alpha != 1:
                o = f"{o} * {self._expr(alpha)}"
            line = f"{fname}({d}, {o}, out={d})"
            t = step.target
            if t is not None:
                line += f"; {'I' if t.kind == 'input' else 'E'}[{t.index}]._bump()"
            return line, ""
        if step.kind in ("write", "fill"):
            d = self._var(step.inputs[0])
            if step.kind == "write":
                line = f"{fname}({d}, {self._var(step.inputs[1])}, casting='unsafe')"
            else:
                line = f"{d}[...] = {self._expr(step.params[0])}"
            t = step.target
            if t is not None:
                line += f"; {'I' if t.kind == 'input' else 'E'}[{t.index}]._bump()"
            return line, ""
        if step.kind == "setgrad":
            t = step.target
            who = f"{'I' if t.kind == 'input' else 'E'}[{t.index}]"
            value = f"_make({self._var(step.inputs[0])}, False, None)" if step.inputs else "None"
            return f"{who}.grad = {value}", ""
        if step.kind == "walk":
            w = sum(1 for s in self.steps[:k] if s.kind == "walk")
            seeds = ", ".join(f"id({self._var(r)})" for r in step.inputs)
            return f"own{w} = {{{seeds}}}", ""
        # a store into .grad
        g = self._var(step.inputs[0])
        own = f"own{step.params[0]}"
        t = step.target
        if t.__class__ is Ref:
            tensor = f"I[{t.index}]" if t.kind == "input" else f"E[{t.index}]"
        elif t is not None and t[0] == "output":
            r = t[1]
            tensor = f"O{r.index}"
            out_tensor[r.index] = tensor
            return f"{tensor} = _make({self._var(r)}, False, None); {self._var(out)} = _SG({tensor}, {g}, {own})", ""
        else:  # a tensor that does not outlive the call: nothing to store
            return f"{self._var(out)} = {g}", "(the tensor is not kept)"
        return f"{self._var(out)} = _SG({tensor}, {g}, {own})", ""

    def _result(self, obj, out_tensor: dict) -> str:
        if obj.__class__ is Ref:
            if obj.kind == "input":
                return f"I[{obj.index}]"
            if obj.kind == "param":
                return f"E[{obj.index}]"
            if obj.kind == "buf" and obj.index in out_tensor:
                return out_tensor[obj.index]
            return f"_make({self._var(obj)}, False, None)"
        if isinstance(obj, tuple):
            return "(" + "".join(self._result(x, out_tensor) + ", " for x in obj) + ")"
        if isinstance(obj, list):
            return "[" + ", ".join(self._result(x, out_tensor) for x in obj) + "]"
        if isinstance(obj, dict):
            return "{" + ", ".join(f"{self._const(k)}: {self._result(v, out_tensor)}" for k, v in obj.items()) + "}"
        return self._expr(obj)

    # -- the readable listing ----------------------------------------------------------------------
    def _listing(self, step, note: str) -> str:
        def show(r):
            return r.name()

        ins = [show(r) for r in step.inputs]
        for p in step.params:
            ins.append(_short(p, show))
        if step.kind == "call":
            ins = [f"{k}={v!r}" for k, v in step.kwargs.items()] + [_short(p, show) for p in step.params]
        lhs = ""
        if step.out is not None:
            lhs = f"{step.out.name()}:{_dt(step.out.dtype)}{list(step.out.shape)} = "
        name = step.name
        if step.kind == "setgrad":
            t = step.target
            return f"{step.phase:<8} | {t.name()}.grad = {ins[0] if ins else 'None'}"
        if step.kind in ("write", "fill"):
            return f"{step.phase:<8} | {ins[0]} = {step.name}({', '.join(ins)})    # in place"
        if step.kind == "inplace":
            ins[1] = _short(step.params[0], show)
            ins[2:] = [] if step.params[1] == 1 else [f"alpha={step.params[1]!r}"]
            return f"{step.phase:<8} | {ins[0]} = {step.name}({', '.join(ins)})    # in place"
        if step.kind == "grad":
            t = step.target
            who = (f"in{t.index}" if t.kind == "input" else f"p{t.index}") if t.__class__ is Ref else "output"
            name = f"{who}.grad <-"
        elif step.kind == "random":
            name = f"random.{step.name}"
        elif step.kind == "call" and step.target is not None:
            name = f"{type(step.target).__name__}.{step.fn.__name__}"
        text = f"{lhs}{name}({', '.join(ins)})" if step.kind != "grad" else f"{lhs}{name} {ins[0]}"
        return f"{step.phase:<8} | {text}" + (f"    # {note}" if note else "")


# Dead buffers at least this large are deleted where they die (smaller ones: the ``del`` would cost
# more than the memory it gives back early).
_DEL_MIN = 1 << 12


def _prod(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _takes_out(step) -> bool:
    """Whether ``step``'s result may be computed into a dead buffer with ``out=``: an elementwise
    ufunc (the same bits with or without ``out=``; matmul, a generalized ufunc, may leave BLAS for
    numpy's own loop when given ``out=`` and sum in another order), no params, an array result."""
    if step.kind != "op" or step.params:
        return False
    fwd = step.fn.forward
    return (isinstance(fwd, _np.ufunc) and fwd.signature is None and fwd.nin == len(step.inputs)
            and 0 < step.fn.arity < 100 and bool(step.out.shape) and step.out.owner)


def _forward_buffers(trace) -> list:
    """The forward's buffers that the recorded backward reads (its saved values), in order."""
    n = len(trace.steps)
    seen: dict = {}
    for step in trace.backward:
        for r in _uses(step):
            if r.kind == "buf" and r.step < n:
                seen.setdefault(r.index, r)
    for _, g in trace.grad_inputs:
        if g is not None and g.kind == "buf" and g.step < n:
            seen.setdefault(g.index, g)
    return list(seen.values())


def _has_ref(obj) -> bool:
    refs: list = []
    _refs_in(obj, refs)
    return bool(refs)


def _dt(dtype) -> str:
    s = str(dtype)
    return {"float32": "f32", "float64": "f64", "float16": "f16", "int64": "i64", "int32": "i32",
            "bool": "bool"}.get(s, s)


def _short(p, show) -> str:
    if p.__class__ is Ref:
        return show(p)
    if isinstance(p, (tuple, list)):
        inner = ", ".join(_short(x, show) for x in p)
        return f"({inner})" if isinstance(p, tuple) else f"[{inner}]"
    if isinstance(p, B.ndarray):
        return f"array:{_dt(p.dtype)}{list(p.shape)}" if p.size > 4 else repr(p.tolist())
    if callable(p):
        return getattr(p, "__name__", type(p).__name__)
    return repr(p)
