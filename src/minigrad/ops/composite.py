"""Composite ops that need no gradient code of their own: casts, sorting, sampling."""

from __future__ import annotations

import math

from .. import backend as B
from ..autograd.graph import is_grad_enabled as _grad_enabled
from ..autograd.graph import no_grad
from . import elementwise as E
from .movement import gather
from .reduce import normalize_dims, values_indices
from .registry import constant

xp = B.xp


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


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    d = _dim(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {d} of size {n} (shape {tuple(x.shape)})")
    idx = argsort(x, d, descending=largest)
    index = (slice(None),) * d + (slice(0, k),)
    idx = constant(idx._data[index])
    return values_indices["topk"](gather(x, d, idx), idx)


def multinomial(probs, num_samples, replacement=False, *, generator=None):
    """Indices sampled from the rows of ``probs`` (weights, not necessarily normalised), drawn
    as PyTorch's CPU kernel: without replacement (or for one sample) the exponential trick,
    ``argmax``/``topk`` of ``probs / q`` with ``q ~ Exp(1)``; with replacement a search of
    each row's normalised running sums for float64 uniforms."""
    from .. import random as R

    p = probs._data
    if p.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(probs.shape)}")
    if p.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got {p.dtype}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement ({num_samples} > {p.shape[-1]})")
    if (p < 0).any() or not xp.isfinite(p).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    gen = R._gen(generator)
    if not replacement or num_samples == 1:
        tok = B.fp_var_set(B.FP_IGNORE)  # a zero weight over q gives 0, never a warning
        try:
            q = rows / R.exponential(gen, rows.shape, rows.dtype)
        finally:
            B.fp_var_reset(tok)
        if num_samples == 1:
            result = q.argmax(-1)[:, None]
        else:
            result = xp.argsort(-q, axis=-1, kind="stable")[:, :num_samples]
    else:
        result = R.multinomial_with_replacement(gen, rows, num_samples)
    with no_grad():
        return constant(result.astype(B.int64).reshape(p.shape[:-1] + (num_samples,)))
