"""Adam (Kingma & Ba), with optional AMSGrad and L2 or decoupled weight decay, as PyTorch's Adam."""

from __future__ import annotations

import math

from .. import backend as B
from .optimizer import Optimizer, _check_lr, _check_nonneg, _grads, _prepare_grad, _state_tensor, _step_tensor


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False)``.

    Per parameter, at step ``t`` with gradient ``g`` (plus ``weight_decay * p``)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g      (v_max = max(v_max, v) with amsgrad)
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    ``decoupled_weight_decay=True`` makes it AdamW (``p *= 1 - lr * weight_decay`` first).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("eps", eps, "epsilon")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One Adam update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            wd = group["weight_decay"]
            amsgrad = group["amsgrad"]
            decoupled = group.get("decoupled_weight_decay", False)
            for p, g in _grads(group):
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                data = p._data
                state = self.state[p]
                if not state:
                    state["step"] = _step_tensor()
                    state["exp_avg"] = _state_tensor(xp.zeros_like(data))
                    state["exp_avg_sq"] = _state_tensor(xp.zeros_like(data))
                    if amsgrad:
                        state["max_exp_avg_sq"] = _state_tensor(xp.zeros_like(data))
                if decoupled:
                    g = -g if group["maximize"] else g
                    if wd != 0:
                        data *= 1 - lr * wd
                else:
                    g = _prepare_grad(p, g, group["maximize"], wd)
                step_t = state["step"]._data
                step_t += 1
                step = float(step_t)
                m = state["exp_avg"]._data
                v = state["exp_avg_sq"]._data
                # m.lerp_(g, 1 - beta1) and v = beta2 * v + (1 - beta2) * g * g, in place.
                tmp = g - m
                tmp *= 1 - beta1
                m += tmp
                v *= beta2
                xp.multiply(g, g, out=tmp)
                tmp *= 1 - beta2
                v += tmp
                bias_correction1 = 1 - beta1**step
                bias_correction2_sqrt = math.sqrt(1 - beta2**step)
                step_size = lr / bias_correction1
                if amsgrad:
                    vmax = state["max_exp_avg_sq"]._data
                    xp.maximum(vmax, v, out=vmax)
                    v = vmax
                # PyTorch adds eps after the bias correction of the second moment.
                xp.sqrt(v, out=tmp)
                tmp /= bias_correction2_sqrt
                tmp += eps
                xp.divide(m, tmp, out=tmp)
                tmp *= step_size
                data -= tmp
                p._bump()
        return loss
