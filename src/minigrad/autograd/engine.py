"""Grad mode, graph nodes and the iterative backward walk.

The graph: every Tensor made by a recorded op points at its ``Node`` (``grad_fn``).
A node points at its inputs' nodes (``parents``; a leaf that requires grad stands
for itself there), never at the tensor it made, except through a weak reference
used to fill that tensor's ``.grad``. So a graph is freed by reference counting
alone, and a tensor nothing else holds is released as backward passes it.

The walk visits nodes newest first (each node's creation number orders a heap; every consumer
of a node was made after it, so this is a topological order): no recursion anywhere.
"""

from __future__ import annotations

import gc
import itertools
import sys
import threading
import traceback
from heapq import heappop, heappush
from typing import Callable

from .. import backend as B

# One entry per thread that now has grad mode off / anomaly detection on (list append and pop
# are atomic). The op callers test these plain lists first (a thread-local lookup costs ~3% of a
# small op): while GRAD_OFF is empty, grad is on in every thread. A thread that ends with grad
# off leaves its entry, which only sends the callers to the thread-local (correct) test.
GRAD_OFF: list = []
ANOMALY_ON: list = []
# Likewise for minigrad.viz.keep_intermediates(): while on, each recorded node holds its
# inputs' tensors (Node.kept: the outputs of its parent nodes, and its saved inputs, which
# backward would free), so a drawing made after backward shows every value and grad.
KEEP_ON: list = []


class _GradState(threading.local):
    """Per-thread autograd switches, as in PyTorch."""

    _enabled = True
    _anomaly = False
    _keep = False
    raw = False  # inside a backward walk without create_graph: ops given arrays return arrays

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value) -> None:
        value = bool(value)
        if value != self._enabled:
            if value:
                GRAD_OFF.pop()
            else:
                GRAD_OFF.append(None)
            self._enabled = value

    @property
    def anomaly(self) -> bool:
        return self._anomaly

    @anomaly.setter
    def anomaly(self, value) -> None:
        value = bool(value)
        if value != self._anomaly:
            if value:
                ANOMALY_ON.append(None)
            else:
                ANOMALY_ON.pop()
            self._anomaly = value

    @property
    def keep(self) -> bool:
        return self._keep

    @keep.setter
    def keep(self, value) -> None:
        value = bool(value)
        if value != self._keep:
            if value:
                KEEP_ON.append(None)
            else:
                KEEP_ON.pop()
            self._keep = value


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when ops are being recorded for backward in this thread."""
    return _state.enabled




class _GradModeContext:
    """A context manager that is also a decorator (as ``torch.no_grad``)."""

    mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn: Callable) -> Callable:
        ctx_type = type(self)
        args = self._args()

        def wrapper(*a, **k):
            with ctx_type(*args):
                return fn(*a, **k)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        wrapper.__wrapped__ = fn
        return wrapper

    def _args(self) -> tuple:
        return ()


class no_grad(_GradModeContext):
    """Disable recording inside a ``with`` block or a decorated function (``@no_grad()`` or, as
    PyTorch allows, bare ``@no_grad``)."""

    mode = False

    def __new__(cls, orig_func: Callable | None = None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or a function to decorate (got {orig_func!r})")
        return cls()(orig_func)  # bare @no_grad: decorate at once


class enable_grad(_GradModeContext):
    """Enable recording inside a ``with`` block or a decorated function (``@enable_grad()`` or
    bare ``@enable_grad``)."""

    mode = True

    def __new__(cls, orig_func: Callable | None = None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, or a function to decorate (got {orig_func!r})")
        return cls()(orig_func)


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(mode)``: set recording on or off; usable as a context manager."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self.mode  # takes effect at once, as in PyTorch

    def __enter__(self):
        return self

    def _args(self) -> tuple:
        return (self.mode,)


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (minigrad has no separate inference tensors); ``@inference_mode()``,
    ``@inference_mode(False)`` or bare ``@inference_mode``."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool) or not callable(mode):
            return super().__new__(cls)
        return cls(True)(mode)  # bare @inference_mode: decorate at once

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _args(self) -> tuple:
        return (not self.mode,)


class Node:
    """One recorded op call: what backward needs to send gradients to its inputs.

    ``parents[i]`` is the node of input i, the input tensor itself when it is a
    leaf that requires grad, or None when input i needs no gradient. ``seq`` grows
    with creation, so a node's consumers always have larger ``seq`` than the node:
    the backward walk visits nodes in decreasing ``seq``, a topological order.
    Built by ``ops.registry._finish`` (see there for what each slot holds).
    """

    __slots__ = (
        "op", "parents", "params", "inputs", "out", "versions", "out_vc", "in_meta",
        "out_ref", "hooks", "seq", "bumps", "trace", "kept", "__weakref__",
    )

    def name(self) -> str:
        """PyTorch-style name of this backward function, e.g. ``MulBackward0``."""
        return self.op.backward_name

    @property
    def next_functions(self) -> tuple:
        """((node or AccumulateGrad or None, 0), ...) per input, as in PyTorch."""
        out = []
        for p in self.parents:
            if p is None or isinstance(p, Node):
                out.append((p, 0))
            else:
                out.append((AccumulateGrad(p), 0))
        return tuple(out)

    def register_hook(self, fn: Callable) -> None:
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class LeafHooks:
    """A leaf tensor's hooks (its ``_hooks``): ``grad`` ones (``register_hook``) see the gradient
    before it is stored in ``.grad``; ``post_accumulate`` ones
    (``register_post_accumulate_grad_hook``) get the tensor after it was stored."""

    __slots__ = ("grad", "post_accumulate")

    def __init__(self) -> None:
        self.grad: list = []
        self.post_accumulate: list = []


class AccumulateGrad:
    """Stands for a leaf in ``next_functions``; ``.variable`` is the leaf tensor."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


_refcount = sys.getrefcount


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
_gc_isenabled = gc.isenabled
_gc_disable = gc.disable
_gc_enable = gc.enable
# Node.seq values: atomic under the GIL, so threads never share one.
next_seq = itertools.count().__next__
# In-place changes of any tensor so far (Tensor._bump counts them). A node made when the
# count was what it still is has nothing modified since: its version checks are skipped.
BUMPS = [0]


def creation_site() -> str:
    """File and line of the first stack frame outside minigrad (for detect_anomaly)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/minigrad/" not in frame.filename.replace("\\", "/"):
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}'
    return "<unknown>"






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
    if g.__class__ is not _ndarray:
        if not _state.enabled:
            g = g._data  # nothing is recorded: the array rules below apply
        elif old is None:  # create_graph: the stored .grad stays on the graph
            if id(_root(g._data)) in owned or not g._data.flags.writeable:
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
        if id(root) in owned or not g.flags.writeable or g.dtype != tensor._data.dtype:
            g = root = g.astype(tensor._data.dtype)  # a copy, in the tensor's dtype
        owned.add(id(root))
        tensor.grad = _Tensor._make(g, False, None)
    elif not old._rg and old._data.shape == g.shape and old._data.flags.writeable:
        # As PyTorch's AccumulateGrad without create_graph: add in place, so the same
        # .grad object keeps accumulating (and no new buffer is allocated).
        B.xp.add(old._data, g, out=old._data, casting="unsafe")
        old._bump()
        owned.add(id(old._data))
    else:
        tensor.grad = old + _Tensor._make(g, False, None)
        owned.add(id(tensor.grad._data))


def _hand_out(g, owned: set):
    """``g`` to return from autograd.grad, copied if it shares a buffer with a ``.grad`` stored
    in this walk (later backward calls add into those in place); its buffer joins ``owned``."""
    root = _root(g._data)
    if id(root) in owned:
        g = g.clone()
        root = g._data
    owned.add(id(root))
    return g


def _check_finite(node, grads) -> None:
    """Raise naming ``node`` when a gradient array holds nan or inf (detect_anomaly)."""
    for g in grads:
        if g is not None and g.dtype.kind == "f" and not B.xp.isfinite(g).all():
            where = getattr(node, "trace", None) or "<unknown location; enable detect_anomaly before the forward pass>"
            raise RuntimeError(
                f"Function '{node.name()}' returned nan or inf values in its gradient. "
                f"The op was created at: {where}"
            )


_sum_to = None
_sum_to_array = None
_identity_vjp = None
_Tensor = None
_ndarray = B.ndarray
_NONES = [(None,) * n for n in range(64)]
_FREED = ()  # node.inputs after backward freed what the node saved (falsy, like None)


def _late_imports() -> None:
    global _sum_to, _sum_to_array, _Tensor, _identity_vjp
    from ..ops.movement import _sum_to_fwd, sum_to
    from ..ops.registry import identity_vjp
    from ..tensor import Tensor

    _identity_vjp = identity_vjp

    _sum_to = sum_to
    _sum_to_array = _sum_to_fwd
    _Tensor = Tensor


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


def _run_hooks(hooks, g):
    """Apply tensor hooks in order (a hook may return a replacement); user code runs with
    the array shortcut of the walk switched off, so its ops behave as anywhere else."""
    prev = _state.raw
    _state.raw = False
    try:
        for hook in hooks:
            r = hook(g)
            if r is not None:
                g = r
    finally:
        _state.raw = prev
    return g


def _run_post_accumulate_hooks(tensor, hooks) -> None:
    """Call each ``hook(tensor)`` once ``tensor.grad`` holds this walk's gradient (user code:
    the array shortcut of the walk is off while it runs)."""
    prev = _state.raw
    _state.raw = False
    try:
        for hook in hooks:
            hook(tensor)
    finally:
        _state.raw = prev


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool,
                 capture=None, accumulate_leaves: bool = True):
    """Backpropagate ``root_grads`` from ``roots`` (tensors) through their graph.

    With ``capture`` (a list of tensors), return their gradients (None where
    unreachable) instead of accumulating into leaves' ``.grad`` (autograd.grad).

    Nodes are visited in decreasing creation order (``Node.seq``) from a heap: every
    consumer of a node was made after it, so a node's gradient is complete when it is
    popped, with no dependency-counting pass. The node scheduled last waits beside the heap
    (``ready``) and is taken next unless the heap holds a newer one. Leaves are finished last.

    Without ``create_graph`` nothing is recorded, so gradients travel as raw arrays:
    ops whose VJPs are marked array-safe (``registry.array_safe``) get arrays for g,
    out and their saved inputs and run on numpy directly; the others get Tensors as
    usual. With ``create_graph`` every VJP gets Tensors and is recorded.
    """
    if _sum_to is None:
        _late_imports()
    sum_to = _sum_to
    make_tensor = _Tensor._make
    raw = not create_graph
    bumps = BUMPS
    identity = _identity_vjp
    reuse_min = _REUSE_MIN

    # Keys: a Node, or a leaf Tensor that requires grad. A node is pushed on the heap
    # (and a leaf appended to ``leaves``) when its first gradient arrives.
    grads: dict = {}
    heap: list = []
    leaves: list = []
    for t, g in zip(roots, root_grads):
        node = t.grad_fn
        key = node if node is not None else t
        if raw:
            g = g._data
        if key in grads:
            grads[key] = grads[key] + g
        else:
            grads[key] = g
            if node is not None:
                heappush(heap, (-node.seq, node))
            else:
                leaves.append(key)

    capture_keys = needed = results = None
    if capture is not None:
        capture_keys = {}
        for i, t in enumerate(capture):
            key = t.grad_fn if t.grad_fn is not None else t
            capture_keys.setdefault(key, []).append(i)
        needed = _nodes_leading_to(list(grads), capture_keys)
        results = [None] * len(capture)
    owned: set = {id(g._data) for g in root_grads}
    prev_mode = _state.enabled
    prev_raw = _state.raw
    _state.enabled = create_graph
    _state.raw = raw
    anomaly = _state.anomaly
    # The walk makes no reference cycles: the cyclic collector would only rescan the graph
    # (a tenth of a long chain's backward time), so it is paused until the walk ends.
    gc_was_enabled = _gc_isenabled()
    if gc_was_enabled:
        _gc_disable()
    tok = B.fp_var_set(B.FP_IGNORE)
    try:
        # ``ready``: the node scheduled last, kept out of the heap; the walk takes it next
        # unless the heap holds a newer one (so a chain of single consumers never touches it).
        ready = None
        while True:
            if ready is not None:
                if heap and heap[0][0] < -ready.seq:
                    heappush(heap, (-ready.seq, ready))
                    node = heappop(heap)[1]
                else:
                    node = ready
                ready = None
            elif heap:
                node = heappop(heap)[1]
            else:
                break
            g = grads.pop(node)
            if node.hooks:
                gt = _run_hooks(node.hooks, make_tensor(g, False, None) if raw else g)
                g = gt._data if raw else gt
            t = node.out_ref()
            if t is not None and t.grad_fn is node:
                _store_grad(t, g, owned)
            if capture_keys is not None:
                if node in capture_keys:
                    r = _hand_out(make_tensor(g, False, None) if raw else g, owned)
                    for i in capture_keys[node]:
                        results[i] = r
                if node not in needed:
                    continue
            inputs = node.inputs
            if inputs is _FREED:
                raise _freed_error(node)
            if node.bumps != bumps[0]:  # some tensor changed in place since the node was made
                versions = node.versions
                if versions is not None:
                    for t, v in zip(inputs, versions):
                        if v is not None:
                            c = t._vc
                            if c is not None and c[0] != v:
                                raise _version_error(node, c, v, t)
                c = node.out_vc
                if c is not None and c[0]:
                    raise _version_error(node, c, 0)
            op = node.op
            parents = node.parents
            out = node.out
            gins = None  # set here by an array backward, else below by the VJPs
            if raw and op.raw:
                # Array-safe VJPs: numpy arrays in, arrays out (number operands are 0-d arrays already).
                if inputs:
                    if len(inputs) == 2:
                        a, b = inputs
                        inputs = (a if a.__class__ is _ndarray else a._data, b if b.__class__ is _ndarray else b._data)
                        a = b = None
                    elif len(inputs) == 1:
                        a = inputs[0]
                        inputs = (a if a.__class__ is _ndarray else a._data,)
                        a = None
                    else:
                        inputs = tuple([t if t.__class__ is _ndarray else t._data for t in inputs])
                backward = op.array_backward
                if backward is not None:
                    # The op's array backward (one call for all inputs). For large arrays it may
                    # write into the incoming gradient and the saved output when nothing else
                    # references them (no new buffer, fewer passes).
                    g_free = out_free = False
                    if g.size >= reuse_min:
                        g_free = g.base is None and _refcount(g) == _SOLE and g.flags.writeable
                        if out is not None and not retain_graph:
                            node.out = None
                            out_free = out.base is None and _refcount(out) == _SOLE and out.flags.writeable
                    if needed is not None:  # autograd.grad: no gradient for inputs that lead to no target
                        parents = tuple([p if p is not None and p in needed else None for p in parents])
                    gins = backward(g, out, inputs, parents, g_free, out_free)
            else:
                if raw:
                    g = make_tensor(g, False, None)
                if out is not None:
                    # Re-wrap the saved output; under create_graph it leads back to this node.
                    out = make_tensor(out, create_graph, node if create_graph else None)
            if gins is not None:
                pass  # done by the op's array backward above
            elif op.vjps is not None:
                vjps = op.vjps
                args = inputs or _NONES[len(parents)]
                if node.params:
                    args = args + node.params
                if needed is None and len(parents) <= 2:  # the common cases, unrolled
                    if len(parents) == 1:
                        v = vjps[0]
                        gins = [g if v is identity else v(g, out, *args)]
                    else:
                        v, w = vjps
                        gins = [None if parents[0] is None else g if v is identity else v(g, out, *args),
                                None if parents[1] is None else g if w is identity else w(g, out, *args)]
                else:
                    gins = [None if p is None or (needed is not None and p not in needed)
                            else vjps[i](g, out, *args) for i, p in enumerate(parents)]
            else:
                mask = tuple([p is not None and (needed is None or p in needed) for p in parents])
                gins = list(op.vjp_all(g, out, inputs, node.params, mask))
            inputs = args = out = g = None  # drop our references so freed tensors die now
            if not retain_graph and op.saves:
                node.inputs = _FREED
                node.out = None
            meta = node.in_meta
            i = -1
            for p in parents:
                i += 1
                if p is None:
                    continue
                gi = gins[i]
                if gi is None:
                    continue
                gins[i] = None  # (so a buffer's reference count says who else holds it)
                if raw:
                    if gi.__class__ is not _ndarray:
                        gi = gi._data if isinstance(gi, _Tensor) else B.xp.asarray(gi)
                    if meta is not None and meta[i] is not None:
                        shape, dt = meta[i]
                        if gi.shape != shape:
                            gi = _sum_to_array(gi, shape)
                        if gi.dtype is not dt:
                            gi = gi.astype(dt)
                    if anomaly:
                        _check_finite(node, (gi,))
                    prev = grads.get(p)
                    if prev is None:
                        grads[p] = gi
                    elif prev.base is None and _refcount(prev) == _SOLE + 1 and prev.shape == gi.shape \
                            and prev.flags.writeable:
                        # Only ``grads`` and this frame hold this buffer (numpy's own test for
                        # reusing a temporary): add into it, no new array.
                        prev += gi
                    else:
                        prev = prev + gi
                        if prev.__class__ is not _ndarray:  # 0-d sums come back as numpy scalars
                            prev = B.xp.asarray(prev)
                        grads[p] = prev
                        continue
                else:
                    if meta is not None and meta[i] is not None:
                        shape, dt = meta[i]
                        if gi._data.shape != shape:
                            gi = sum_to(gi, shape)
                        if gi._data.dtype is not dt:
                            gi = gi.to(dt)
                    if anomaly:
                        _check_finite(node, (gi._data,))
                    prev = grads.get(p)
                    if prev is None:
                        grads[p] = gi
                    else:
                        grads[p] = prev + gi
                        continue
                if prev is None:  # p's first gradient: schedule it
                    if p.__class__ is Node:
                        if ready is None:
                            ready = p
                        else:
                            heappush(heap, (-p.seq, p))
                    else:
                        leaves.append(p)
            gins = gi = prev = None
        for key in leaves:
            g = grads.pop(key)
            hooks = key._hooks
            if hooks is not None and hooks.grad:
                g = _run_hooks(hooks.grad, make_tensor(g, False, None) if raw else g)
                if raw:
                    g = g._data
            if capture_keys is not None:
                if key in capture_keys:
                    gt = _hand_out(make_tensor(g, False, None) if raw else g, owned)
                    for i in capture_keys[key]:
                        results[i] = gt
            elif accumulate_leaves:
                _store_grad(key, g, owned)
                if hooks is not None and hooks.post_accumulate:
                    _run_post_accumulate_hooks(key, hooks.post_accumulate)
    finally:
        B.fp_var_reset(tok)
        _state.enabled = prev_mode
        _state.raw = prev_raw
        if gc_was_enabled:
            _gc_enable()
    return results


def _nodes_leading_to(starts, targets: dict) -> set:
    """Keys from which some target is reachable (so autograd.grad skips the rest)."""
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
