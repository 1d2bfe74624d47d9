"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's SGD)."""

from __future__ import annotations

from .. import backend as B
from .optimizer import Optimizer, _check_lr, _check_nonneg, _grads, _prepare_grad, _state_tensor


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``.

    Per parameter, with ``g`` the gradient (plus ``weight_decay * p``)::

        b = g                                   (first step)
        b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b if nesterov else b
        p -= lr * g
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One SGD update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            nesterov = group["nesterov"]
            for p, g in _grads(group):
                xp = B.XP[p._data.__class__]  # this parameter's array module (numpy or cupy)
                g = _prepare_grad(p, g, group["maximize"], group["weight_decay"])
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        # PyTorch: the first step's buffer is the raw (decayed) gradient, no dampening.
                        buf = state["momentum_buffer"] = _state_tensor(xp.array(g, dtype=p._data.dtype, copy=True))
                        b = buf._data
                    else:
                        b = buf._data
                        b *= momentum
                        b += (1 - dampening) * g if dampening != 0 else g
                    g = g + momentum * b if nesterov else b
                data = p._data
                data -= lr * g
                p._bump()
        return loss
