"""Reverse-mode autodiff: ``backward``, ``grad``, gradient checks and anomaly detection."""

from __future__ import annotations

from . import functional
from .anomaly import detect_anomaly, set_detect_anomaly
from .engine import (
    Node,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    run_backward,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "GradcheckError", "Node", "backward", "detect_anomaly", "enable_grad", "functional", "grad",
    "gradcheck", "gradgradcheck", "inference_mode", "is_grad_enabled", "no_grad",
    "set_detect_anomaly", "set_grad_enabled",
]


def _seed(t, g, op: str):
    from ..ops.registry import constant
    from ..tensor import Tensor

    if g is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs (got output of shape {tuple(t.shape)})"
            )
        # dtype given explicitly: a numpy scalar alone would count as a Python number (default dtype)
        one = constant(1, t._data.dtype)
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
    from ..tensor import Tensor

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
                from .engine import _store_grad

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
                from ..factories import zeros_like

                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) appears to "
                    "not have been used in the graph. Set allow_unused=True if this is the desired behavior."
                )
        out.append(g)
    return tuple(out)

