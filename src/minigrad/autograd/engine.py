"""The backward walk (``run_backward``), and ``backward`` / ``grad`` on top of it.

The walk visits nodes newest first: each node's creation number orders a heap, and every
consumer of a node was made after it, so this is a topological order (no recursion, no
dependency-counting pass). At each node it stores the gradient, calls the node's VJPs,
reduces each input's gradient to that input's shape and dtype, accumulates it and schedules
the input's node. The graph's vocabulary (``Node``, grad mode) is in ``graph.py``.
"""

from __future__ import annotations

import gc
import sys
from heapq import heappop, heappush, heappushpop

from .. import backend as B
from ..ops import registry as _registry
from ..ops.elementwise import cast
from ..ops.movement import sum_to
from ..ops.registry import constant, identity_vjp
from ..tensor import Tensor
from .graph import BUMPS, Node, _state

_ndarray = B.ndarray
_make = Tensor._make
_refcount = sys.getrefcount
_FREED = ()  # node.inputs after backward freed what the node saved (falsy, like None)
_NONES = [(None,) * n for n in range(64)]  # the VJPs' arguments of a node that saved no inputs


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool, capture=None):
    """Backpropagate ``root_grads`` (Tensors) from ``roots`` (tensors) through their graph.

    Fills ``.grad`` of every tensor on the way that requires grad; with ``capture`` (a list
    of tensors: autograd.grad) returns their gradients instead (None where unreachable) and
    leaves the leaves' ``.grad`` alone.

    Without ``create_graph`` nothing is recorded, so gradients travel as raw arrays and
    array-safe VJPs run on numpy directly. With it every VJP gets Tensors and is recorded.
    """
    # While minigrad.compile records, the VJPs run on Tensors (as under create_graph, but with
    # nothing recorded for autograd) so that every op of the walk passes its op caller's trace hook.
    tracing = _registry.TRACE is not None
    raw = not create_graph and not tracing
    grads: dict = {}  # node, or leaf tensor, -> its gradient so far
    heap: list = []  # (-seq, node) for nodes that have a gradient: the newest on top
    leaves: list = []  # leaves that have a gradient, finished after all nodes
    for t, g in zip(roots, root_grads):
        key = t if t.grad_fn is None else t.grad_fn
        if key in grads:
            _accumulate(grads, key, g._data if raw else g)
        else:
            grads[key] = g._data if raw else g
            _schedule(key, heap, leaves)
    targets = None if capture is None else _Targets(capture, grads)
    owned = {id(g._data) for g in root_grads}  # buffers stored as some .grad in this walk
    anomaly = _state.anomaly
    before = _enter_walk(create_graph)
    if tracing:
        _state.raw = False
    try:
        ready = None  # the node scheduled last waits beside the heap: a chain never touches it
        while True:
            # 1. Pop the newest node: every consumer has sent its gradient.
            if ready is not None:  # taken next, unless the heap holds a newer node
                if heap and heap[0][0] < -ready.seq:
                    ready = heappushpop(heap, (-ready.seq, ready))[1]
                node, ready = ready, None
            elif heap:
                node = heappop(heap)[1]
            else:
                break
            g = grads.pop(node)
            if node.hooks:
                g = _run_hooks(node.hooks, g, raw)
            # 2. The tensor it made, if alive, gets its .grad.
            t = node.out_ref()
            if t is not None and t.grad_fn is node:
                _store_grad(t, g, owned)
            if targets is not None and not targets.take(node, g, raw, owned):
                continue  # autograd.grad: no target lies below this node
            if node.inputs is _FREED:
                raise _freed_error(node)
            if node.bumps != BUMPS[0]:  # some tensor changed in place since the node was made
                _check_versions(node)
            # 3. Its VJPs: one gradient (or None) per input.
            if raw and node.op.array_safe:  # no create_graph: the VJPs run on the arrays
                gins = array_vjps(node, g, retain_graph, targets)
            else:
                gins = _call_vjps(node, g, raw, create_graph, targets)
                if tracing and node.op.array_backward is not None:
                    gins = _as_fused(node, gins)
            g = t = None  # drop our references: a buffer's reference count says who holds it
            if not retain_graph and node.op.saves:
                node.inputs = _FREED
                node.out = None
            # 4. Each input's gradient: to the input's shape and dtype, accumulated, scheduled.
            meta = node.in_meta
            for i, p in enumerate(node.parents):
                gi = gins[i]
                if gi is None or p is None:
                    continue
                gins[i] = None
                if raw and gi.__class__ is not _ndarray:
                    gi = _as_array(gi)
                if meta is not None and meta[i] is not None:
                    gi = _to_input(gi, meta[i])
                if anomaly:
                    _check_finite(node, gi)
                if p in grads:
                    _accumulate(grads, p, gi)
                else:  # p's first gradient: schedule p
                    grads[p] = gi
                    if p.__class__ is not Node:
                        leaves.append(p)
                    elif ready is None:
                        ready = p
                    else:
                        heappush(heap, (-p.seq, p))
            gins = gi = None
        _finish_leaves(leaves, grads, raw, targets, owned)
    finally:
        _leave_walk(before)
    return None if targets is None else targets.results


def _schedule(key, heap: list, leaves: list) -> None:
    """A node goes on the heap, a leaf on the list finished last."""
    if key.__class__ is Node:
        heappush(heap, (-key.seq, key))
    else:
        leaves.append(key)


def _accumulate(grads: dict, key, g) -> None:
    """Add ``g`` into ``grads[key]``, the gradient ``key`` has so far."""
    prev = grads[key]
    if prev.__class__ is _ndarray and prev.base is None and _refcount(prev) == _SOLE + 1 \
            and prev.shape == g.shape and prev.flags.writeable:  # (other backends: a new sum)
        # Only ``grads`` and this frame hold this buffer (numpy's own test for reusing a
        # temporary): add into it, no new array.
        prev += g
    else:
        total = prev + g
        grads[key] = B.xp.asarray(total) if isinstance(total, B.generic) else total  # (0-d sums: numpy scalars)


def _to_input(g, meta: tuple):
    """``g`` summed down to its input's shape (undoing broadcasting) and cast to its dtype."""
    shape, dtype = meta
    if g.shape != shape:
        g = sum_to(g, shape)
    if g.dtype is not dtype and g.dtype != dtype:  # (a Tensor's dtype is minigrad's wrapper: equal, not identical)
        g = cast(g, dtype)
    return g


def _as_array(g):
    """A gradient as an array (a VJP that got Tensors returns one; 0-d arithmetic gives numpy scalars)."""
    if g.__class__ in B.NP_SCALAR_TYPES:
        return B.xp.asarray(g)
    return g._data if isinstance(g, Tensor) else g  # (a device array stays as it is)


def _call_vjps(node, g, raw: bool, create_graph: bool, targets):
    """The VJPs of ``node``'s row on Tensors, called for each input that needs a gradient.

    ``g`` and the saved output are wrapped as Tensors (under create_graph the output leads
    back to this node, so higher derivatives see it); without create_graph this is the path
    of the ops whose VJPs are not array-safe.
    """
    op = node.op
    inputs = node.inputs
    out = node.out
    if raw:
        g = _make(g, False, None)
    if out is not None:
        out = _make(out, create_graph, node if create_graph else None)
    parents = node.parents if targets is None else targets.prune(node.parents)
    if op.vjp_all is not None:
        return list(op.vjp_all(g, out, inputs, node.params, [p is not None for p in parents]))
    args = (inputs or _NONES[len(parents)]) + node.params
    if len(parents) == 1 and parents[0] is not None:  # most nodes
        vjp = op.vjps[0]
        return [g if vjp is identity_vjp else vjp(g, out, *args)]
    # (A loop, not a comprehension: one that reads g, out and args would make them cells.)
    gins = []
    for vjp, p in zip(op.vjps, parents):
        gins.append(None if p is None else g if vjp is identity_vjp else vjp(g, out, *args))
    return gins


def _as_fused(node, gins: list) -> list:
    """While minigrad.compile records: the VJPs' gradients combined as the row's fused array
    backward combines them, so the recorded walk adds in eager's order (``x * x``: ``g*x + g*x``
    sent once, not twice)."""
    p = node.parents
    if len(p) == 2 and p[0] is p[1] and p[0] is not None and node.inputs[0] is node.inputs[1]:
        return [gins[0] + gins[1], None]
    return gins


# -- the fast path on raw arrays ----------------------------------------------------------------

def _local_refcount() -> int:
    """What ``sys.getrefcount(x)`` says of an object held by one local variable only (2 on
    CPython up to 3.13; newer interpreters may borrow the argument's reference). The walk
    compares against this, never against a literal, before writing into a buffer; -1 (never
    equal: no buffer is ever reused) if one more holder does not add exactly one."""
    x = object()
    sole = _refcount(x)
    holder = [x]
    return sole if _refcount(x) == sole + 1 and holder else -1


_SOLE = _local_refcount()
# Arrays smaller than this are cheap to allocate: the walk does not look for reusable buffers.
_REUSE_MIN = 1 << 14


def array_vjps(node, g, retain_graph: bool, targets):
    """Without create_graph, the VJPs of an array-safe row on raw arrays: ``g``, the saved
    output and the saved inputs' arrays (a Python number operand is a 0-d array already).

    A row with a fused array backward (mul, exp, tanh, sigmoid, relu) computes all input
    gradients in one call. For large arrays that call may write into the incoming gradient
    ``g`` and the saved output when nothing else holds them (no new buffer, fewer passes over
    memory): ``g`` is then held by the walk's frame and this one only, and the output, once
    the node lets go of it, by this frame only.
    """
    op = node.op
    inputs = node.inputs
    if inputs:  # one and two inputs unrolled: a comprehension costs a call
        if len(inputs) == 1:
            (x,) = inputs
            inputs = (x if x.__class__ is _ndarray else x._data,)
        elif len(inputs) == 2:
            a, b = inputs
            inputs = (a if a.__class__ is _ndarray else a._data, b if b.__class__ is _ndarray else b._data)
            a = b = None
        else:
            inputs = tuple([t if t.__class__ is _ndarray else t._data for t in inputs])
        x = None
    out = node.out
    parents = node.parents if targets is None else targets.prune(node.parents)
    if op.array_backward is not None:
        g_free = out_free = False
        if g.size >= _REUSE_MIN:
            g_free = g.base is None and _refcount(g) == _SOLE + 1 and B.writeable(g)
            if out is not None and not retain_graph:
                node.out = None
                out_free = out.base is None and _refcount(out) == _SOLE and B.writeable(out)
        return op.array_backward(g, out, inputs, parents, g_free, out_free)
    if op.vjp_all is not None:
        return list(op.vjp_all(g, out, inputs, node.params, [p is not None for p in parents]))
    args = (inputs or _NONES[len(parents)]) + node.params
    vjps = op.vjps
    if len(parents) == 1 and parents[0] is not None:  # most nodes
        vjp = vjps[0]
        return [g if vjp is identity_vjp else vjp(g, out, *args)]
    if len(parents) == 2:  # (unrolled: the loop below costs an iterator and an append per input)
        pa, pb = parents
        va, vb = vjps
        return [None if pa is None else g if va is identity_vjp else va(g, out, *args),
                None if pb is None else g if vb is identity_vjp else vb(g, out, *args)]
    gins = []  # (a loop: a comprehension reading g, out and args would make them cells)
    for vjp, p in zip(vjps, parents):
        gins.append(None if p is None else g if vjp is identity_vjp else vjp(g, out, *args))
    return gins


# -- the rare paths -----------------------------------------------------------------------------

def _enter_walk(create_graph: bool) -> tuple:
    """Set this thread up for a walk; returns what ``_leave_walk`` restores.

    Ops the VJPs call record only under create_graph, and take raw arrays without it; numpy's
    FP warnings are off (as in forward). The cyclic garbage collector is paused: the walk
    makes no reference cycles, and it would only rescan the graph (a tenth of a long chain's
    backward).
    """
    before = (_state.enabled, _state.raw, gc.isenabled(), B.fp_var_set(B.FP_IGNORE))
    _state.enabled = create_graph
    _state.raw = not create_graph
    gc.disable()
    return before


def _leave_walk(before: tuple) -> None:
    enabled, raw, gc_was_enabled, fp_token = before
    B.fp_var_reset(fp_token)
    _state.enabled = enabled
    _state.raw = raw
    if gc_was_enabled:
        gc.enable()


def _finish_leaves(leaves: list, grads: dict, raw: bool, targets, owned: set) -> None:
    """Last, the leaves: their gradient hooks, then their ``.grad`` (or autograd.grad's results),
    then their post-accumulate-grad hooks."""
    for leaf in leaves:
        g = grads.pop(leaf)
        hooks = leaf._hooks
        if hooks is not None and hooks.grad:
            g = _run_hooks(hooks.grad, g, raw)
        if targets is not None:
            targets.take(leaf, g, raw, owned)
            continue
        _store_grad(leaf, g, owned)
        if hooks is not None and hooks.post_accumulate:
            _run_post_accumulate_hooks(leaf, hooks.post_accumulate)


def _run_hooks(hooks: list, g, raw: bool):
    """Apply tensor hooks in order (a hook may return a replacement); user code runs with
    the walk's array shortcut off, so its ops behave as anywhere else."""
    prev = _state.raw
    _state.raw = False
    try:
        gt = _make(g, False, None) if raw else g
        for hook in hooks:
            r = hook(gt)
            if r is not None:
                gt = r
    finally:
        _state.raw = prev
    return gt._data if raw else gt


def _run_post_accumulate_hooks(tensor, hooks: list) -> None:
    """Call each ``hook(tensor)`` once ``tensor.grad`` holds this walk's gradient (user code:
    the array shortcut of the walk is off while it runs)."""
    prev = _state.raw
    _state.raw = False
    try:
        for hook in hooks:
            hook(tensor)
    finally:
        _state.raw = prev


class _Targets:
    """autograd.grad's inputs: where their gradients go, and which nodes lead to one (the
    walk skips the rest)."""

    __slots__ = ("slots", "needed", "results")

    def __init__(self, tensors: list, grads: dict) -> None:
        self.slots: dict = {}  # node or leaf -> positions in ``tensors``
        for i, t in enumerate(tensors):
            self.slots.setdefault(t if t.grad_fn is None else t.grad_fn, []).append(i)
        self.needed = _nodes_leading_to(list(grads), self.slots)
        self.results = [None] * len(tensors)

    def take(self, key, g, raw: bool, owned: set) -> bool:
        """Keep ``g`` if ``key`` is a target; True when some target lies at or below ``key``."""
        if key in self.slots:
            r = _hand_out(_make(g, False, None) if raw else g, owned)
            for i in self.slots[key]:
                self.results[i] = r
        return key in self.needed

    def prune(self, parents: tuple) -> tuple:
        """``parents`` with None for those that lead to no target (their VJPs are skipped)."""
        return tuple([p if p is not None and p in self.needed else None for p in parents])


def _nodes_leading_to(starts, targets: dict) -> set:
    """Keys from which some target is reachable."""
    order = []
    visited = set()
    stack = [(k, False) for k in starts]
    while stack:
        key, done = stack.pop()
        if done:
            order.append(key)
            continue
        if key in visited:
            continue
        visited.add(key)
        stack.append((key, True))
        if key.__class__ is Node:
            for p in key.parents:
                if p is not None and p not in visited:
                    stack.append((p, False))
    needed = set()
    for key in order:  # post-order: parents before consumers
        if key in targets:
            needed.add(key)
        elif key.__class__ is Node and any(p is not None and p in needed for p in key.parents):
            needed.add(key)
    return needed


def _check_versions(node) -> None:
    """Raise when a tensor ``node`` saved (an input, or its output) was changed in place since."""
    if node.versions is not None:
        for t, v in zip(node.inputs, node.versions):
            if v is not None and t._vc is not None and t._vc[0] != v:
                raise _version_error(node, t._vc, v, t)
    c = node.out_vc
    if c is not None and c[0]:
        raise _version_error(node, c, 0)


def _freed_error(node):
    return RuntimeError(
        f"{node.name()}: trying to backward through the graph a second time (or to directly access saved "
        "tensors after they have already been freed). Saved intermediate values of the graph are freed when "
        "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward through "
        "the graph a second time."
    )


# PyTorch's legacy type names, as its version-counter error prints a tensor ("[torch.FloatTensor [3]]").
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
               "uint8": "ByteTensor", "bool": "BoolTensor"}


def _version_error(node, counter, expected, saved=None):
    """PyTorch's message for a saved value changed in place: which tensor (type, shape and the op
    whose output it is), its version, and where to look. ``saved`` is the saved input Tensor, or
    None for the node's own saved output."""
    if saved is None:
        arr, producer = node.out, node
    else:
        arr, producer = saved._data, saved.grad_fn
    what = f"[minigrad.{_TYPE_NAMES.get(str(arr.dtype), str(arr.dtype))} {list(arr.shape)}]"
    if producer is not None:
        what += f", which is output 0 of {producer.name()},"
    where = getattr(node, "trace", None)
    if where:
        hint = (f"Hint: {node.name()}, the op that saved it, was created at: {where}. The variable in question "
                "was changed in there or anywhere later.")
    else:
        hint = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
                "minigrad.autograd.set_detect_anomaly(True) or the minigrad.autograd.detect_anomaly() context "
                "manager around the forward pass and backward().")
    return RuntimeError(
        f"{node.name()}: one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {what} is at version {counter[0]}; expected version {expected} instead. {hint}"
    )


def _check_finite(node, g) -> None:
    """Raise naming ``node`` when a gradient holds nan or inf (detect_anomaly)."""
    a = g._data if isinstance(g, Tensor) else g
    if a.dtype.kind == "f" and not B.XP[a.__class__].isfinite(a).all():
        where = getattr(node, "trace", None) or "<unknown location; enable detect_anomaly before the forward pass>"
        raise RuntimeError(
            f"Function '{node.name()}' returned nan or inf values in its gradient. "
            f"The op was created at: {where}"
        )


# -- storing gradients --------------------------------------------------------------------------

def _root(a):
    """The array that owns ``a``'s memory."""
    while a.base is not None:
        a = a.base
    return a


def _store_grad(tensor, g, owned: set) -> None:
    """Add the gradient ``g`` (an array, or a Tensor under create_graph) into ``tensor.grad``,
    never letting two ``.grad`` share memory.

    ``owned`` holds the ids of the base buffers already stored as some ``.grad`` in this
    walk; a gradient on one of them, or a read-only view, is copied.
    """
    old = tensor.grad
    if g.__class__ is not _ndarray and isinstance(g, Tensor):  # (else an array: numpy's, or a device's)
        if not _state.enabled:
            g = g._data  # nothing is recorded: the array rules below apply
        elif old is None:  # create_graph: the stored .grad stays on the graph
            if id(_root(g._data)) in owned or not B.writeable(g._data):
                g = g.clone()
            if g._data.dtype != tensor._data.dtype:
                g = g.to(tensor._data.dtype)
            owned.add(id(_root(g._data)))
            tensor.grad = g
            return
        else:
            tensor.grad = old + g
            owned.add(id(tensor.grad._data))
            return
    if old is None:
        root = g if g.base is None else _root(g)
        if id(root) in owned or not (g.flags.writeable if g.__class__ is _ndarray else B.writeable(g)) \
                or g.dtype != tensor._data.dtype:
            g = root = g.astype(tensor._data.dtype)  # a copy, in the tensor's dtype
        owned.add(id(root))
        tensor.grad = _make(g, False, None)
    elif not old._rg and old._data.shape == g.shape and \
            (old._data.flags.writeable if old._data.__class__ is _ndarray else B.writeable(old._data)):
        # As PyTorch's AccumulateGrad without create_graph: add in place, so the same
        # .grad object keeps accumulating (and no new buffer is allocated).
        B.XP[g.__class__].add(old._data, g, out=old._data, casting="unsafe")
        old._bump()
        owned.add(id(old._data))
    else:
        tensor.grad = old + _make(g, False, None)
        owned.add(id(tensor.grad._data))


def zero_grads(tensors, set_to_none: bool = True) -> None:
    """``zero_grad`` of ``Module`` and ``Optimizer``: each tensor's ``.grad`` set to None, or
    zeroed in place (as PyTorch: cut off any graph it was on, its version bumped; a read-only
    gradient, such as a broadcast view handed out by backward, is replaced by zeros)."""
    for p in tensors:
        g = p.grad
        if g is None:
            continue
        if set_to_none:
            p.grad = None
            continue
        if g.grad_fn is not None:
            g.detach_()
        else:
            g._rg = False
        if B.writeable(g._data):
            g._data[...] = 0
        else:
            g._data = B.XP[g._data.__class__].zeros_like(g._data)
        g._bump()


def _hand_out(g, owned: set):
    """``g`` to return from autograd.grad, copied if it shares a buffer with a ``.grad`` stored
    in this walk (later backward calls add into those in place); its buffer joins ``owned``."""
    root = _root(g._data)
    if id(root) in owned:
        g = g.clone()
        root = g._data
    owned.add(id(root))
    return g


# -- the public entry points ----------------------------------------------------------------------

def _seed(t, g, op: str):
    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs (got output of shape {tuple(t.shape)})"
            )
        # dtype given explicitly: a numpy scalar alone would count as a Python number (default dtype)
        one = constant(1, t._data.dtype, B.backend_of(t._data))  # (on t's device)
        return one.expand(t.shape) if t.ndim else one
    if not isinstance(g, Tensor):
        g = constant(g, t._data.dtype)
    if g.shape != t.shape:
        raise RuntimeError(
            f"{op}: Mismatch in shape: grad_output has a shape of {tuple(g.shape)} and output has a shape "
            f"of {tuple(t.shape)}"
        )
    if g._data.dtype != t._data.dtype:
        g = g.to(t._data.dtype)
    return g


def _as_tuple(x):
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into ``.grad`` of the graph's tensors that require grad."""
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    else:
        grad_tensors = _as_tuple(grad_tensors) if not isinstance(grad_tensors, (list, tuple)) else tuple(grad_tensors)
    for t in tensors:
        if not t._rg:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn "
                f"(backward() on a tensor of shape {tuple(t.shape)} that does not require grad)"
            )
    seeds = [_seed(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        grads = run_backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph,
                             capture=list(inputs))
        for t, g in zip(inputs, grads):
            if g is not None and t.grad_fn is None:
                _store_grad(t, g, set())
        return
    run_backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, as a tuple; leaves' ``.grad`` is untouched."""
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    for i, t in enumerate(inputs):
        if not t._rg:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    pairs = [(t, g) for t, g in zip(outputs, grad_outputs) if t._rg]
    if not pairs:
        raise RuntimeError("grad: none of the outputs requires grad (they do not depend on the inputs)")
    seeds = [_seed(t, g, "grad") for t, g in pairs]
    if retain_graph is None:
        retain_graph = create_graph
    results = run_backward([t for t, _ in pairs], seeds, retain_graph=retain_graph,
                           create_graph=create_graph, capture=list(inputs))
    out = []
    for i, (t, g) in enumerate(zip(inputs, results)):
        if g is None:
            if materialize_grads:
                g = _make(B.XP[t._data.__class__].zeros(t._data.shape, t._data.dtype), False, None)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) appears to "
                    "not have been used in the graph. Set allow_unused=True if this is the desired behavior."
                )
        out.append(g)
    return tuple(out)
