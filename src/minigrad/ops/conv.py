"""Convolution and pooling: the table of primitives, their long VJPs, then the functional forms.

Layout: NCHW throughout, float32 kept as float32. A convolution is one im2col copy
into ``(N, C, kh, kw, Ho, Wo)`` (its innermost run is an output row, so the copy
streams) and one batched matmul into BLAS; its output comes out NCHW-contiguous. The
columns are kept for the weight gradient (used once, then dropped). The input gradient
of a stride-1 convolution unfolds g along its width only and adds kh row blocks; other
strides use the classic col2im. The batch of the big kernels is split over a small
thread pool (numpy and BLAS release the GIL), as PyTorch's intra-op threads do.

The three convolution primitives are each other's VJPs, so double backward works:

    conv2d(x, w)            -> out     VJPs: x: conv_transpose2d(g, w)   w: conv2d_weight(x, g)
    conv_transpose2d(g, w)  -> x-like  VJPs: g: conv2d(gg, w)            w: conv2d_weight(gg, g)
    conv2d_weight(x, g)     -> w-like  VJPs: x: conv_transpose2d(g, gw)  g: conv2d(x, gw)

Pooling is separable: a window's max (or sum) is taken over its columns, then over its
rows, each a short loop over kernel offsets on strided slices, never over pixels or
batch items. max_pool2d keeps the winning column and row offsets (first occurrence on
ties, as PyTorch) in a per-call ``_Saved`` that its VJPs share; its backward scatters,
and the scatter's VJP gathers.

conv1d is conv2d on a height-1 image. ``pad`` (reflect/replicate/circular) and
``adaptive_avg_pool2d`` are composites of indexing and matmul.
"""

from __future__ import annotations

from .. import backend as B
from ..runtime import split_batch as _split_batch
from .registry import constant, constant_like, defop, defunary, is_tensor

xp = B.xp  # the host's module: dtypes and host-side index arithmetic; array code takes its own
_XP = B.XP  # array class -> its array module, per call


def _as_strided(x, shape, strides, writeable=True):
    return B.backend_of(x).as_strided(x, shape, strides, writeable)


class _Saved:
    """Per-call scratch one op call shares with its own VJPs (held by the node's params).

    conv2d keeps its im2col columns here so the weight gradient need not redo the
    copy (taken once, then dropped); max_pool2d keeps the winning offsets.
    """

    __slots__ = ("value",)

    def __init__(self, value=None) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<saved>"


# ---------------------------------------------------------------------------
# Array helpers (numpy in, numpy out).
#
# ``geo`` = (stride, pads, dilation, groups): stride (sh, sw), pads ((top, bottom),
# (left, right)), dilation (dh, dw), groups.

def _padded(x, pads, value=0.0, rows=None, cols=None):
    """``x`` (..., H, W) padded by ``pads``; ``rows``/``cols`` override the padded extent."""
    xp = _XP[x.__class__]  # numpy or cupy: the arrays' own module
    (pt, pb), (pl, pr) = pads
    h, w = x.shape[-2:]
    hp = h + pt + pb if rows is None else rows
    wp = w + pl + pr if cols is None else cols
    if pt == 0 and pl == 0 and hp <= h and wp <= w:
        return x[..., :hp, :wp]
    out = xp.full(x.shape[:-2] + (hp, wp), value, dtype=x.dtype)
    hh = min(h, hp - pt)
    ww = min(w, wp - pl)
    out[..., pt:pt + hh, pl:pl + ww] = x[..., :hh, :ww]
    return out


def _out_size(size, k, s, p0, p1, d):
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


def _conv_out_hw(x, kh, kw, geo):
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), _ = geo
    return _out_size(x.shape[2], kh, sh, pt, pb, dh), _out_size(x.shape[3], kw, sw, pl, pr, dw)


def _im2col(x, kh, kw, geo, out=None):
    """Columns ``(N, C, kh, kw, Ho, Wo)``, C-contiguous: one copy out of a strided view."""
    xp = _XP[x.__class__]  # numpy or cupy: the arrays' own module
    (sh, sw), pads, (dh, dw), _ = geo
    xpad = _padded(x, pads)
    n, c, hp, wp = xpad.shape
    ho = (hp - dh * (kh - 1) - 1) // sh + 1
    wo = (wp - dw * (kw - 1) - 1) // sw + 1
    s0, s1, s2, s3 = xpad.strides
    view = _as_strided(xpad, (n, c, kh, kw, ho, wo), (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw),
                       writeable=False)
    cols = xp.empty(view.shape, dtype=x.dtype) if out is None else out
    xp.copyto(cols, view)
    return cols


def _col2im(cols, h, w, geo):
    """Adjoint of ``_im2col``: add every column entry back onto its input pixel."""
    xp = _XP[cols.__class__]  # numpy or cupy: the arrays' own module
    n, c, kh, kw, ho, wo = cols.shape
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), _ = geo
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
        for j in range(kw):
            out[:, :, rows, j * dw:j * dw + sw * (wo - 1) + 1:sw] += cols[:, :, i, j]
    if pt or pb or pl or pr:
        out = out[:, :, pt:pt + h, pl:pl + w]
    return out


def _conv2d_fwd(arrs, geo, saved):
    xp = _XP[arrs[0].__class__]  # numpy or cupy: the arrays' own module
    x, w = arrs[0], arrs[1]
    bias = arrs[2] if len(arrs) == 3 else None
    groups = geo[3]
    o, cg, kh, kw = w.shape
    n, c = x.shape[:2]
    ho, wo = _conv_out_hw(x, kh, kw, geo)
    k = cg * kh * kw
    cols = xp.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    out = xp.empty((n, groups, o // groups, ho * wo), dtype=x.dtype)
    wm = w.reshape(groups, o // groups, k)

    def part(lo, hi):
        _im2col(x[lo:hi], kh, kw, geo, out=cols[lo:hi])
        # (G, O/G, Cg*kh*kw) @ (n, G, Cg*kh*kw, Ho*Wo): one BLAS call per (batch, group).
        res = xp.matmul(wm, cols[lo:hi].reshape(hi - lo, groups, k, ho * wo), out=out[lo:hi])
        if bias is not None:
            res += bias.reshape(1, groups, o // groups, 1)

    _split_batch(part, n, cols.size)
    saved.value = cols
    return out.reshape(n, o, ho, wo)


def _conv_transpose2d_fwd(arrs, geo, in_hw):
    xp = _XP[arrs[0].__class__]  # numpy or cupy: the arrays' own module
    g, w = arrs
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw), groups = geo
    o, cg, kh, kw = w.shape
    n, _, ho, wo = g.shape
    h, wd = in_hw
    og = o // groups
    hp, wp = h + pt + pb, wd + pl + pr
    if sh != 1 or sw != 1:
        wm = w.reshape(groups, og, cg * kh * kw).transpose(0, 2, 1)
        out = xp.empty((n, groups * cg, h, wd), dtype=g.dtype)

        def part(lo, hi):
            cols = xp.matmul(wm, g[lo:hi].reshape(hi - lo, groups, og, ho * wo))
            out[lo:hi] = _col2im(cols.reshape(hi - lo, groups * cg, kh, kw, ho, wo), h, wd, geo)

        _split_batch(part, n, n * cg * groups * kh * kw * ho * wo)
        return out
    # Stride 1: unfold g along its width only, G[n, (o, j), ho, w] = g[n, o, ho, w - j*dw] on the
    # padded width; one matmul by the weight (rows (i, c), columns (o, j)) then leaves, for each
    # kernel row i, a block that lands on rows i*dh.. of the padded input as one contiguous run.
    # kh adds instead of kh*kw, and an unfolded array kh times smaller than full im2col columns.
    # g's rows sit right-aligned in rows of the padded width, so each shift j is one flat run.
    c0 = dw * (kw - 1)
    wt = w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 2, 1, 4).reshape(groups, kh * cg, og * kw)
    out = xp.zeros((n, groups, cg, hp * wp), dtype=g.dtype)

    def part(lo, hi):
        m = hi - lo
        flat = xp.zeros((m, o, ho * wp + c0), dtype=g.dtype)
        flat[..., :ho * wp].reshape(m, o, ho, wp)[..., c0:] = g[lo:hi]
        s0, s1, s2 = flat.strides
        unf = _as_strided(flat[..., c0:], (m, groups, og, kw, ho * wp), (s0, og * s1, s1, -dw * s2, s2),
                          writeable=False)
        unf = xp.ascontiguousarray(unf).reshape(m, groups, og * kw, ho * wp)
        blocks = xp.matmul(wt, unf).reshape(m, groups, kh, cg, ho * wp)
        dst = out[lo:hi]
        for i in range(kh):
            dst[..., i * dh * wp:i * dh * wp + ho * wp] += blocks[:, :, i]

    _split_batch(part, n, n * o * kw * ho * wp)
    out = out.reshape(n, groups * cg, hp, wp)
    if pt or pb or pl or pr:
        out = out[:, :, pt:pt + h, pl:pl + wd]
    return out


def _conv2d_weight_fwd(arrs, geo, wshape, saved):
    xp = _XP[arrs[0].__class__]  # numpy or cupy: the arrays' own module
    x, g = arrs
    groups = geo[3]
    o, cg, kh, kw = wshape
    n, _, ho, wo = g.shape
    k = cg * kh * kw
    cols = None
    if saved is not None:
        cols, saved.value = saved.value, None  # used once, then released

    def part(lo, hi):
        c = cols[lo:hi] if cols is not None else _im2col(x[lo:hi], kh, kw, geo)
        # (cols @ g^T) summed over the batch: BLAS runs this shape faster than g @ cols^T.
        gt = g[lo:hi].reshape(hi - lo, groups, o // groups, ho * wo).transpose(0, 1, 3, 2)
        return xp.matmul(c.reshape(hi - lo, groups, k, ho * wo), gt).sum(axis=0)

    parts = _split_batch(part, n, n * groups * k * ho * wo)
    gwt = parts[0]
    for p in parts[1:]:
        gwt += p
    return xp.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(wshape)


def _axis_slices(k, s, d, o, axis):
    """Index tuples taking, for each kernel offset along ``axis`` (-1 or -2), that element of every window."""
    out = []
    for i in range(k):
        sl = slice(i * d, i * d + s * (o - 1) + 1, s)
        out.append((Ellipsis, sl) if axis == -1 else (Ellipsis, sl, slice(None)))
    return out


def _pool_extent(geo):
    """Rows and columns of the padded input the windows read."""
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = geo[:5]
    return (ho - 1) * sh + dh * (kh - 1) + 1, (wo - 1) * sw + dw * (kw - 1) + 1


def _pool_pad(x, geo, value):
    (ph, pw) = geo[2]
    eh, ew = _pool_extent(geo)
    return _padded(x, ((ph, 0), (pw, 0)), value, eh, ew)


def _pool_unpad(gpad, geo):
    """Crop a gradient on the padded extent back to the input's (H, W) (zeros where no window reached)."""
    xp = _XP[gpad.__class__]  # numpy or cupy: the arrays' own module
    (ph, pw) = geo[2]
    h, w = geo[5][-2:]
    eh, ew = gpad.shape[-2:]
    if ph == 0 and pw == 0 and eh == h and ew == w:
        return gpad
    if eh - ph >= h and ew - pw >= w:
        return gpad[..., ph:ph + h, pw:pw + w]
    out = xp.zeros(gpad.shape[:-2] + (h, w), dtype=gpad.dtype)
    out[..., :eh - ph, :ew - pw] = gpad[..., ph:ph + h, pw:pw + w]
    return out


def _hit(arg, i):
    """Where the window's chosen offset is ``i`` (``arg`` is bool for two-element windows)."""
    if arg.dtype == xp.bool_:
        return arg if i else ~arg
    return arg == i


def _argmax_along(a, k, s, d, o, axis, with_nan):
    """Window maxima of ``a`` along one axis and the offset of the first maximum (PyTorch's
    scan: a later element wins only if greater, or if NaN)."""
    xp = _XP[a.__class__]  # numpy or cupy: the arrays' own module
    sls = _axis_slices(k, s, d, o, axis)
    if k == 1:
        return a[sls[0]].copy(), xp.zeros(a[sls[0]].shape, dtype=xp.bool_)
    v0, v1 = a[sls[0]], a[sls[1]]
    arg = v1 > v0
    if with_nan:
        arg |= xp.isnan(v1)
    m = xp.maximum(v0, v1)
    if k > 2:
        arg = arg.astype(xp.uint8 if k < 256 else xp.int32)
        for i in range(2, k):
            v = a[sls[i]]
            better = v > m
            if with_nan:
                better |= xp.isnan(v)
            xp.maximum(m, v, out=m)
            xp.copyto(arg, i, where=better)
    return m, arg


def _scatter_along(g, arg, k, s, d, n, axis, finite=True, out=None):
    """Adjoint of picking the ``arg``-chosen element of every window along ``axis``: size o -> n.

    With ``finite`` the mask is applied by multiplication (fast); otherwise by ``where``, so a
    NaN or inf in ``g`` does not leak into the unselected slots as ``inf * 0``.
    """
    xp = _XP[g.__class__]  # numpy or cupy: the arrays' own module
    o = g.shape[axis]
    shape = list(g.shape)
    shape[axis] = n
    sls = _axis_slices(k, s, d, o, axis)
    if d == 1 and s == k and n == k * o:  # windows tile the axis: every element written once
        out = xp.empty(shape, dtype=g.dtype) if out is None else out
        for i in range(k):
            if finite:
                xp.multiply(g, _hit(arg, i), out=out[sls[i]])
            else:
                out[sls[i]] = xp.where(_hit(arg, i), g, 0)
        return out
    if out is None:
        out = xp.zeros(shape, dtype=g.dtype)
    else:
        out.fill(0)
    for i in range(k):
        out[sls[i]] += g * _hit(arg, i) if finite else xp.where(_hit(arg, i), g, 0)
    return out


def _gather_along(a, arg, k, s, d, o, axis):
    """The ``arg``-chosen element of every window of ``a`` along ``axis`` (adjoint of ``_scatter_along``)."""
    xp = _XP[a.__class__]  # numpy or cupy: the arrays' own module
    sls = _axis_slices(k, s, d, o, axis)
    out = xp.where(_hit(arg, 0), a[sls[0]], 0)
    for i in range(1, k):
        xp.copyto(out, a[sls[i]], where=_hit(arg, i))
    return out


def _max_pool_chunk(x, geo):
    xp = _XP[x.__class__]  # numpy or cupy: the arrays' own module
    # Separable: the max over each window's columns, then over its rows. The row-major first
    # maximum of a window is the first row reaching the max and, in that row, its first column.
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = geo[:5]
    xpad = _pool_pad(x, geo, -xp.inf)
    for with_nan in (False, True):
        m1, a1 = _argmax_along(xpad, kw, sw, dw, wo, -1, with_nan)
        out, a2 = _argmax_along(m1, kh, sh, dh, ho, -2, with_nan)
        if with_nan or not xp.isnan(out.sum()):
            break  # NaNs present: redo with PyTorch's rule that a later NaN wins its window
    return out, a1, a2


def _max_pool_fwd(x, geo, saved):
    xp = _XP[x.__class__]  # numpy or cupy: the arrays' own module
    # Windows never mix leading-dim slices, so the batch (or channels) splits across threads.
    parts = _split_batch(lambda lo, hi: _max_pool_chunk(x[lo:hi], geo), x.shape[0], x.size)
    if len(parts) == 1:
        out, a1, a2 = parts[0]
    else:
        out, a1, a2 = (xp.concatenate([p[i] for p in parts]) for i in range(3))
    saved.value = (a1, a2)
    return out


def _max_pool_backward_fwd(g, geo, saved):
    xp = _XP[g.__class__]  # numpy or cupy: the arrays' own module
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geo[:4]
    a1, a2 = saved.value
    eh, ew = _pool_extent(geo)
    h, w = geo[5][-2:]
    finite = B.surely_finite(g)
    if ph or pw or eh != h or ew != w:
        gm = _scatter_along(g, a2, kh, sh, dh, eh, -2, finite)
        return _pool_unpad(_scatter_along(gm, a1, kw, sw, dw, ew, -1, finite), geo)
    out = xp.empty(g.shape[:-2] + (h, w), dtype=g.dtype)

    def part(lo, hi):
        gm = _scatter_along(g[lo:hi], a2[lo:hi], kh, sh, dh, eh, -2, finite)
        _scatter_along(gm, a1[lo:hi], kw, sw, dw, ew, -1, finite, out=out[lo:hi])

    _split_batch(part, g.shape[0], out.size)
    return out


def _max_pool_gather_fwd(gg, geo, saved):
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = geo[:5]
    a1, a2 = saved.value
    gpad = _pool_pad(gg, geo, 0)
    return _gather_along(_gather_along(gpad, a1, kw, sw, dw, wo, -1), a2, kh, sh, dh, ho, -2)


def _window_sum(a, geo):
    """Sum over every pooling window, one axis at a time."""
    (kh, kw), (sh, sw), _, (dh, dw), (ho, wo) = geo[:5]
    for k, s, d, o, axis in ((kw, sw, dw, wo, -1), (kh, sh, dh, ho, -2)):
        sls = _axis_slices(k, s, d, o, axis)
        acc = a[sls[0]].copy() if k == 1 else a[sls[0]] + a[sls[1]]
        for i in range(2, k):
            acc += a[sls[i]]
        a = acc
    return a


def _window_spread(g, geo):
    """Adjoint of ``_window_sum``: every window's value added onto each of its elements."""
    xp = _XP[g.__class__]  # numpy or cupy: the arrays' own module
    (kh, kw), (sh, sw), _, (dh, dw) = geo[:4]
    eh, ew = _pool_extent(geo)
    for k, s, d, n, axis in ((kh, sh, dh, eh, -2), (kw, sw, dw, ew, -1)):
        o = g.shape[axis]
        shape = list(g.shape)
        shape[axis] = n
        sls = _axis_slices(k, s, d, o, axis)
        if d == 1 and s == k and n == k * o:
            out = xp.empty(shape, dtype=g.dtype)
            for i in range(k):
                out[sls[i]] = g
        else:
            out = xp.zeros(shape, dtype=g.dtype)
            for i in range(k):
                out[sls[i]] += g
        g = out
    return g


def _avg_pool_fwd(x, geo):
    out = _window_sum(_pool_pad(x, geo, 0), geo)
    out *= geo[6]
    return out


def _avg_pool_backward_fwd(g, geo):
    return _pool_unpad(_window_spread(g * geo[6], geo), geo)


def _conv2d_vjp(g, out, inputs, params, mask):
    geo, saved = params
    x, w = inputs[0], inputs[1]
    grads = [None] * len(inputs)
    if mask[0]:
        grads[0] = conv_transpose2d_(g, w, geo, x.shape[2:])
    if mask[1]:
        grads[1] = conv2d_weight_(x, g, geo, w.shape, saved)
    saved.value = None
    if len(inputs) == 3 and mask[2]:
        grads[2] = g.sum((0, 2, 3))
    return grads


# fmt: off
#          maker   name                 forward(arrays, *params)  VJPs (written with the ops of this table)
conv2d_ = defop("conv2d",               _conv2d_fwd,                  _conv2d_vjp, save="inputs")
conv_transpose2d_ = defop("conv_transpose2d", _conv_transpose2d_fwd, arity=2, save="inputs", vjps=(
    lambda gg, out, g, w, geo, in_hw: conv2d_((gg, w), geo, _Saved()),
    lambda gg, out, g, w, geo, in_hw: conv2d_weight_(gg, g, geo, w.shape, None)))
conv2d_weight_ = defop("conv2d_weight", _conv2d_weight_fwd, arity=2, save="inputs", vjps=(
    lambda ggw, out, x, g, geo, wshape, saved: conv_transpose2d_(g, ggw, geo, x.shape[2:]),
    lambda ggw, out, x, g, geo, wshape, saved: conv2d_((x, ggw), geo, _Saved())))
#          maker   name                 forward(x, *params)       VJP(g, out, x, *params)
max_pool2d_ = defunary("max_pool2d",    _max_pool_fwd,
                       lambda g, out, x, geo, saved: max_pool2d_backward_(g, geo, saved))
max_pool2d_backward_ = defunary("max_pool2d_backward", _max_pool_backward_fwd,
                       lambda g, out, x, geo, saved: max_pool2d_gather_(g, geo, saved))
max_pool2d_gather_ = defunary("max_pool2d_gather", _max_pool_gather_fwd,
                       lambda g, out, x, geo, saved: max_pool2d_backward_(g, geo, saved))
avg_pool2d_ = defunary("avg_pool2d",    _avg_pool_fwd,                lambda g, out, x, geo: avg_pool2d_backward_(g, geo))
avg_pool2d_backward_ = defunary("avg_pool2d_backward", _avg_pool_backward_fwd,
                       lambda g, out, x, geo: avg_pool2d_(g, geo))
# fmt: on


# ---------------------------------------------------------------------------
# Argument handling.

def _tuple(value, n, name, op):
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise RuntimeError(f"{op}: expected {name} to be a single integer or a list of {n} values, got {value}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _as_tensor(x, op):
    if is_tensor(x):
        return x
    if isinstance(x, B.ndarray):
        return constant(x)
    raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _check_float(x, op):
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"{op}: \"{op}\" not implemented for dtype {x.dtype}; expected a floating point input")


def _batched(x, ndim, op, what="input"):
    """(input with a batch dim, whether one was added) for an input of ``ndim`` or ``ndim - 1`` dims."""
    if x.ndim == ndim:
        return x, False
    if x.ndim == ndim - 1:
        return x.unsqueeze(0), True
    raise RuntimeError(
        f"{op}: Expected {ndim - 1}D (unbatched) or {ndim}D (batched) {what}, but got {what} of size: {list(x.shape)}"
    )


def _conv_pads(padding, kernel, dilation, stride, op):
    """Padding as ((lo, hi), ...) per spatial dim; 'same' puts the odd extra on the high side (PyTorch)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise RuntimeError(f"{op}: Invalid padding string '{padding}', should be one of ['valid', 'same']")
    pad = _tuple(padding, n, "padding", op)
    if any(p < 0 for p in pad):
        raise RuntimeError(f"{op}: negative padding is not supported, got padding={pad}")
    return tuple((p, p) for p in pad)


def _conv_check(x, weight, bias, stride, dilation, groups, op):
    _check_float(x, op)
    if weight.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4D weight, got weight of size {list(weight.shape)}")
    if weight._data.dtype != x._data.dtype or (bias is not None and bias._data.dtype != x._data.dtype):
        raise RuntimeError(
            f"{op}: Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same"
            + ("" if bias is None else f" (bias type {bias.dtype})")
        )
    if groups < 1:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")
    if any(s < 1 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={stride}")
    if any(d < 1 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got dilation={dilation}")
    o, cg = weight.shape[:2]
    if x.shape[1] != cg * groups or o % groups:
        raise RuntimeError(
            f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
            f"to have {cg * groups} channels, but got {x.shape[1]} channels instead"
            + (f" (and out channels {o} divisible by groups)" if o % groups else "")
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"{op}: expected bias of shape ({o},), got {list(bias.shape)}")


def _conv2d_impl(x, weight, bias, stride, padding, dilation, groups, op):
    x = _as_tensor(x, op)
    weight = _as_tensor(weight, op)
    bias = None if bias is None else _as_tensor(bias, op)
    stride = _tuple(stride, 2, "stride", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    _conv_check(x, weight, bias, stride, dilation, groups, op)
    kernel = weight.shape[2:]
    pads = _conv_pads(padding, kernel, dilation, stride, op)
    for size, k, (lo, hi), d in zip(x.shape[2:], kernel, pads, dilation):
        if size + lo + hi < d * (k - 1) + 1:
            raise RuntimeError(
                f"{op}: Calculated padded input size per channel: "
                f"({' x '.join(str(s + a + b) for s, (a, b) in zip(x.shape[2:], pads))}). "
                f"Kernel size: ({' x '.join(str(d_ * (k_ - 1) + 1) for k_, d_ in zip(kernel, dilation))}). "
                "Kernel size can't be greater than actual input size"
            )
    geo = (stride, pads, dilation, int(groups))
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return conv2d_(inputs, geo, _Saved())


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as PyTorch).

    input (N, C, H, W) or (C, H, W); weight (O, C/groups, kh, kw); bias (O,) or None.
    ``padding``: int, pair, 'valid' or 'same'. Returns (N, O, Ho, Wo).
    """
    x, unbatched = _batched(_as_tensor(input, "conv2d"), 4, "conv2d")
    out = _conv2d_impl(x, weight, bias, stride, padding, dilation, groups, "conv2d")
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution: input (N, C, L) or (C, L); weight (O, C/groups, k); returns (N, O, Lo)."""
    x, unbatched = _batched(_as_tensor(input, "conv1d"), 3, "conv1d")
    weight = _as_tensor(weight, "conv1d")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3D weight, got weight of size {list(weight.shape)}")
    pad = padding if isinstance(padding, str) else (0, _tuple(padding, 1, "padding", "conv1d")[0])
    out = _conv2d_impl(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _tuple(stride, 1, "stride", "conv1d")[0]),
                       pad, (1, _tuple(dilation, 1, "dilation", "conv1d")[0]), groups, "conv1d")
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution (the adjoint of conv2d; PyTorch's argument order).

    input (N, Cin, H, W); weight (Cin, Cout/groups, kh, kw). Output side
    ``(H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1``.
    """
    op = "conv_transpose2d"
    x, unbatched = _batched(_as_tensor(input, op), 4, op)
    weight = _as_tensor(weight, op)
    stride = _tuple(stride, 2, "stride", op)
    dilation = _tuple(dilation, 2, "dilation", op)
    pad = _tuple(padding, 2, "padding", op)
    opad = _tuple(output_padding, 2, "output_padding", op)
    _check_float(x, op)
    if weight.ndim != 4 or weight.shape[0] != x.shape[1] or weight.shape[0] % groups:
        raise RuntimeError(
            f"{op}: weight of size {list(weight.shape)} does not fit input {list(x.shape)} with groups={groups}"
        )
    if weight._data.dtype != x._data.dtype:
        raise RuntimeError(f"{op}: Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or dilation, got {opad}")
    kernel = weight.shape[2:]
    hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1
               for n, s, p, d, k, o in zip(x.shape[2:], stride, pad, dilation, kernel, opad))
    if any(v <= 0 for v in hw):
        raise RuntimeError(f"{op}: output size {hw} is too small (input {list(x.shape)})")
    geo = (stride, tuple((p, p) for p in pad), dilation, int(groups))
    out = conv_transpose2d_(x, weight, geo, hw)
    if bias is not None:
        out = out + _as_tensor(bias, op).reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    kernel = _tuple(kernel_size, 2, "kernel_size", op)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _tuple(stride, 2, "stride", op)
    pad = _tuple(padding, 2, "padding", op)
    dil = _tuple(dilation, 2, "dilation", op)
    if any(k < 1 for k in kernel) or any(s < 1 for s in stride) or any(d < 1 for d in dil):
        raise RuntimeError(f"{op}: kernel_size {kernel}, stride {stride} and dilation {dil} must be positive")
    if any(p < 0 or p > k // 2 for p, k in zip(pad, kernel)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={pad}, "
                           f"kernel_size={kernel}")
    outs = []
    for n, k, s, p, d in zip(x.shape[-2:], kernel, stride, pad, dil):
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1  # the last window must start inside the input or its left padding
        if o < 1:
            raise RuntimeError(f"{op}: Given input size {tuple(x.shape[-3:])}, calculated output size "
                               f"{o} is too small (kernel_size {kernel}, stride {stride}, padding {pad})")
        outs.append(o)
    return kernel, stride, pad, dil, tuple(outs)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows: input (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo).

    Ties go to the first element of the window (row-major), as in PyTorch; with
    ``return_indices`` also the flat index (into H*W) of every maximum.
    """
    x = _as_tensor(input, "max_pool2d")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D input, but got input of size: {list(x.shape)}")
    _check_float(x, "max_pool2d")
    kernel, stride, pad, dil, outs = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    geo = (kernel, stride, pad, dil, outs, tuple(x.shape))
    saved = _Saved()
    out = max_pool2d_(x, geo, saved)
    if not return_indices:
        return out
    a1, a2 = saved.value
    dxp = _XP[a1.__class__]
    rows = dxp.arange(outs[0]).reshape(-1, 1) * stride[0] + a2.astype(B.int64) * dil[0]  # padded coordinates
    j = dxp.take_along_axis(a1, rows, axis=-2).astype(B.int64)
    cols = dxp.arange(outs[1]) * stride[1] + j * dil[1]
    return out, constant((rows - pad[0]) * x.shape[-1] + cols - pad[1])


def _avg_divisor(x_hw, kernel, stride, pad, outs, count_include_pad, divisor_override):
    """1 / divisor: a number, or an (Ho, Wo) array where windows are clipped (PyTorch's rule)."""
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        return 1.0 / divisor_override
    sizes = []
    for n, k, s, p, o in zip(x_hw, kernel, stride, pad, outs):
        start = xp.arange(o) * s - p
        end = xp.minimum(start + k, n + p)
        size = end - start
        if not count_include_pad:
            size = xp.minimum(end, n) - xp.maximum(start, 0)
        sizes.append(size)
    div = sizes[0].reshape(-1, 1) * sizes[1].reshape(1, -1)
    if (div == div.flat[0]).all():
        return 1.0 / float(div.flat[0])
    return 1.0 / div


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over windows: input (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo)."""
    x = _as_tensor(input, "avg_pool2d")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"avg_pool2d: Expected 3D or 4D input, but got input of size: {list(x.shape)}")
    _check_float(x, "avg_pool2d")
    kernel, stride, pad, dil, outs = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    inv = _avg_divisor(x.shape[-2:], kernel, stride, pad, outs, count_include_pad, divisor_override)
    if not isinstance(inv, float):
        inv = B.to_backend(inv.astype(x._data.dtype), B.backend_of(x._data))
    geo = (kernel, stride, pad, dil, outs, tuple(x.shape), inv)
    return avg_pool2d_(x, geo)


def _as_1d(x, op):
    if x.ndim not in (2, 3):
        raise RuntimeError(f"{op}: Expected 2D or 3D input, but got input of size: {list(x.shape)}")
    return x.unsqueeze(-2)


def _one(v, name, op):
    return _tuple(v, 1, name, op)[0]


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of the last dim: (N, C, L) or (C, L) -> (N, C, L_out)."""
    op = "max_pool1d"
    x = _as_1d(_as_tensor(input, op), op)
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _one(stride, "stride", op)
    out = max_pool2d(x, (1, k), (1, s), (0, _one(padding, "padding", op)), (1, _one(dilation, "dilation", op)),
                     ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over windows of the last dim: (N, C, L) or (C, L) -> (N, C, L_out)."""
    op = "avg_pool1d"
    x = _as_1d(_as_tensor(input, op), op)
    k = _one(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else _one(stride, "stride", op)
    return avg_pool2d(x, (1, k), (1, s), (0, _one(padding, "padding", op)), ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of the last dim to a fixed length."""
    op = "adaptive_avg_pool1d"
    x = _as_1d(_as_tensor(input, op), op)
    return adaptive_avg_pool2d(x, (1, _one(output_size, "output_size", op))).squeeze(-2)


def _adaptive_matrix(n, o, dtype):
    """(o, n) averaging matrix of adaptive pooling: row i averages [floor(i*n/o), ceil((i+1)*n/o))."""
    m = xp.zeros((o, n), dtype=dtype)
    for i in range(o):
        lo = (i * n) // o
        hi = -((-(i + 1) * n) // o)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (Ho, Wo) (an int, a pair, None keeps that side)."""
    x = _as_tensor(input, "adaptive_avg_pool2d")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: Expected 3D or 4D input, but got input of size: {list(x.shape)}")
    _check_float(x, "adaptive_avg_pool2d")
    if isinstance(output_size, (list, tuple)):
        size = tuple(output_size)
        if len(size) != 2:
            raise RuntimeError(f"adaptive_avg_pool2d: output_size must be 2, got {output_size}")
    else:
        size = (output_size, output_size)
    h, w = x.shape[-2:]
    ho, wo = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    if ho < 1 or wo < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be positive, got {size}")
    if h % ho == 0 and w % wo == 0:
        if ho == 1 and wo == 1:
            return x.mean((-2, -1), keepdim=True)
        return avg_pool2d(x, (h // ho, w // wo))
    dt = x._data.dtype
    out = x
    if wo != w:
        out = out @ constant_like(_adaptive_matrix(w, wo, dt).T, x)
    if ho != h:
        out = constant_like(_adaptive_matrix(h, ho, dt), x) @ out
    return out


def _pad_index(n, lo, hi, mode, op):
    """Source index, along one dim of size n, of every padded position."""
    pos = xp.arange(-lo, n + hi)
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise RuntimeError(f"{op}: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension of size {n}")
        period = 2 * (n - 1)
        if period == 0:
            return xp.zeros_like(pos)
        pos = xp.abs(pos) % period
        return xp.where(pos >= n, period - pos, pos)
    if mode == "replicate":
        if n == 0:
            raise RuntimeError(f"{op}: input tensor must have a non-zero size in padded dimensions")
        return xp.clip(pos, 0, n - 1)
    if mode == "circular":
        if lo > n or hi > n:
            raise RuntimeError(f"{op}: Padding value causes wrapping around more than once "
                               f"(padding ({lo}, {hi}), dimension of size {n})")
        return pos % n
    raise NotImplementedError(f"{op}: unrecognised padding mode {mode!r}")


def pad(input, pad, mode="constant", value=None):
    """``F.pad``: ``pad`` = (last_lo, last_hi, prev_lo, prev_hi, ...).

    Modes 'constant' (``value``, default 0), 'reflect', 'replicate', 'circular'; the
    last three gather through integer indices, so their gradient adds up the copies.
    """
    from .movement import pad_constant

    x = _as_tensor(input, "pad")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    if mode == "constant":
        return pad_constant(x, pad, 0.0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f"pad: Padding mode \"{mode}\" doesn't take in value argument")
    k = len(pad) // 2
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: Unrecognised padding mode {mode!r}")
    if k > 3 or x.ndim < k + 1 or x.ndim > k + 2:
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {x.ndim}D input tensor (mode {mode!r}). "
            "Supported combinations for non-constant padding: 2D or 3D input with padding size 2, "
            "3D or 4D input with padding size 4, 4D or 5D input with padding size 6"
        )
    out = x
    for i in range(k):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo == 0 and hi == 0:
            continue
        d = x.ndim - 1 - i
        if mode == "reflect" and (lo < 0 or hi < 0):
            raise RuntimeError(f"pad: negative padding is not supported in reflect mode, got {pad}")
        idx = _pad_index(out.shape[d], max(lo, 0), max(hi, 0), mode, "pad")
        idx = idx[max(-lo, 0):len(idx) - max(-hi, 0)]
        out = out[(slice(None),) * d + (idx,)]
    return out


__all__ = [
    "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "pad",
]
