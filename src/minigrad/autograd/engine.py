"""Grad mode, graph nodes and the iterative backward walk.

The graph: every Tensor made by a recorded op points at its ``Node`` (``grad_fn``).
A node points at its inputs' nodes (``parents``; a leaf that requires grad stands
for itself there), never at the tensor it made, except through a weak reference
used to fill that tensor's ``.grad``. So a graph is freed by reference counting
alone, and a tensor nothing else holds is released as backward passes it.

The walk is Kahn's algorithm over consumer counts: no recursion anywhere.
"""

from __future__ import annotations

import threading
import traceback
from typing import Callable

from .. import backend as B


class _GradState(threading.local):
    """Per-thread autograd switches, as in PyTorch."""

    enabled = True
    anomaly = False
    raw = False  # inside a backward walk without create_graph: ops given arrays return arrays


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
    """Disable recording inside a ``with`` block or a decorated function."""

    mode = False


class enable_grad(_GradModeContext):
    """Enable recording inside a ``with`` block or a decorated function."""

    mode = True


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
    """Like ``no_grad`` (minigrad has no separate inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _args(self) -> tuple:
        return (not self.mode,)


class Node:
    """One recorded op call: what backward needs to send gradients to its inputs.

    ``parents[i]`` is the node of input i, the input tensor itself when it is a
    leaf that requires grad, or None when input i needs no gradient.
    """

    __slots__ = (
        "op", "parents", "params", "inputs", "out", "versions", "in_meta",
        "out_ref", "hooks", "trace", "__weakref__",
    )

    def __init__(self, op, parents, params, inputs, out, versions, in_meta):
        self.op = op
        self.parents = parents
        self.params = params
        self.inputs = inputs  # saved input Tensors, when the op's VJP reads them
        self.out = out  # saved output array, when the op's VJP reads it
        self.versions = versions  # ((counter, expected), ...) for saved values
        self.in_meta = in_meta  # ((shape, dtype), ...) when an input differs from out
        self.out_ref = None
        self.hooks = None
        # ``trace`` (creation site) is set only under detect_anomaly.

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


def creation_site() -> str:
    """File and line of the first stack frame outside minigrad (for detect_anomaly)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/minigrad/" not in frame.filename.replace("\\", "/"):
            return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}'
    return "<unknown>"






def _store_grad(tensor, g, owned: set) -> None:
    """Add ``g`` into ``tensor.grad``, never letting two ``.grad`` share memory.

    ``owned`` holds the ids of the base buffers already stored as some ``.grad``
    in this walk; a gradient on one of them, or a read-only view, is copied.
    """
    if tensor.grad is None:
        root = g._data
        while root.base is not None:
            root = root.base
        if id(root) in owned or not g._data.flags.writeable:
            g = g.clone()
            root = g._data
        if g._data.dtype != tensor._data.dtype:
            g = g.to(tensor._data.dtype)
            root = g._data
        owned.add(id(root))
        tensor.grad = g
    else:
        old = tensor.grad
        if not _state.enabled and not old._rg and old._data.shape == g._data.shape and old._data.flags.writeable:
            # As PyTorch's AccumulateGrad without create_graph: add in place, so the same
            # .grad object keeps accumulating (and no new buffer is allocated).
            B.xp.add(old._data, g._data, out=old._data, casting="unsafe")
            old._bump()
        else:
            tensor.grad = old + g
        owned.add(id(tensor.grad._data))


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
_Tensor = None
_ndarray = B.ndarray
_NONES = [(None,) * n for n in range(64)]
_FREED = ()  # node.inputs after backward freed what the node saved (falsy, like None)


def _late_imports() -> None:
    global _sum_to, _sum_to_array, _Tensor
    from ..ops.movement import _sum_to_fwd, sum_to
    from ..tensor import Tensor

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


def _version_error(node, counter, expected):
    return RuntimeError(
        f"{node.name()}: one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: it is at version {counter[0]}; expected version {expected} instead."
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


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool,
                 capture=None, accumulate_leaves: bool = True):
    """Backpropagate ``root_grads`` from ``roots`` (tensors) through their graph.

    With ``capture`` (a list of tensors), return their gradients (None where
    unreachable) instead of accumulating into leaves' ``.grad`` (autograd.grad).

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

    # Keys: a Node, or a leaf Tensor that requires grad.
    grads: dict = {}
    deps: dict = {}
    for t, g in zip(roots, root_grads):
        key = t.grad_fn if t.grad_fn is not None else t
        if raw:
            g = g._data
        grads[key] = g if key not in grads else grads[key] + g
        deps[key] = 0

    capture_keys = None
    if capture is not None:
        capture_keys = {}
        for i, t in enumerate(capture):
            key = t.grad_fn if t.grad_fn is not None else t
            capture_keys.setdefault(key, []).append(i)

    # Count each key's consumers within the reachable graph (iterative DFS).
    stack = [k for k in deps if k.__class__ is Node]
    while stack:
        for p in stack.pop().parents:
            if p is None:
                continue
            n = deps.get(p)
            if n is None:
                deps[p] = 1
                if p.__class__ is Node:
                    stack.append(p)
            else:
                deps[p] = n + 1

    needed = _nodes_leading_to(list(grads), capture_keys) if capture_keys is not None else None
    ready = [k for k, n in deps.items() if n == 0]
    results = [None] * len(capture) if capture is not None else None
    owned: set = {id(g._data) for g in root_grads}
    prev_mode = _state.enabled
    prev_raw = _state.raw
    _state.enabled = create_graph
    _state.raw = raw
    anomaly = _state.anomaly
    # ids of gradient sums created below and not yet handed on (in-place adds are safe
    # on those alone; never under create_graph, where sums are graph nodes).
    summed = set() if raw else None
    tok = B.fp_var_set(B.FP_IGNORE)
    try:
        while ready:
            key = ready.pop()
            g = grads.pop(key, None)
            if summed:
                summed.discard(id(g))
            if g is None:
                # Every consumer's VJP returned None: nothing flows further down.
                if key.__class__ is Node:
                    for p in key.parents:
                        if p is not None:
                            d = deps[p] - 1
                            deps[p] = d
                            if d == 0:
                                ready.append(p)
                continue
            if key.__class__ is not Node:  # a leaf tensor
                gt = make_tensor(g, False, None) if raw else g
                if key._hooks:
                    gt = _run_hooks(key._hooks, gt)
                if capture_keys is not None:
                    for i in capture_keys.get(key, ()):
                        results[i] = gt
                elif accumulate_leaves:
                    _store_grad(key, gt, owned)
                continue
            node = key
            if node.hooks:
                gt = _run_hooks(node.hooks, make_tensor(g, False, None) if raw else g)
                g = gt._data if raw else gt
            ref = node.out_ref
            if ref is not None:
                t = ref()
                if t is not None and t.grad_fn is node:
                    _store_grad(t, make_tensor(g, False, None) if raw else g, owned)
            if capture_keys is not None:
                if node in capture_keys:
                    r = make_tensor(g, False, None) if raw else g
                    if ref is not None and t is not None and t.grad is not None \
                            and B.xp.may_share_memory(t.grad._data, r._data):
                        r = r.clone()  # never alias the .grad stored above (later calls add into it in place)
                    for i in capture_keys[node]:
                        results[i] = r
                if node not in needed:
                    continue
            op = node.op
            if node.inputs is _FREED:
                raise _freed_error(node)
            versions = node.versions
            if versions is not None:
                for counter, expected in versions:
                    if counter[0] != expected:
                        raise _version_error(node, counter, expected)
            parents = node.parents
            params = node.params
            out = node.out
            inputs = node.inputs
            if raw and op.raw:
                # Array-safe VJPs: numpy arrays in, arrays out.
                if inputs:
                    inputs = tuple([t._data for t in inputs])
            else:
                if raw:
                    g = make_tensor(g, False, None)
                if out is not None:
                    # Re-wrap the saved output; under create_graph it leads back to this node.
                    out = make_tensor(out, create_graph, node if create_graph else None)
            if op.vjps is not None:
                inputs = inputs or _NONES[len(parents)]
                vjps = op.vjps
                gins = [None if p is None or (needed is not None and p not in needed)
                        else vjps[i](g, out, *inputs, *params) for i, p in enumerate(parents)]
            else:
                mask = tuple([p is not None and (needed is None or p in needed) for p in parents])
                gins = op.vjp_all(g, out, inputs, params, mask)
            inputs = out = g = None  # drop our references so freed tensors die now
            if not retain_graph and op.saves:
                node.inputs = _FREED
                node.out = None
            meta = node.in_meta
            for i, p in enumerate(parents):
                if p is None:
                    continue
                gi = gins[i]
                if gi is None:
                    d = deps[p] - 1
                    deps[p] = d
                    if d == 0:
                        ready.append(p)
                    continue
                if raw:
                    if gi.__class__ is not _ndarray:
                        gi = gi._data if isinstance(gi, _Tensor) else B.xp.asarray(gi)
                    if meta is not None:
                        shape, dt = meta[i]
                        if gi.shape != shape:
                            gi = _sum_to_array(B.xp, gi, shape)
                        if gi.dtype is not dt:
                            gi = gi.astype(dt)
                    if anomaly:
                        _check_finite(node, (gi,))
                    if p in grads:
                        prev = grads[p]
                        if id(prev) in summed and prev.shape == gi.shape:
                            # A sum this walk made and nobody else has seen: add in place.
                            prev += gi
                        else:
                            summed.discard(id(prev))
                            prev = prev + gi
                            if prev.__class__ is not _ndarray:  # 0-d sums come back as numpy scalars
                                prev = B.xp.asarray(prev)
                            summed.add(id(prev))
                            grads[p] = prev
                    else:
                        grads[p] = gi
                else:
                    if meta is not None:
                        shape, dt = meta[i]
                        if gi._data.shape != shape:
                            gi = sum_to(gi, shape)
                        if gi._data.dtype is not dt:
                            gi = gi.to(dt)
                    if anomaly:
                        _check_finite(node, (gi._data,))
                    grads[p] = grads[p] + gi if p in grads else gi
                d = deps[p] - 1
                deps[p] = d
                if d == 0:
                    ready.append(p)
            gins = gi = prev = None
    finally:
        B.fp_var_reset(tok)
        _state.enabled = prev_mode
        _state.raw = prev_raw
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
