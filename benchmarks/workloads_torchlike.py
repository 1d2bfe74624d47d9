"""The workloads written once against the PyTorch API, run by both minigrad and torch.

minigrad's contract is "a program written against minigrad runs under PyTorch after
replacing the name", so the two libraries run literally the same code here: ``L`` is a
small namespace holding the module (``L.T`` is ``minigrad`` or ``torch``) and whichever
of ``nn``, ``F`` (``nn.functional``) and ``optim`` it can import. Where a piece is
missing (minigrad's nn/optim are still being written) a workload falls back to raw
Tensor ops and says so in ``variant``; where no fallback is sensible (convolution) it
raises ``Unavailable``.

Each workload's repeated piece is its ``step`` method (one forward + backward, or one
training step); ``run()`` calls it through ``self._step``. The compiled variant
(``make(..., compiled=True)``) sets ``self._step = L.T.compile(self.step)`` and changes
nothing else, so eager and compiled run literally the same step.
"""

from __future__ import annotations

import numpy as np

from . import data as D
from .common import TINY_OPS_N, Unavailable, Workload


class Lib:
    """The library under test: module, optional nn / functional / optim, chosen API."""

    def __init__(self, T, nn=None, F=None, optim=None, api: str = "auto"):
        self.T = T
        self.nn = nn
        self.F = F
        self.optim = optim
        self.api = api

    def has(self, obj, *names) -> bool:
        return obj is not None and all(hasattr(obj, n) for n in names)

    def tensor(self, arr, requires_grad=False):
        t = self.T.from_numpy(np.array(arr, copy=True))
        if requires_grad:
            t.requires_grad_(True)
        return t


# -- tiny_ops -----------------------------------------------------------------

def tiny_program(a, b):
    """30 forward ops on shape (8,) tensors ending in a scalar (numpy floor: same program)."""
    c = a * b
    d = c + a
    e = d.tanh()
    f = b.sigmoid()
    g = e * f
    h = g.exp()
    i = h.log()
    j = a - b
    k = j.relu()
    l = k + i  # 10
    m = l * 0.5
    n = m.sin()
    o = n.cos()
    q = b * b
    q = q + 1.0
    p = o / q
    r = p.sqrt()
    s = r.sum()
    t = r.mean()
    u = a.abs()  # 20
    v = u + 0.001
    w = v.log()
    x = w * r
    y = x * x
    z = y.max()
    mm = y.mean()
    out = s + z
    out = out + mm
    out = out * t
    return out / 4.0  # 30


class TinyOps(Workload):
    name = "tiny_ops"

    def __init__(self, L: Lib, d: dict):
        self.a = L.tensor(d["a"], True)
        self.b = L.tensor(d["b"], True)
        self.reps = d["cfg"]["reps"]
        self.count = self.reps * TINY_OPS_N
        self.variant = "tensor ops"

    def step(self, a, b):
        out = tiny_program(a, b)
        out.backward()
        return out

    def step_args(self):
        return self.a, self.b

    def before_step(self):
        self.a.grad = None
        self.b.grad = None

    def run(self):
        a, b, step = self.a, self.b, self._step
        for _ in range(self.reps):
            a.grad = None
            b.grad = None
            out = step(a, b)
        return out

    def checksum(self):
        out = self.run()
        return float(out.item()) + float(self.a.grad.sum().item()) + float(self.b.grad.sum().item())


# -- deep_chain ---------------------------------------------------------------

class DeepChain(Workload):
    name = "deep_chain"

    def __init__(self, L: Lib, d: dict):
        self.x = L.tensor(d["x"], True)
        self.w = L.tensor(d["w"], True)
        self.links = d["cfg"]["n_ops"] // 4
        self.variant = "tensor ops"

    def step(self, x, w):
        y = x
        for _ in range(self.links):
            y = (y * w + x).tanh() * 0.5  # 4 ops per link
        out = y.sum()
        out.backward()
        return out

    def step_args(self):
        return self.x, self.w

    def before_step(self):
        self.x.grad = None
        self.w.grad = None

    def run(self):
        self.before_step()
        return self._step(self.x, self.w)

    def checksum(self):
        out = self.run()
        return float(out.item()) + float(self.x.grad.sum().item()) + float(self.w.grad.sum().item())


# -- big_elementwise ------------------------------------------------------------

class BigElementwise(Workload):
    name = "big_elementwise"

    def __init__(self, L: Lib, d: dict):
        self.x = L.tensor(d["x"], True)
        self.variant = "tensor ops"

    def step(self, x):
        out = (x.tanh() * x.sigmoid() + (-(x * x)).exp()).sum()
        out.backward()
        return out

    def step_args(self):
        return (self.x,)

    def before_step(self):
        self.x.grad = None

    def run(self):
        self.x.grad = None
        return self._step(self.x)

    def checksum(self):
        out = self.run()
        return float(out.item()) + float(self.x.grad.sum().item())


# -- training steps: shared pieces -----------------------------------------------

def _loss_fn(L: Lib):
    """Cross-entropy: F.cross_entropy when present, else log_softmax + gather."""
    if L.api != "raw" and L.has(L.F, "cross_entropy"):
        return L.F.cross_entropy, "F.cross_entropy"
    if L.api == "nn":
        raise Unavailable("nn.functional.cross_entropy is not importable")

    def ce(logits, y):
        return -(logits.log_softmax(dim=1).gather(1, y.unsqueeze(1))).mean()

    return ce, "log_softmax+gather"


def _updater(L: Lib, params, lr):
    """SGD: optim.SGD when present, else ``p -= lr * p.grad`` under no_grad."""
    if L.api != "raw" and L.has(L.optim, "SGD"):
        opt = L.optim.SGD(params, lr=lr)

        def step():
            opt.step()
            opt.zero_grad()

        return step, "optim.SGD"
    if L.api == "nn":
        raise Unavailable("optim.SGD is not importable")
    T = L.T

    def manual():
        with T.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None

    return manual, "manual SGD"


class _Stepper(Workload):
    """A training step workload: ``checksum`` re-initialises and takes ``check_steps`` steps."""

    def __init__(self, L: Lib, d: dict):
        self.L = L
        self.d = d
        self.x = L.tensor(d["x"])
        self.y = L.T.from_numpy(d["y"].copy())
        self.loss_fn, loss_name = _loss_fn(L)
        self.build()
        self.update, upd_name = _updater(L, self.params, D.LR)
        self.variant = f"{self.model_name}, {loss_name}, {upd_name}"

    def reset(self):
        T = self.L.T
        with T.no_grad():
            for p, arr in zip(self.params, self.d["params"]):
                p.copy_(T.from_numpy(arr.copy()))
                p.grad = None

    def step(self, x, y):
        loss = self.loss_fn(self.forward(x), y)
        loss.backward()
        self.update()
        return loss

    def step_args(self):
        return self.x, self.y

    def run(self):
        return self._step(self.x, self.y)

    def checksum(self):
        self.reset()
        for _ in range(self.d["cfg"]["check_steps"]):
            loss = self.run()
        return float(loss.item())


class MlpStep(_Stepper):
    name = "mlp_step"

    def build(self):
        L = self.L
        dims = self.d["cfg"]["dims"]
        if L.api != "raw" and L.has(L.nn, "Linear", "ReLU", "Sequential"):
            nn = L.nn
            self.model = nn.Sequential(nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2]),
                                       nn.ReLU(), nn.Linear(dims[2], dims[3]))
            self.params = list(self.model.parameters())
            self.forward = self.model
            self.model_name = "nn.Sequential(nn.Linear...)"
        elif L.api == "nn":
            raise Unavailable("nn.Linear / nn.Sequential are not importable")
        else:
            self.params = [L.tensor(a, True) for a in self.d["params"]]
            w1, b1, w2, b2, w3, b3 = self.params

            def forward(x):
                h = (x @ w1.T + b1).relu()
                h = (h @ w2.T + b2).relu()
                return h @ w3.T + b3

            self.forward = forward
            self.model_name = "x @ W.T + b"
        self.reset()


class CnnStep(_Stepper):
    name = "cnn_step"

    def build(self):
        L = self.L
        if not L.has(L.F, "conv2d", "max_pool2d"):
            raise Unavailable("nn.functional.conv2d / max_pool2d are not importable")
        F = L.F
        self.params = [L.tensor(a, True) for a in self.d["params"]]
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = self.params
        use_f_linear = L.api != "raw" and L.has(F, "linear")
        linear = F.linear if use_f_linear else (lambda h, w, b: h @ w.T + b)

        def forward(x):
            h = F.max_pool2d(F.conv2d(x, c1w, c1b, padding=2).relu(), 2)
            h = F.max_pool2d(F.conv2d(h, c2w, c2b).relu(), 2)
            h = h.reshape(h.shape[0], -1)
            h = linear(h, f1w, f1b).relu()
            h = linear(h, f2w, f2b).relu()
            return linear(h, f3w, f3b)

        self.forward = forward
        self.model_name = "F.conv2d+F.max_pool2d+" + ("F.linear" if use_f_linear else "x @ W.T + b")
        self.reset()


# -- moons ----------------------------------------------------------------------

class Moons(Workload):
    """micrograd's demo: 2-16-16-1 ReLU MLP, hinge loss + 1e-4 L2, full-batch SGD, lr 1.0 -> 0.1."""

    name = "moons"

    def __init__(self, L: Lib, d: dict):
        self.L = L
        self.d = d
        self.X = L.tensor(d["X"])
        self.y = L.tensor(d["y"])
        self.steps = d["cfg"]["steps"]
        self.params = None
        self.lrs = [1.0 - 0.9 * k / self.steps for k in range(self.steps)]
        self.variant = "x @ W.T + b, manual SGD"

    def step(self, X, y, lr):
        w1, b1, w2, b2, w3, b3 = params = self.params
        h = (X @ w1.T + b1).relu()
        h = (h @ w2.T + b2).relu()
        scores = h @ w3.T + b3
        data_loss = (1 - y * scores).relu().mean()
        reg = (w1 * w1).sum() + (b1 * b1).sum() + (w2 * w2).sum() + (b2 * b2).sum() \
            + (w3 * w3).sum() + (b3 * b3).sum()
        loss = data_loss + reg * 1e-4
        loss.backward()
        with self.L.T.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        return loss

    def prepare_compiled(self):
        # The learning rates as 0-d float32 tensors, made once: a float argument is guarded
        # by value (a new plan per value); float32(lr) * grad is what the float gives too.
        # The same parameter tensors serve every unit (a compiled step is guarded on them).
        T = self.L.T
        self.lrs = [T.tensor(lr, dtype=T.float32) for lr in self.lrs]
        self.params = [self.L.tensor(a, True) for a in self.d["params"]]
        self.variant += " (lr a 0-d tensor)"

    def step_args(self):
        if self.params is None:
            self.params = [self.L.tensor(a, True) for a in self.d["params"]]
        return self.X, self.y, self.lrs[0]

    def run(self):
        T = self.L.T
        if self.compiled:
            with T.no_grad():
                for p, a in zip(self.params, self.d["params"]):
                    p.copy_(T.from_numpy(a))
                    p.grad = None
        else:
            self.params = [self.L.tensor(a, True) for a in self.d["params"]]
        X, y, step = self.X, self.y, self._step
        for lr in self.lrs:
            loss = step(X, y, lr)
        return loss

    def checksum(self):
        return float(self.run().item())


CLASSES = {c.name: c for c in (TinyOps, MlpStep, CnnStep, DeepChain, BigElementwise, Moons)}


def make(L: Lib, name: str, d: dict, compiled: bool = False) -> Workload:
    """Workload ``name`` for library ``L``; ``compiled``: its step through ``L.T.compile``."""
    w = CLASSES[name](L, d)
    if compiled:
        if not hasattr(L.T, "compile"):
            raise Unavailable(f"{L.T.__name__}.compile is not there (yet)")
        w.compiled = True
        w.prepare_compiled()
        w._step = L.T.compile(w.step)
        w.variant += f", {L.T.__name__}.compile(step)"
    return w
