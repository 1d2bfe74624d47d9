"""RMSprop (Hinton), with momentum and the centered variant, as PyTorch's RMSprop."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, _check_lr, _check_nonneg, _grads, _prepare_grad, _state_tensor, _step_tensor


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)``.

    Per parameter, with gradient ``g`` (plus ``weight_decay * p``)::

        v = alpha * v + (1 - alpha) * g * g
        avg = sqrt(v - a * a) + eps   (centered, a = running mean of g)   else sqrt(v) + eps
        b = momentum * b + g / avg;  p -= lr * b      (momentum > 0)
        p -= lr * g / avg                             (otherwise)

    ``eps`` is added outside the square root, as in PyTorch.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        _check_lr(lr)
        _check_nonneg("eps", eps, "epsilon")
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("alpha", alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One RMSprop update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            momentum, centered = group["momentum"], group["centered"]
            for p, g in _grads(group):
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                data = p._data
                state = self.state[p]
                if not state:
                    state["step"] = _step_tensor()
                    state["square_avg"] = _state_tensor(xp.zeros_like(data))
                    if momentum > 0:
                        state["momentum_buffer"] = _state_tensor(xp.zeros_like(data))
                    if centered:
                        state["grad_avg"] = _state_tensor(xp.zeros_like(data))
                g = _prepare_grad(p, g, group["maximize"], group["weight_decay"])
                state["step"]._data[...] += 1
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * (g * g)
                if centered:
                    a = state["grad_avg"]._data
                    a += (g - a) * (1 - alpha)
                    avg = v - a * a
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= momentum
                    buf += g / avg
                    data -= lr * buf
                else:
                    data -= lr * (g / avg)
                p._bump()
        return loss
