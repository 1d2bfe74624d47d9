"""Reductions: the table (sum, amax, amin, prod, cumsum, norm), then composites
(mean, var, std, logsumexp, max/min with dim, softmax, log_softmax ...).

``dims`` params are normalised tuples (or None for all); ``shape`` params carry
the input's shape so VJPs need not save the input.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

from .. import backend as B
from .. import dtypes as D
from ..autograd.graph import _state as _grad_state
from .registry import constant, defunary, is_tensor

_XP = B.XP  # array class -> its array module: ``xp = _XP[x.__class__]`` picks numpy or cupy per call
_np_broadcast_to = B.NUMPY.broadcast_to


def normalize_dims(dim, ndim: int, op: str):
    """``dim`` (None, int, or sequence) as a sorted tuple of non-negative axes, or None."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        dims = dim
    else:
        dims = (dim,)
    out = []
    n = builtins.max(ndim, 1)
    for d in dims:
        d = int(d)
        if not -n <= d < n:
            raise IndexError(
                f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
            )
        d = d % n if ndim else 0
        if d in out:
            raise RuntimeError(f"{op}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out))


def _np_axis(dims, ndim):
    """numpy axis for normalised dims (0-d arrays take axis None)."""
    if dims is None or ndim == 0:
        return None
    return dims


def keepdim_shape(shape: tuple, dims) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _grow(g, dims, keepdim, shape):
    """A reduced gradient reshaped with the reduced dims kept (size 1); a 0-d one (every dim
    reduced) is left as it is, since it broadcasts against any shape already."""
    if keepdim or len(shape) == 0 or len(g.shape) == 0:
        return g
    return _movement().reshape_(g, keepdim_shape(shape, dims), g.shape)


def _sum_vjp(g, out, x, dims, keepdim, shape, dtype, divisor=None):
    if divisor is not None:  # mean: d(sum / n) = g / n on every summed element
        g = g / divisor
    if dims is None and not keepdim:  # a 0-d gradient broadcasts to any shape as it is
        if not shape:
            return g
        if isinstance(g, B.generic):  # (a 0-d array divided by a number is a numpy scalar)
            g = B.xp.asarray(g)
        if g.__class__ is B.ndarray:  # backward on raw arrays: the view itself, no op call
            return _np_broadcast_to(g, shape)
        if not is_tensor(g):  # another backend's array
            return B.backend_of(g).broadcast_to(g, shape)
        return _movement().expand_(g, shape, ())
    g = _grow(g, dims, keepdim, shape)
    return g if g.shape == shape else _movement().expand_(g, shape, g.shape)


_movement_module = None
_elementwise_module = None


def _elementwise():
    # elementwise.py is looked up once, at first use (it imports this module's users).
    global _elementwise_module
    if _elementwise_module is None:
        from . import elementwise

        _elementwise_module = elementwise
    return _elementwise_module


def _movement():
    # movement.py imports this module, so it is looked up once, at first use.
    global _movement_module
    if _movement_module is None:
        from . import movement

        _movement_module = movement
    return _movement_module


def _sum_fwd(x, dims, keepdim, shape, dtype, divisor=None):
    # (the ufunc method itself: numpy.sum is a Python wrapper around it, ~1 us per call)
    xp = _XP[x.__class__]
    if dims is None and dtype is None and not keepdim:
        out = xp.add.reduce(x, None)  # everything: positional, no keyword parsing
    else:
        out = xp.add.reduce(x, axis=_np_axis(dims, x.ndim), dtype=dtype, keepdims=keepdim)
    if divisor is None:
        return out
    # mean: the sum over the count (a full reduction gives a numpy scalar: scalar arithmetic)
    return out / divisor if out.__class__ is not x.__class__ else xp.true_divide(out, divisor)


def _extreme(ufunc, x, dims, keepdim):
    """maximum/minimum over ``dims`` (all when None)."""
    if dims is None and not keepdim:
        return ufunc.reduce(x, None)  # positional: no keyword parsing
    return ufunc.reduce(x, axis=_np_axis(dims, x.ndim), keepdims=keepdim)


def _amax_vjp(g, out, x, dims, keepdim):
    out_k = _grow(out, dims, keepdim, x.shape)
    mask = x == out_k
    return _grow(g, dims, keepdim, x.shape) * mask / _sum(mask, dims, True, mask.shape, None)


def _prod_vjp(g, out, x, dims, keepdim):
    # Exact with zeros: a slice with one zero sends the product of the others to
    # that position; a slice with two or more zeros sends zeros.
    zero = x == 0
    if _grad_state.enabled and zero._data.any():
        # create_graph with zeros present: the masked formula below is right in value
        # but its own derivative misses the terms through the zeros; use the exact one.
        return _grow(g, dims, keepdim, x.shape) * _prod_of_others(x, dims)
    count = _sum(zero, dims, True, zero.shape, None)
    nonzero = where_(zero, 1.0, x)
    p = _prod(nonzero, dims, True)
    share = where_(count == 0, p / nonzero, where_(_elementwise().logical_and(zero, count == 1), p, 0.0))
    return _grow(g, dims, keepdim, x.shape) * share


def _prod_of_others(x, dims):
    """For each element, the product of the other elements of its slice (differentiable, O(n^2))."""
    nd = x.ndim
    red = tuple(range(nd)) if dims is None else tuple(dims)
    if nd == 0:
        return constant(_XP[x._data.__class__].ones((), dtype=x._data.dtype))
    keep = [d for d in range(nd) if d not in red]
    perm = keep + list(red)
    inv = [perm.index(d) for d in range(nd)]
    xt = x.permute(*perm)
    lead = xt.shape[:len(keep)]
    n = 1
    for d in red:
        n *= x.shape[d]
    flat = xt.reshape(lead + (n,))
    # rows[..., i, j] = x_j, with 1 in place of x_i: row i's product leaves x_i out.
    rows = where_(constant(_XP[x._data.__class__].eye(n, dtype=bool)), 1.0, flat.unsqueeze(-2).expand(*(lead + (n, n))))
    return _prod(rows, (len(lead) + 1,), False).reshape(xt.shape).permute(*inv)


def _norm_vjp(g, out, x, p, dims, keepdim):
    out_k = _grow(out, dims, keepdim, x.shape)
    g_k = _grow(g, dims, keepdim, x.shape)
    zero = out_k == 0
    # Divide by 1 where the norm is 0 (masked below anyway): dividing by 0 there would
    # give inf, and 0 * inf = nan in double backward (PyTorch gives 0).
    safe = where_(zero, 1.0, out_k)
    if p == 2:
        scaled = x / safe
    else:
        ew = _elementwise()
        scaled = ew.sign(x) * ew.abs(x) ** (p - 1) / safe ** (p - 1)
    return g_k * where_(zero, 0.0, scaled)


def _cumsum_vjp(g, out, x, dim):
    if g.ndim == 0:  # cumsum of a 0-d tensor is the identity
        return g
    flip = _movement().flip_
    return flip(_cumsum(flip(g, (dim,)), dim), (dim,))


def _norm_fwd(x, p, dims, keepdim):
    axis = _np_axis(dims, x.ndim)
    xp = _XP[x.__class__]
    if p == 2:
        return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdim))
    return xp.sum(xp.abs(x) ** p, axis=axis, keepdims=keepdim) ** (1.0 / p)


def _softmax_fwd(x, d, log):
    """Stable (log-)softmax over dim ``d``: the max is subtracted first (a 0-d x has axis None)."""
    axis = d if x.ndim else None
    xp = _XP[x.__class__]
    shifted = xp.subtract(x, xp.maximum.reduce(x, axis=axis, keepdims=True), out=xp.empty_like(x))  # (0-d stays an array)
    if log:  # x - max - log(sum(exp(x - max)))
        shifted -= xp.log(xp.add.reduce(xp.exp(shifted), axis=axis, keepdims=True))
        return shifted
    e = xp.exp(shifted, out=shifted)
    e /= xp.add.reduce(e, axis=axis, keepdims=True)
    return e


def _softmax_vjp(g, out, x, d, log):
    # PyTorch's formulas: log_softmax g - exp(out) * sum(g); softmax out * (g - sum(g * out)).
    if log:
        return g - _elementwise().exp(out) * _sum(g, (d,) if len(g.shape) else None, True, g.shape, None)
    return out * (g - _sum(g * out, (d,) if len(g.shape) else None, True, g.shape, None))


# fmt: off
#         maker      name       forward(x, *params)                                  VJP(g, out, x, *params)
_sum    = defunary("sum",     _sum_fwd,                                                  _sum_vjp, array_safe=True)
# sum / count in one node (sum's forward and VJP with the divisor param), as PyTorch's MeanBackward0
_mean   = defunary("mean",    _sum_fwd,                                                  _sum_vjp, array_safe=True)
# NLL of picked log-probabilities, -sum(x[rows, targets]) / divisor, in one node (nn.functional.nll_loss's
# common case); its VJP scatters -g / divisor back (the picks are distinct, so plain assignment).
_nll    = defunary("nll_loss", lambda x, picks, divisor, shape: _XP[x.__class__].true_divide(-x[picks].sum(), divisor),
                   lambda g, out, x, picks, divisor, shape: _movement().getitem_backward(-(g / divisor), picks, shape,
                                                                                          False), array_safe=True)
# softmax and log_softmax: one forward and one VJP, a flag telling which (PyTorch's two backward nodes)
_softmax = defunary("softmax",     _softmax_fwd,                                         _softmax_vjp, save="out", dtype_rule="float", array_safe=True)
_log_softmax = defunary("log_softmax", _softmax_fwd,                                     _softmax_vjp, save="out", dtype_rule="float", array_safe=True)
_amax   = defunary("amax",    lambda x, dims, keepdim: _extreme(_XP[x.__class__].maximum, x, dims, keepdim), _amax_vjp, save="both", array_safe=True)
_amin   = defunary("amin",    lambda x, dims, keepdim: _extreme(_XP[x.__class__].minimum, x, dims, keepdim), _amax_vjp, save="both", array_safe=True)
_prod   = defunary("prod",    lambda x, dims, keepdim: _XP[x.__class__].prod(x, axis=_np_axis(dims, x.ndim), keepdims=keepdim),
                   _prod_vjp, save="inputs", array_safe=True)
_cumsum = defunary("cumsum",  lambda x, dim: _XP[x.__class__].cumsum(x, axis=dim if x.ndim else None).reshape(x.shape),
                   _cumsum_vjp, array_safe=True)
_norm   = defunary("norm",    _norm_fwd, _norm_vjp, save="both", array_safe=True)
_argmax = defunary("argmax",  lambda x, axis, keepdim: _XP[x.__class__].argmax(x, axis=axis, keepdims=keepdim), None)
_argmin = defunary("argmin",  lambda x, axis, keepdim: _XP[x.__class__].argmin(x, axis=axis, keepdims=keepdim), None)
_all    = defunary("all",     lambda x, dims, keepdim: _XP[x.__class__].all(x, axis=_np_axis(dims, x.ndim), keepdims=keepdim), None)
_any    = defunary("any",     lambda x, dims, keepdim: _XP[x.__class__].any(x, axis=_np_axis(dims, x.ndim), keepdims=keepdim), None)
# fmt: on



def _where(c, a, b):
    return _elementwise().where_(c, a, b)


where_ = _where


# ---------------------------------------------------------------------------
# Public forms. Argument names are PyTorch's; numpy's ``axis``/``keepdims`` are accepted
# wherever PyTorch's argument parser accepts them (every op taking ``dim``/``keepdim``,
# except the Python-level ``norm``). An alias never overrides a given argument silently.

def _alias(op: str, dim, axis, keepdim, keepdims, dim_default=None):
    """(dim, keepdim) with numpy's ``axis``/``keepdims`` folded in; both spellings at once raise."""
    if axis is not None:
        if dim is not dim_default and dim != dim_default:
            raise TypeError(f"{op}() got multiple values for argument 'dim' (also given as 'axis')")
        dim = axis
    if keepdims is not None:
        if keepdim:
            raise TypeError(f"{op}() got multiple values for argument 'keepdim' (also given as 'keepdims')")
        keepdim = keepdims
    return dim, bool(keepdim)


def dim_alias(op: str, dim, axis, default=None, required: bool = False):
    """``dim`` with numpy's ``axis`` folded in (for the ops taking one ``dim`` beside other arguments)."""
    if axis is not None:
        if dim is not default and dim != default:
            raise TypeError(f"{op}() got multiple values for argument 'dim' (also given as 'axis')")
        dim = axis
    if required and dim is None:
        raise TypeError(f"{op}() missing 1 required argument: 'dim'")
    return dim


def _one_dim(dim, op: str):
    """``dim`` for ops whose PyTorch signature takes a single int: a sequence raises (never
    silently its first element)."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__} "
                        f"(got {dim!r}; this op reduces over one dim only)")
    return dim


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Sum over ``dim`` (int or tuple; all when None). Integer and bool sums give int64."""
    x = input
    if dim is None and axis is None and dtype is None and not keepdim and keepdims is None \
            and x._data.dtype.kind == "f":
        return _sum(x, None, False, x._data.shape, None)  # x.sum() of a float tensor, the usual call
    dim, keepdim = _alias("sum", dim, axis, keepdim, keepdims)
    dims = normalize_dims(dim, x.ndim, "sum")
    dt = None if dtype is None else D.as_dtype(dtype)
    if dt is None and x._data.dtype.kind in "bui":
        dt = B.int64
    return _sum(x, dims, keepdim, x._data.shape, dt)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Arithmetic mean over ``dim``; floating input only (as PyTorch)."""
    x = input
    if dim is None and axis is None and dtype is None and not keepdim and keepdims is None \
            and x._data.dtype.kind == "f":
        return _mean(x, None, False, x._data.shape, None, x._data.size)  # x.mean(), the usual call
    dim, keepdim = _alias("mean", dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {x.dtype}"
        )
    dims = normalize_dims(dim, x.ndim, "mean")
    return _mean(x, dims, keepdim, x._data.shape, None, _count(x.shape, dims))


def _count(shape, dims) -> int:
    n = 1
    for i, s in enumerate(shape):
        if dims is None or i in dims:
            n *= s
    return n


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Variance with Bessel's ``correction`` (default 1, as PyTorch).

    PyTorch's overloads: ``var(dim, unbiased, keepdim)``, ``var(dim, *, correction, keepdim)``
    and ``var(unbiased)`` (a bool as the first argument is ``unbiased``, not a dim)."""
    x = input
    if isinstance(dim, bool):  # var(False): PyTorch's var(bool unbiased) overload
        if unbiased is not None:
            raise TypeError("var() got multiple values for argument 'unbiased'")
        dim, unbiased = None, dim
    dim, keepdim = _alias("var", dim, axis, keepdim, keepdims)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"var(): expected a floating point input, got {x.dtype}")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    elif unbiased is not None:
        raise TypeError("var(): give either 'unbiased' or 'correction', not both")
    dims = normalize_dims(dim, x.ndim, "var")
    n = _count(x.shape, dims)
    centered = x - mean(x, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim) / builtins.max(n - correction, 0)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """Standard deviation: ``sqrt(var(...))`` (the same overloads as ``var``)."""
    return var(input, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims).sqrt()


def amax(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Maximum over ``dim`` (int or tuple; all when empty); ties share the gradient evenly."""
    dim, keepdim = _alias("amax", dim, axis, keepdim, keepdims, ())
    _check_nonempty(input, "amax")
    return _amax(input, normalize_dims(dim, input.ndim, "amax"), keepdim)


def amin(input, dim=(), keepdim=False, *, axis=None, keepdims=None):
    """Minimum over ``dim`` (int or tuple; all when empty); ties share the gradient evenly."""
    dim, keepdim = _alias("amin", dim, axis, keepdim, keepdims, ())
    _check_nonempty(input, "amin")
    return _amin(input, normalize_dims(dim, input.ndim, "amin"), keepdim)


def _check_nonempty(x, op):
    if x._data.size == 0:
        raise RuntimeError(f"{op}(): Expected reduction over a non-empty tensor, got shape {tuple(x.shape)}")


values_indices = {
    name: namedtuple(name, ["values", "indices"]) for name in ("max", "min", "sort", "topk", "mode")
}


def _single_dim(dim, ndim, op):
    return normalize_dims(_one_dim(dim, op), ndim, op)[0] if ndim else 0


def max(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):
    """``max()`` (a 0-d tensor), ``max(dim)`` ((values, indices), first occurrence)
    or ``max(other)`` (elementwise maximum)."""
    return _max_min(input, dim, keepdim, other, axis, keepdims, "max")


def min(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):
    """``min()``, ``min(dim)`` -> (values, indices), or ``min(other)``."""
    return _max_min(input, dim, keepdim, other, axis, keepdims, "min")


def _max_min(x, dim, keepdim, other, axis, keepdims, name):
    if is_tensor(dim) and other is None:  # max(other) given positionally
        dim, other = None, dim
    if other is not None:
        if dim is not None or axis is not None or keepdim or keepdims is not None:
            raise TypeError(f"{name}(): 'other' (elementwise {name}imum) takes no dim or keepdim")
        return (_elementwise().maximum if name == "max" else _elementwise().minimum)(x, other)
    dim, keepdim = _alias(name, dim, axis, keepdim, keepdims)
    _check_nonempty(x, name)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}(): keepdim=True needs a dim (PyTorch's max() takes no keepdim)")
        return (_amax if name == "max" else _amin)(x, None, False)  # all dims, without amax's argument handling
    return _arg_select(x, _one_dim(dim, name), keepdim, name, _argmax if name == "max" else _argmin)


def _arg_select(x, dim, keepdim, name, arg_op):
    _check_nonempty(x, name)
    d = _single_dim(dim, x.ndim, name)
    if x.ndim == 0:
        return values_indices[name](x.clone(), constant(_XP[x._data.__class__].asarray(0, dtype=B.int64)))
    idx = arg_op(x.detach(), d, True)
    values = x.gather(d, idx)
    if not keepdim:
        values = values.squeeze(d)
        idx = idx.squeeze(d)
    return values_indices[name](values, idx)


def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the first maximum (over the flattened tensor when ``dim`` is None)."""
    dim, keepdim = _alias("argmax", dim, axis, keepdim, keepdims)
    return _arg(input, dim, keepdim, _argmax, "argmax")


def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the first minimum (over the flattened tensor when ``dim`` is None)."""
    dim, keepdim = _alias("argmin", dim, axis, keepdim, keepdims)
    return _arg(input, dim, keepdim, _argmin, "argmin")


def _arg(x, dim, keepdim, op, name):
    _check_nonempty(x, name)
    if dim is None:
        r = op(x.reshape(-1), 0, False)
        return r.reshape((1,) * x.ndim) if keepdim else r
    return op(x, _single_dim(dim, x.ndim, name), keepdim)


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """Product over one ``dim`` (all when None); exact gradient with zeros."""
    x = input
    dim, keepdim = _alias("prod", dim, axis, keepdim, keepdims)
    if dtype is not None:
        x = x.to(dtype)
    dims = None if dim is None else (_single_dim(dim, x.ndim, "prod"),)
    return _prod(x, dims, keepdim)


def cumsum(input, dim=None, *, dtype=None, axis=None):
    """Cumulative sum along ``dim`` (required, as PyTorch; ``axis`` is its alias)."""
    x = input
    dim, _ = _alias("cumsum", dim, axis, False, None)
    if dim is None:
        raise TypeError("cumsum() missing 1 required argument: 'dim'")
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "bui":
        x = x.to(B.int64)
    return _cumsum(x, _single_dim(dim, x.ndim, "cumsum"))


def all(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where every element (over ``dim``: int or tuple) is nonzero."""
    dim, keepdim = _alias("all", dim, axis, keepdim, keepdims)
    return _all(input, normalize_dims(dim, input.ndim, "all"), keepdim)


def any(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where some element (over ``dim``: int or tuple) is nonzero."""
    dim, keepdim = _alias("any", dim, axis, keepdim, keepdims)
    return _any(input, normalize_dims(dim, input.ndim, "any"), keepdim)


def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``log(sum(exp(x), dim))``, stable for large |x| (the max is subtracted first)."""
    x = input
    dim, keepdim = _alias("logsumexp", dim, axis, keepdim, keepdims)
    if dim is None:
        raise TypeError("logsumexp() missing 1 required argument: 'dim'")
    dims = normalize_dims(dim, x.ndim, "logsumexp")
    if x._data.dtype.kind != "f":
        x = x.to(_default_float())
    m = amax(x.detach(), dims if dims is not None else (), True)
    m = _where(m.isinf(), 0.0, m)  # all -inf (or +inf) slices: no shift
    out = (x - m).exp().sum(dims, keepdim=True).log() + m
    return out if keepdim else out.squeeze(dims if dims is not None else tuple(range(x.ndim)))


def _default_float():
    from .. import dtypes as D

    return D.default_float()


def softmax(input, dim=None, dtype=None, *, axis=None):
    """``exp(x) / sum(exp(x), dim)``, computed stably."""
    x = input
    dim, _ = _alias("softmax", dim, axis, False, None)
    if dim is None:
        raise TypeError("softmax() missing 1 required argument: 'dim'")
    if dtype is not None:
        x = x.to(dtype)
    return _softmax(x, _single_dim(dim, x.ndim, "softmax"), False)


def log_softmax(input, dim=None, dtype=None, *, axis=None):
    """``x - logsumexp(x, dim)``, computed stably."""
    x = input
    dim, _ = _alias("log_softmax", dim, axis, False, None)
    if dim is None:
        raise TypeError("log_softmax() missing 1 required argument: 'dim'")
    if dtype is not None:
        x = x.to(dtype)
    return _log_softmax(x, _single_dim(dim, x.ndim, "log_softmax"), True)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None); gradient 0 at the zero vector.

    (PyTorch's ``norm`` is a Python function: it takes no ``axis``/``keepdims`` aliases.)"""
    x = input
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"norm(): expected a floating point input, got {x.dtype}")
    if p == "fro" or p is None:
        p = 2
    dims = normalize_dims(dim, x.ndim, "norm")
    if p == float("inf"):
        return amax(x.abs(), dims if dims is not None else (), keepdim)
    if p == float("-inf"):
        return amin(x.abs(), dims if dims is not None else (), keepdim)
    if p == 1:
        return x.abs().sum(dims, keepdim)
    if p == 0:
        return (x != 0).to(x.dtype).sum(dims, keepdim)
    return _norm(x, float(p), dims, bool(keepdim))
