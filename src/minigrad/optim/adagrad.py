"""Adagrad (Duchi et al.), as PyTorch's Adagrad."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, _check_lr, _check_nonneg, _grads, _prepare_grad, _state_tensor, _step_tensor


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10)``.

    Per parameter, at step ``t`` with gradient ``g`` (plus ``weight_decay * p``)::

        s += g * g
        p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    State is created for every parameter at construction, as in PyTorch.
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg("lr_decay", lr_decay)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("initial_accumulator_value", initial_accumulator_value)
        _check_nonneg("eps", eps, "epsilon")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                state = self.state[p]
                state["step"] = _step_tensor()
                init = group["initial_accumulator_value"]
                state["sum"] = _state_tensor(xp.full_like(p._data, init))

    def step(self, closure=None):
        """One Adagrad update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            for p, g in _grads(group):
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                state = self.state[p]
                if not state:  # a parameter added later with add_param_group
                    state["step"] = _step_tensor()
                    state["sum"] = _state_tensor(xp.full_like(p._data, group["initial_accumulator_value"]))
                if state["sum"]._data.__class__ is not p._data.__class__:  # the model moved since
                    state["sum"] = _state_tensor(B.to_backend(state["sum"]._data, B.backend_of(p._data)))
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                g = _prepare_grad(p, g, group["maximize"], group["weight_decay"])
                clr = lr / (1 + (step - 1) * lr_decay)
                s = state["sum"]._data
                s += g * g
                std = xp.sqrt(s)
                std += eps
                p._data -= clr * (g / std)
                p._bump()
        return loss
