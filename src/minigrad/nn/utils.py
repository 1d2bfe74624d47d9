"""``nn.utils``: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

import math
from typing import Iterable

from .. import backend as B
from ..autograd.graph import no_grad
from ..ops.registry import constant
from ..tensor import Tensor

xp = B.xp


def _as_list(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (as if they were concatenated)."""
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return constant(xp.asarray(0.0, dtype=B.float32))
    arrays = [t._data for t in tensors]
    dt = xp.result_type(*[a.dtype for a in arrays])
    if norm_type == math.inf:
        total = max(float(xp.abs(a).max()) if a.size else 0.0 for a in arrays)
    elif norm_type == -math.inf:
        total = min(float(xp.abs(a).min()) if a.size else math.inf for a in arrays)
    else:
        norms = xp.array([float(_pnorm(a.astype(B.float64), norm_type)) for a in arrays])  # (read on the host)
        total = float(_pnorm(norms, norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return constant(B.to_backend(xp.asarray(total, dtype=dt), B.backend_of(arrays[0])))  # on the tensors' device


def _pnorm(a, p: float):
    a = abs(a)
    if p == 2.0:
        return ((a * a).sum()) ** 0.5
    if p == 1.0:
        return a.sum()
    if p == 0.0:
        return (a != 0).sum()
    return (a**p).sum() ** (1.0 / p)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so their total ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm before clipping (a 0-d Tensor). Gradients are multiplied by
    min(1, max_norm / (total + 1e-6)), as PyTorch.
    """
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    coef = min(float(max_norm) / (float(total.item()) + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient elementwise to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    from ..ops.movement import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' data (views of ``vec``, as PyTorch)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector, got shape {tuple(vec.shape)}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise RuntimeError(f"vector_to_parameters: vector has {vec.numel()} elements, parameters need {total}")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec._data[pointer:pointer + n].reshape(p.shape)
        pointer += n
