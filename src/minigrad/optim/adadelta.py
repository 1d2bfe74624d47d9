"""Adadelta (Zeiler), as PyTorch's Adadelta."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, _check_lr, _check_nonneg, _grads, _prepare_grad, _state_tensor, _step_tensor


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False)``.

    Per parameter, with gradient ``g`` (plus ``weight_decay * p``)::

        v = rho * v + (1 - rho) * g * g
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d * d
        p -= lr * d
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0,
                 foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg("eps", eps, "epsilon")
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adadelta update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p, g in _grads(group):
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                data = p._data
                state = self.state[p]
                if not state:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _state_tensor(xp.zeros_like(data))
                    state["acc_delta"] = _state_tensor(xp.zeros_like(data))
                state["step"]._data[...] += 1
                g = _prepare_grad(p, g, group["maximize"], group["weight_decay"])
                v = state["square_avg"]._data
                u = state["acc_delta"]._data
                v *= rho
                v += (1 - rho) * (g * g)
                std = xp.sqrt(v + eps)
                delta = xp.sqrt(u + eps)
                delta /= std
                delta *= g
                u *= rho
                u += (1 - rho) * (delta * delta)
                data -= lr * delta
                p._bump()
        return loss
