"""Composite ops that need no gradient code of their own: casts, sorting, sampling."""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.graph import is_grad_enabled as _grad_enabled
from . import elementwise as E
from .movement import gather
from .reduce import normalize_dims, values_indices
from .registry import constant


def cast(x, dtype):
    """``x.to(dtype)``: differentiable between floating dtypes; other results are constants."""
    if dtype.kind == "f" and x._data.dtype.kind == "f":
        return E.cast(x, dtype)
    if x._rg and "V" in (dtype.kind, x._data.dtype.kind) and _grad_enabled():
        raise RuntimeError(f"to({B.dtype(dtype).name}): minigrad does not differentiate through bfloat16 tensors "
                           "yet; cast under no_grad() or detach() first")
    return constant(x._data.astype(dtype))


def log2(x):
    return E.log(x) / math.log(2.0)


def log10(x):
    return E.log(x) / math.log(10.0)


def _dim(x, dim, op):
    return normalize_dims(dim, x.ndim, op)[0] if x.ndim else 0


def argsort(x, dim=-1, descending=False, stable=False):
    """Indices that sort ``x`` along ``dim`` (ties keep their order)."""
    d = _dim(x, dim, "argsort")
    data = x._data
    xp = B.XP[data.__class__]
    if x.ndim == 0:
        return constant(xp.zeros((), dtype=B.int64))
    if descending:
        # Stable descending order: sort the reversed array ascending on negated keys.
        idx = xp.argsort(_descending_key(data), axis=d, kind="stable")
    else:
        idx = xp.argsort(data, axis=d, kind="stable")
    return constant(idx.astype(B.int64))


def _descending_key(data):
    if data.dtype.kind == "b":
        return ~data
    if data.dtype.kind == "u":
        return data.max() - data
    return -data


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) sorted along ``dim``; values carry the gradient."""
    idx = argsort(x, dim, descending, stable)
    if x.ndim == 0:
        return values_indices["sort"](x.clone(), idx)
    return values_indices["sort"](gather(x, _dim(x, dim, "sort"), idx), idx)


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    d = _dim(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {d} of size {n} (shape {tuple(x.shape)})")
    idx = argsort(x, d, descending=largest)
    index = (slice(None),) * d + (slice(0, k),)
    idx = constant(idx._data[index])
    return values_indices["topk"](gather(x, d, idx), idx)
