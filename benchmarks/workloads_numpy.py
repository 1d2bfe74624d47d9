"""The floor: each workload's forward AND backward written by hand in numpy.

Same program, same float32 data and initial parameters as the minigrad / PyTorch
versions, with no graph: what an engine over numpy cannot beat. Written the way a
careful person would (in-place updates where the value is owned, no needless
temporaries), not with tricks an autodiff engine could not know. Its checksums are
the reference the report compares every library against.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import data as D
from .common import TINY_OPS_N, Workload

F32 = np.float32


def _sigmoid(x):
    # Stable for any x: sigmoid(x) = 0.5 + 0.5 * tanh(x / 2).
    s = np.multiply(x, F32(0.5))
    np.tanh(s, out=s)
    s *= F32(0.5)
    s += F32(0.5)
    return s


# -- tiny_ops -----------------------------------------------------------------

def tiny_fwd_bwd(a, b):
    """The tiny_ops program (see workloads_torchlike.tiny_program) and its gradients."""
    c = a * b
    d = c + a
    e = np.tanh(d)
    f = _sigmoid(b)
    g = e * f
    h = np.exp(g)
    i = np.log(h)
    j = a - b
    k = np.maximum(j, F32(0))
    l = k + i
    m = l * F32(0.5)
    n = np.sin(m)
    o = np.cos(n)
    q = b * b + F32(1)
    p = o / q
    r = np.sqrt(p)
    s = r.sum()
    t = r.mean(dtype=F32)
    u = np.abs(a)
    v = u + F32(0.001)
    w = np.log(v)
    x = w * r
    y = x * x
    z = y.max()
    mm = y.mean(dtype=F32)
    o27 = s + z
    o28 = o27 + mm
    o29 = o28 * t
    out = o29 / F32(4)
    # backward, seeded with 1
    d29 = F32(0.25)
    d28 = d29 * t
    dt = d29 * o28
    ds = d28  # through o27 = s + z and o28 = o27 + mm
    dz = d28
    dmm = d28
    tie = y == z
    dy = dmm / F32(y.size) + tie * (dz / tie.sum(dtype=F32))
    dx = dy * F32(2) * x
    dw = dx * r
    dr = dx * w + (ds + dt / F32(r.size))
    da = dw / v * np.sign(a)
    dp = dr * F32(0.5) / r
    do = dp / q
    db = -dp * p / q * F32(2) * b
    dn = -do * np.sin(n)
    dl = dn * np.cos(m) * F32(0.5)
    dj = dl * (j > 0)
    da += dj
    db -= dj
    dg = dl / h * h
    de = dg * f
    db += dg * e * f * (F32(1) - f)
    dd = de * (F32(1) - e * e)
    da += dd + dd * b
    db += dd * a
    return out, da, db


class TinyOps(Workload):
    name = "tiny_ops"
    variant = "hand-written fwd+bwd"

    def __init__(self, d):
        self.a = d["a"].copy()
        self.b = d["b"].copy()
        self.reps = d["cfg"]["reps"]
        self.count = self.reps * TINY_OPS_N

    def run(self):
        a, b = self.a, self.b
        for _ in range(self.reps):
            res = tiny_fwd_bwd(a, b)
        return res

    def checksum(self):
        out, da, db = self.run()
        return float(out) + float(da.sum()) + float(db.sum())


# -- deep_chain ---------------------------------------------------------------

class DeepChain(Workload):
    name = "deep_chain"
    variant = "hand-written fwd+bwd"

    def __init__(self, d):
        self.x = d["x"].copy()
        self.w = d["w"].copy()
        self.links = d["cfg"]["n_ops"] // 4

    def run(self):
        x, w = self.x, self.w
        ys = []
        rs = []
        y = x
        for _ in range(self.links):  # y = tanh(y * w + x) * 0.5
            ys.append(y)
            r = np.tanh(y * w + x)
            rs.append(r)
            y = r * F32(0.5)
        out = y.sum()
        gy = np.ones_like(y)
        gx = np.zeros_like(x)
        gw = np.zeros_like(w)
        for i in range(self.links - 1, -1, -1):
            r = rs[i]
            gq = gy * F32(0.5) * (F32(1) - r * r)
            gx += gq
            gw += gq * ys[i]
            gy = gq * w
        gx += gy  # y0 is x itself
        return out, gx, gw

    def checksum(self):
        out, gx, gw = self.run()
        return float(out) + float(gx.sum()) + float(gw.sum())


# -- big_elementwise ------------------------------------------------------------

class BigElementwise(Workload):
    name = "big_elementwise"
    variant = "hand-written fwd+bwd, in place"

    def __init__(self, d):
        self.x = d["x"].copy()

    def run(self):
        x = self.x
        # forward: (tanh(x) * sigmoid(x) + exp(-x*x)).sum()
        e = np.multiply(x, x)
        np.negative(e, out=e)
        np.exp(e, out=e)
        t = np.tanh(x)
        s = _sigmoid(x)
        g = np.multiply(t, s)
        g += e
        out = g.sum()
        # backward, in the forward's buffers: g = (1 - t^2) s + t s (1 - s) - 2 x e
        np.multiply(t, t, out=g)
        np.subtract(F32(1), g, out=g)
        g *= s
        t *= s
        np.subtract(F32(1), s, out=s)
        t *= s
        g += t
        e *= x
        e *= F32(-2)
        g += e
        return out, g

    def checksum(self):
        out, g = self.run()
        return float(out) + float(g.sum())


# -- training steps: shared pieces -----------------------------------------------

def _ce_fwd_bwd(logits, y):
    """Mean cross-entropy of ``logits`` (N, C) against class indices ``y``, and d loss / d logits."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    se = ez.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -(z[rows, y] - np.log(se[:, 0])).mean(dtype=F32)
    ez /= se  # softmax
    ez[rows, y] -= F32(1)
    ez *= F32(1.0 / n)
    return loss, ez


def _linear_bwd(g, h, w):
    """Gradients of ``h @ w.T + b`` given d out ``g``: (d h, d w, d b)."""
    return g @ w, g.T @ h, g.sum(axis=0)


def _sgd(params, grads, lr):
    for p, g in zip(params, grads):
        g *= F32(lr)
        p -= g


class _Stepper(Workload):
    def __init__(self, d):
        self.d = d
        self.x = d["x"].copy()
        self.y = d["y"].copy()
        self.reset()

    def reset(self):
        self.params = [a.copy() for a in self.d["params"]]

    def checksum(self):
        self.reset()
        for _ in range(self.d["cfg"]["check_steps"]):
            loss = self.run()
        return float(loss)


class MlpStep(_Stepper):
    name = "mlp_step"
    variant = "hand-written fwd+bwd"

    def run(self):
        x, y = self.x, self.y
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = x @ w1.T
        h1 += b1
        np.maximum(h1, F32(0), out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, F32(0), out=h2)
        logits = h2 @ w3.T
        logits += b3
        loss, g = _ce_fwd_bwd(logits, y)
        g, dw3, db3 = _linear_bwd(g, h2, w3)
        g *= h2 > 0
        g, dw2, db2 = _linear_bwd(g, h1, w2)
        g *= h1 > 0
        dw1 = g.T @ x
        db1 = g.sum(axis=0)
        _sgd(self.params, (dw1, db1, dw2, db2, dw3, db3), D.LR)
        return loss


# -- cnn_step --------------------------------------------------------------------

def _conv_fwd(x, w, b, pad):
    """im2col convolution (stride 1). Returns the output (N, O, OH, OW) and the columns.

    Columns are laid out (N, C*k*k, OH*OW) so one batched matmul gives NCHW directly
    and the col2im of the backward adds contiguous (OH, OW) planes.
    """
    n, c, _, _ = x.shape
    o, _, k, _ = w.shape
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, OH, OW, k, k), a view
    oh, ow = win.shape[2], win.shape[3]
    cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * k * k, oh * ow)
    out = np.matmul(w.reshape(o, -1), cols)  # (N, O, OH*OW)
    out += b[:, None]
    return out.reshape(n, o, oh, ow), cols


def _conv_bwd(g, cols, x_shape, w, pad, need_dx):
    """Gradients of ``_conv_fwd``: (d x or None, d w, d b)."""
    n, c, h, wd = x_shape
    o, _, k, _ = w.shape
    oh, ow = g.shape[2], g.shape[3]
    gm = g.reshape(n, o, oh * ow)
    dw = np.matmul(gm, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = gm.sum(axis=(0, 2))
    if not need_dx:
        return None, dw, db
    dcols = np.matmul(w.reshape(o, -1).T, gm).reshape(n, c, k, k, oh, ow)
    dxp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad), dtype=g.dtype)
    for i in range(k):  # col2im: each kernel offset adds one shifted plane
        for j in range(k):
            dxp[:, :, i:i + oh, j:j + ow] += dcols[:, :, i, j]
    dx = dxp[:, :, pad:pad + h, pad:pad + wd] if pad else dxp
    return dx, dw, db


_QUADRANTS = ((0, 0), (0, 1), (1, 0), (1, 1))  # a 2x2 window's elements, in row-major order


def _pool_fwd(x):
    """2x2 max pool, stride 2, on (N, C, H, W) with even H, W: three maxima of strided views."""
    top = np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
    bottom = np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2])
    return np.maximum(top, bottom, out=top)


def _pool_bwd(g, x, out):
    """Route each window's gradient to its first maximum (PyTorch's tie rule)."""
    dx = np.zeros_like(x)
    taken = None
    for i, j in _QUADRANTS:
        hit = x[:, :, i::2, j::2] == out
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            taken |= hit
        np.multiply(g, hit, out=dx[:, :, i::2, j::2])
    return dx


class CnnStep(_Stepper):
    name = "cnn_step"
    variant = "hand-written fwd+bwd, im2col"

    def run(self):
        x, y = self.x, self.y
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = self.params
        z1, cols1 = _conv_fwd(x, c1w, c1b, 2)
        np.maximum(z1, F32(0), out=z1)
        p1 = _pool_fwd(z1)
        z2, cols2 = _conv_fwd(p1, c2w, c2b, 0)
        np.maximum(z2, F32(0), out=z2)
        p2 = _pool_fwd(z2)
        flat = p2.reshape(p2.shape[0], -1)
        h1 = flat @ f1w.T
        h1 += f1b
        np.maximum(h1, F32(0), out=h1)
        h2 = h1 @ f2w.T
        h2 += f2b
        np.maximum(h2, F32(0), out=h2)
        logits = h2 @ f3w.T
        logits += f3b
        loss, g = _ce_fwd_bwd(logits, y)
        g, df3w, df3b = _linear_bwd(g, h2, f3w)
        g *= h2 > 0
        g, df2w, df2b = _linear_bwd(g, h1, f2w)
        g *= h1 > 0
        g, df1w, df1b = _linear_bwd(g, flat, f1w)
        g = _pool_bwd(g.reshape(p2.shape), z2, p2)
        g *= z2 > 0
        g, dc2w, dc2b = _conv_bwd(g, cols2, p1.shape, c2w, 0, True)
        g = _pool_bwd(g, z1, p1)
        g *= z1 > 0
        _, dc1w, dc1b = _conv_bwd(g, cols1, x.shape, c1w, 2, False)
        _sgd(self.params, (dc1w, dc1b, dc2w, dc2b, df1w, df1b, df2w, df2b, df3w, df3b), D.LR)
        return loss


# -- moons ----------------------------------------------------------------------

class Moons(Workload):
    name = "moons"
    variant = "hand-written fwd+bwd"

    def __init__(self, d):
        self.d = d
        self.X = d["X"].copy()
        self.y = d["y"].copy()
        self.steps = d["cfg"]["steps"]

    def run(self):
        params = [a.copy() for a in self.d["params"]]
        w1, b1, w2, b2, w3, b3 = params
        X, y = self.X, self.y
        n = X.shape[0]
        for k in range(self.steps):
            h1 = X @ w1.T
            h1 += b1
            np.maximum(h1, F32(0), out=h1)
            h2 = h1 @ w2.T
            h2 += b2
            np.maximum(h2, F32(0), out=h2)
            scores = h2 @ w3.T
            scores += b3
            margin = F32(1) - y * scores
            data_loss = np.maximum(margin, F32(0)).mean(dtype=F32)
            reg = sum(((p * p).sum() for p in params), F32(0))
            loss = data_loss + reg * F32(1e-4)
            g = -y * (margin > 0) * F32(1.0 / n)
            g, dw3, db3 = _linear_bwd(g, h2, w3)
            g *= h2 > 0
            g, dw2, db2 = _linear_bwd(g, h1, w2)
            g *= h1 > 0
            dw1 = g.T @ X
            db1 = g.sum(axis=0)
            lr = 1.0 - 0.9 * k / self.steps
            for p, gp in zip(params, (dw1, db1, dw2, db2, dw3, db3)):
                gp += p * F32(2e-4)  # the L2 term's gradient
                gp *= F32(lr)
                p -= gp
        return loss

    def checksum(self):
        return float(self.run())


CLASSES = {c.name: c for c in (TinyOps, MlpStep, CnnStep, DeepChain, BigElementwise, Moons)}


def make(name: str, d: dict, api: str = "auto") -> Workload:
    return CLASSES[name](d)
