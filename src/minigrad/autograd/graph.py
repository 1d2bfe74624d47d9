"""The graph's vocabulary, at the bottom of the core: ``Node``, grad mode, creation numbers
and the in-place change count. The ops (``ops/``) record into these; the walk
(``engine.py``) reads them. Imports nothing of minigrad.

The graph: every Tensor made by a recorded op points at its ``Node`` (``grad_fn``).
A node points at its inputs' nodes (``parents``; a leaf that requires grad stands
for itself there), never at the tensor it made, except through a weak reference
used to fill that tensor's ``.grad``. So a graph is freed by reference counting
alone, and a tensor nothing else holds is released as backward passes it.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from typing import Callable

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
    Built by ``ops.registry.record`` (see there for what each slot holds).
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
