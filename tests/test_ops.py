"""One harness for every op: values against numpy, gradcheck and gradgradcheck in float64.

``SAMPLES`` maps each op in ``minigrad.ops.registry.REGISTRY`` to sample generators;
``COMPOSITES`` does the same for public ops built from primitives. A sample generator
takes hypothesis' ``draw`` and returns a ``Case``: the function under test (written
with minigrad's public API), its numpy reference, and the input arrays drawn from a
declared domain (kept away from kinks and ties). ``test_every_registered_op_has_a_sample``
fails when an op is added to the registry without a sample here (or in a
``tests/op_samples_*.py`` module exposing ``SAMPLES``).
"""

from __future__ import annotations

import glob
import importlib.util
import math
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from devices import TEST_DEVICE, host
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.backends import _registry
from minigrad.ops import conv as F_conv
from minigrad.ops import movement as M
from minigrad.ops.registry import REGISTRY


def _t(data, **kw):
    """A constant of a sample (an index, a mask, a weight) on the device under test."""
    return mg.tensor(data, device=TEST_DEVICE, **kw)

# ---------------------------------------------------------------------------
# Cases and domains.


@dataclass
class Case:
    fn: Callable  # (*tensors) -> Tensor or tuple of Tensors
    ref: Callable | None  # (*arrays) -> array or tuple of arrays (None: no value check)
    arrays: tuple  # inputs; floating ones become float64 tensors requiring grad
    grad: bool = True  # run gradcheck
    gradgrad: bool = True  # run gradgradcheck
    nondiff: tuple = ()  # indices of floating inputs that must not require grad
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-7  # for the value check
    kw: dict = field(default_factory=dict)
    cuda: bool = False  # needs a "cuda" device: the stand-in is installed for the case if none is
    host_arrays: bool = False  # mixes numpy arrays into the expression: CPU only (on CUDA that raises)


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


def real(rng, shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def pos(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape)


def lattice(rng, shape, offset, lo=-2, hi=3):
    """Integers plus ``offset``: two lattices with different offsets never tie."""
    return rng.integers(lo, hi, size=shape).astype(np.float64) + offset


def off_integer(rng, shape):
    """Away from integers and halves (kinks of floor, ceil, round)."""
    return rng.integers(-3, 3, size=shape) + rng.choice([0.15, 0.3, 0.7, 0.85], size=shape)


def distinct(rng, shape):
    """Distinct values at least 0.3 apart and away from zero (no ties for max/sort)."""
    n = int(np.prod(shape, dtype=np.int64))
    vals = (rng.permutation(n) - n / 2 + 0.25) * 0.3 + rng.uniform(-0.05, 0.05, size=n)
    return vals.reshape(shape)


def shapes1(min_dims=0, max_dims=3, min_side=1, max_side=3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


FIXED_PAIRS = [((), (3,)), ((1,), (3,)), ((2, 1), (3,)), ((4, 1, 3), (4, 2, 3)), ((3,), ()),
               ((2, 3), (2, 1)), ((), ())]


SHAPES_WITH_3 = st.sampled_from([(), (1,), (3,), (2, 3), (2, 1), (4, 1, 3), (4, 2, 1)])


def bshapes(n):
    """n mutually broadcastable shapes (scalars, (), (1,), (2,1) vs (3,), (4,1,3) vs (4,2,3) ...)."""
    drawn = hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3, max_side=3).map(
        lambda r: r.input_shapes)
    if n == 2:
        return st.one_of(st.sampled_from(FIXED_PAIRS), drawn)
    return drawn


def _dims(draw, ndim, allow_tuple=True, allow_none=True):
    opts = []
    if allow_none:
        opts.append(st.none())
    if ndim:
        opts.append(st.integers(-ndim, ndim - 1))
        if allow_tuple and ndim > 1:
            opts.append(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    if not opts:
        return None
    return draw(st.one_of(*opts))


def _np_axis(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, tuple):
        return tuple(d % ndim for d in dim)
    return dim % ndim if ndim else None


def erf_np(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def logsumexp_np(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def softmax_np(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# Sample generators, by op name.

SAMPLES: dict = {}
COMPOSITES: dict = {}


def sample(name, table=SAMPLES):
    def deco(fn):
        table.setdefault(name, []).append(fn)
        return fn
    return deco


def unary(name, fn, ref, domain, *, grad=True, **kw):
    @sample(name)
    def gen(draw):
        rng = _rng(draw)
        return Case(fn, ref, (domain(rng, draw(shapes1())),), grad=grad, gradgrad=grad, **kw)
    return gen


# Differentiable elementwise unary ops.
unary("neg", lambda x: -x, np.negative, real)
unary("exp", mg.exp, np.exp, real)
unary("log", mg.log, np.log, pos)
unary("log1p", mg.log1p, np.log1p, lambda r, s: real(r, s, -0.5, 2.0))
unary("expm1", mg.expm1, np.expm1, real)
unary("sqrt", mg.sqrt, np.sqrt, pos)
unary("rsqrt", mg.rsqrt, lambda x: 1 / np.sqrt(x), pos)
unary("sin", mg.sin, np.sin, real)
unary("cos", mg.cos, np.cos, real)
unary("tan", mg.tan, np.tan, lambda r, s: real(r, s, -1.0, 1.0))
unary("tanh", mg.tanh, np.tanh, real)
unary("sigmoid", mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda r, s: real(r, s, -4.0, 4.0))
unary("erf", mg.erf, erf_np, real)
unary("relu", mg.relu, lambda x: np.maximum(x, 0), nonzero)
unary("abs", mg.abs, np.abs, nonzero)
unary("sign", mg.sign, np.sign, nonzero)
unary("floor", mg.floor, np.floor, off_integer)
unary("ceil", mg.ceil, np.ceil, off_integer)
unary("round", mg.round, np.round, off_integer)
unary("clamp", lambda x: mg.clamp(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), lambda r, s: lattice(r, s, 0.25) / 2)
unary("clamp", lambda x: x.clamp(min=0.0), lambda x: np.maximum(x, 0.0), nonzero)
unary("clamp", lambda x: x.clamp(max=0.0), lambda x: np.minimum(x, 0.0), nonzero)
# A float32 round trip: finite differences need a larger step (float32 resolution).
unary("to", lambda x: x.float().double() * 1.0, lambda x: x.astype(np.float32).astype(np.float64),
      real, eps=1e-3, atol=1e-3, rtol=1e-6)
unary("to", lambda x: x.to(mg.float32).sum().to(mg.float64), lambda x: np.float64(x.astype(np.float32).sum()),
      real, eps=1e-3, atol=1e-3, rtol=1e-6)


# Non-differentiable unary ops: value only, and no graph even from an input requiring grad.
@sample("logical_not")
def _(draw):
    rng = _rng(draw)
    return Case(mg.logical_not, np.logical_not, (rng.random(draw(shapes1())) > 0.5,), grad=False, gradgrad=False)


@sample("bitwise_not")
def _(draw):
    rng = _rng(draw)
    return Case(lambda x: ~x, np.invert, (rng.integers(-5, 5, size=draw(shapes1())),), grad=False, gradgrad=False)


@sample("bitwise_not")
def _(draw):
    rng = _rng(draw)
    return Case(lambda x: ~x, np.invert, (rng.random(draw(shapes1())) > 0.5,), grad=False, gradgrad=False)


def _specials(rng, shape):
    x = real(rng, shape)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.3] = np.nan
    flat[rng.random(flat.size) < 0.2] = np.inf
    flat[rng.random(flat.size) < 0.2] = -np.inf
    return flat.reshape(shape)


for _name, _np in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)):
    unary(_name, getattr(mg, _name), _np, _specials, grad=False)


def binary(name, fn, ref, da, db, *, grad=True, **kw):
    @sample(name)
    def gen(draw):
        rng = _rng(draw)
        sa, sb = draw(bshapes(2))
        return Case(fn, ref, (da(rng, sa), db(rng, sb)), grad=grad, gradgrad=grad, **kw)
    return gen


binary("add", lambda a, b: a + b, np.add, real, real)
binary("add", lambda a, b: mg.add(a, b, alpha=2.5), lambda a, b: a + 2.5 * b, real, real)
binary("sub", lambda a, b: a - b, np.subtract, real, real)
binary("sub", lambda a, b: a.sub(b, alpha=0.5), lambda a, b: a - 0.5 * b, real, real)
binary("mul", lambda a, b: a * b, np.multiply, real, real)
binary("div", lambda a, b: a / b, np.divide, real, nonzero)
binary("pow", lambda a, b: a ** b, np.power, pos, real)  # Tensor ** Tensor
binary("maximum", mg.maximum, np.maximum, lambda r, s: lattice(r, s, 0.25), lambda r, s: lattice(r, s, 0.75))
binary("minimum", mg.minimum, np.minimum, lambda r, s: lattice(r, s, 0.25), lambda r, s: lattice(r, s, 0.75))
binary("floor_divide", lambda a, b: a // b, np.floor_divide, real, nonzero, grad=False)
for _name, _op, _np in (("eq", "__eq__", np.equal), ("ne", "__ne__", np.not_equal), ("lt", "__lt__", np.less),
                        ("le", "__le__", np.less_equal), ("gt", "__gt__", np.greater),
                        ("ge", "__ge__", np.greater_equal)):
    binary(_name, (lambda op: lambda a, b: getattr(a, op)(b))(_op), _np,
           lambda r, s: lattice(r, s, 0.5, -1, 2), lambda r, s: lattice(r, s, 0.5, -1, 2), grad=False)
    binary(_name, getattr(mg, _name), _np, real, lambda r, s: lattice(r, s, 0.5, -1, 2), grad=False)


def _bools(rng, shape):
    return rng.random(shape) > 0.5


def _ints(rng, shape):
    return rng.integers(-6, 7, size=shape)


for _name in ("logical_and", "logical_or", "logical_xor"):
    binary(_name, getattr(mg, _name), getattr(np, _name), _bools, _bools, grad=False)
    binary(_name, getattr(mg, _name), getattr(np, _name), real, _ints, grad=False)
binary("bitwise_and", lambda a, b: a & b, np.bitwise_and, _ints, _ints, grad=False)
binary("bitwise_or", lambda a, b: a | b, np.bitwise_or, _ints, _ints, grad=False)
binary("bitwise_xor", lambda a, b: a ^ b, np.bitwise_xor, _bools, _bools, grad=False)
binary("bitwise_xor", lambda a, b: a ^ b, np.bitwise_xor, _ints, _ints, grad=False)


# Fused backward rows (the hot VJPs of tanh, sigmoid, relu), called as ops: (g, y) -> gradient.
# The engine always passes g with y's shape.
def fused(name, ref, dy):
    @sample(name)
    def gen(draw):
        rng = _rng(draw)
        s = draw(shapes1())
        return Case(lambda g, y: REGISTRY[name](g, y), ref, (real(rng, s), dy(rng, s)))


fused("tanh_backward", lambda g, y: g * (1 - y * y), lambda r, s: real(r, s, -0.9, 0.9))
fused("sigmoid_backward", lambda g, y: g * y * (1 - y), lambda r, s: real(r, s, 0.1, 0.9))
fused("relu_backward", lambda g, y: np.where(y > 0, g, 0.0), nonzero)


@sample("remainder")
def _(draw):
    rng = _rng(draw)
    sa, sb = draw(bshapes(2))
    # a / b must stay away from integers (where remainder jumps).
    for _ in range(200):
        a, b = real(rng, sa, -3, 3), rng.choice([-1.0, 1.0], size=sb) * rng.uniform(0.7, 1.5, size=sb)
        q = a / b
        if np.all(np.abs(q - np.round(q)) > 0.05):
            break
    return Case(lambda a, b: a % b, np.remainder, (a, b))


# Python numbers and numpy arrays on either side (difference 4): the Tensor is the graph input.
@sample("add")
def _(draw):
    rng = _rng(draw)
    arr = real(rng, draw(shapes1()))
    return Case(lambda x: 2.0 + x + 3 + arr + x, lambda x: 2.0 + x + 3 + arr + x, (real(rng, arr.shape),),
                host_arrays=True)


@sample("sub")
def _(draw):
    rng = _rng(draw)
    arr = real(rng, draw(shapes1()))
    return Case(lambda x: (arr - x) - 1.5 - (x - arr), lambda x: (arr - x) - 1.5 - (x - arr), (real(rng, arr.shape),),
                host_arrays=True)


@sample("mul")
def _(draw):
    rng = _rng(draw)
    arr = real(rng, (3,))
    return Case(lambda x: arr * x * 2 * x * arr, lambda x: arr * x * 2 * x * arr, (real(rng, draw(SHAPES_WITH_3)),),
                host_arrays=True)


@sample("div")
def _(draw):
    rng = _rng(draw)
    arr = nonzero(rng, (3,))
    return Case(lambda x: (arr / x + x / arr) / 2 + 1 / x, lambda x: (arr / x + x / arr) / 2 + 1 / x,
                (nonzero(rng, draw(SHAPES_WITH_3)),), host_arrays=True)


@sample("pow")
def _(draw):
    rng = _rng(draw)
    arr = pos(rng, (3,))
    return Case(lambda x: x ** 3 + 2.0 ** x + arr ** x + x ** arr.round() + x ** 0.5,
                lambda x: x ** 3 + 2.0 ** x + arr ** x + x ** arr.round() + x ** 0.5,
                (pos(rng, draw(SHAPES_WITH_3)),), host_arrays=True)


@sample("pow")
def _(draw):
    rng = _rng(draw)  # negative bases with integer exponents
    return Case(lambda x: x ** 2 + x ** 3, lambda x: x ** 2 + x ** 3, (real(rng, draw(shapes1())),))


@sample("where")
def _(draw):
    rng = _rng(draw)
    sc, sa, sb = draw(bshapes(3))
    return Case(lambda c, a, b: mg.where(c, a, b), np.where, (_bools(rng, sc), real(rng, sa), real(rng, sb)))


@sample("where")
def _(draw):
    rng = _rng(draw)
    s = draw(shapes1())
    return Case(lambda c, a: mg.where(c > 0, a, 0.5) + mg.where(c <= 0, 1, a),
                lambda c, a: np.where(c > 0, a, 0.5) + np.where(c <= 0, 1, a),
                (real(rng, s), real(rng, s)), nondiff=(0,))


# Reductions.
def _reduce_case(draw, name, domain, fn, ref, *, allow_tuple=True, allow_none=True, **kw):
    rng = _rng(draw)
    shape = draw(shapes1())
    dim = _dims(draw, len(shape), allow_tuple, allow_none)
    keepdim = draw(st.booleans())
    return Case(lambda x: fn(x, dim, keepdim), lambda x: ref(x, _np_axis(dim, x.ndim), keepdim),
                (domain(rng, shape),), **kw)


@sample("sum")
def _(draw):
    return _reduce_case(draw, "sum", real, lambda x, d, k: x.sum(d, keepdim=k),
                        lambda x, a, k: np.sum(x, axis=a, keepdims=k))


@sample("sum")
def _(draw):  # numpy spellings
    return _reduce_case(draw, "sum", real, lambda x, d, k: mg.sum(x, axis=d, keepdims=k),
                        lambda x, a, k: np.sum(x, axis=a, keepdims=k))


@sample("mean")
def _(draw):
    return _reduce_case(draw, "mean", real, lambda x, d, k: x.mean(d, keepdim=k),
                        lambda x, a, k: np.mean(x, axis=a, keepdims=k))


@sample("mean")
def _(draw):  # numpy spellings, the top-level form
    return _reduce_case(draw, "mean", real, lambda x, d, k: mg.mean(x, axis=d, keepdims=k),
                        lambda x, a, k: np.mean(x, axis=a, keepdims=k))


@sample("amax")
def _(draw):
    return _reduce_case(draw, "amax", distinct, lambda x, d, k: x.amax(() if d is None else d, k),
                        lambda x, a, k: np.amax(x, axis=a, keepdims=k))


@sample("amin")
def _(draw):
    return _reduce_case(draw, "amin", distinct, lambda x, d, k: mg.amin(x, () if d is None else d, keepdim=k),
                        lambda x, a, k: np.amin(x, axis=a, keepdims=k))


def _with_zeros(rng, shape):
    x = real(rng, shape)
    flat = x.reshape(-1)
    flat[rng.random(flat.size) < 0.3] = 0.0  # prod is multilinear: exact differences even at 0
    return flat.reshape(shape)


@sample("prod")
def _(draw):
    return _reduce_case(draw, "prod", _with_zeros, lambda x, d, k: x.prod(d, keepdim=k),
                        lambda x, a, k: np.prod(x, axis=a, keepdims=k), allow_tuple=False)


@sample("cumsum")
def _(draw):
    return _reduce_case(draw, "cumsum", real, lambda x, d, k: x.cumsum(0 if d is None else d),
                        lambda x, a, k: np.cumsum(x, axis=a).reshape(x.shape), allow_tuple=False, allow_none=False)


@sample("norm")
def _(draw):
    p = draw(st.sampled_from([2, 3, 1.5, "fro"]))
    pn = 2 if p == "fro" else p
    return _reduce_case(draw, "norm", nonzero, lambda x, d, k: x.norm(p, d, k),
                        lambda x, a, k: np.sum(np.abs(x) ** pn, axis=a, keepdims=k) ** (1 / pn))


def _nd(name, fn, ref, domain, **kw):
    @sample(name)
    def gen(draw):
        return _reduce_case(draw, name, domain, fn, ref, allow_tuple=False, grad=False, gradgrad=False, **kw)


_nd("argmax", lambda x, d, k: x.argmax(d, keepdim=k) if d is not None else x.argmax(),
    lambda x, a, k: np.argmax(x, axis=a, keepdims=k) if a is not None or x.ndim == 0 else np.argmax(x), distinct)
_nd("argmin", lambda x, d, k: mg.argmin(x, d, keepdim=k) if d is not None else mg.argmin(x),
    lambda x, a, k: np.argmin(x, axis=a, keepdims=k) if a is not None or x.ndim == 0 else np.argmin(x), distinct)
_nd("all", lambda x, d, k: x.all(d, k) if d is not None else x.all(),
    lambda x, a, k: np.all(x, axis=a, keepdims=k) if a is not None else np.all(x), _bools)
_nd("any", lambda x, d, k: mg.any(x, d, k) if d is not None else x.any(),
    lambda x, a, k: np.any(x, axis=a, keepdims=k) if a is not None else np.any(x), _bools)
_nd("any", lambda x, d, k: x.any(d, k) if d is not None else x.any(),
    lambda x, a, k: np.any(x, axis=a, keepdims=k) if a is not None else np.any(x), real)


# Movement.
@sample("reshape")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1())
    target = tuple(reversed(shape)) + (1,)
    return Case(lambda x: x.reshape(target).reshape(-1).view(shape), lambda x: x.reshape(target).reshape(-1).reshape(shape),
                (real(rng, shape),))


@sample("permute")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1())
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return Case(lambda x: x.permute(*perm) * 1.0, lambda x: np.transpose(x, perm), (real(rng, shape),))


@sample("permute")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=2))
    return Case(lambda x: x.transpose(0, -1) + x.mT.transpose(-1, -2).transpose(0, -1),
                lambda x: 2 * np.swapaxes(x, 0, -1), (real(rng, shape),))


@sample("broadcast_to")
def _(draw):
    rng = _rng(draw)
    small, big = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3).map(
        lambda r: (r.input_shapes[0], r.result_shape)))
    big = (2,) + big
    return Case(lambda x: x.expand(*big) * 1.0, lambda x: np.broadcast_to(x, big), (real(rng, small),))


@sample("sum_to")
def _(draw):
    rng = _rng(draw)
    small, big = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3).map(
        lambda r: (r.input_shapes[0], r.result_shape)))
    return Case(lambda x: M.sum_to(x, small), lambda x: np.sum(x, axis=tuple(range(len(big) - len(small))))
                .sum(axis=tuple(i for i, s in enumerate(small) if s == 1), keepdims=True).reshape(small),
                (real(rng, big),))


_BASIC_INDEX = [
    (0,), (-1,), (slice(None),), (slice(1, None),), (Ellipsis, 0), (None, Ellipsis),
    (slice(0, 2), None, Ellipsis), (Ellipsis, slice(None, None, 2)), (0, Ellipsis, None),
]


@sample("getitem")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    idx = draw(st.sampled_from(_BASIC_INDEX))
    return Case(lambda x: x[idx], lambda x: x[idx], (real(rng, shape),))


@sample("getitem")
def _(draw):
    # Integer arrays with repeated indices: the gradient accumulates.
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    idx = rng.integers(-shape[0], shape[0], size=draw(st.integers(1, 6)))
    idx[0] = idx[-1]  # at least one repeat when size > 1
    as_tensor = draw(st.booleans())
    key = _t(idx) if as_tensor else idx
    return Case(lambda x: x[key] * 2.0, lambda x: x[idx] * 2.0, (real(rng, shape),))


@sample("getitem")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=2, min_side=2))
    rows = rng.integers(0, shape[0], size=4)
    cols = rng.integers(0, shape[1], size=4)
    rows[1] = rows[0]
    cols[1] = cols[0]
    return Case(lambda x: x[rows, cols] + x[[0, 0, 1], ...].sum() + x[:, cols].sum(),
                lambda x: x[rows, cols] + x[[0, 0, 1], ...].sum() + x[:, cols].sum(), (real(rng, shape),))


@sample("getitem")
def _(draw):
    # Boolean masks: a Tensor mask, a numpy mask, a mask on the leading dims only.
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    mask = rng.random(shape) > 0.4
    lead = rng.random(shape[:1]) > 0.5
    return Case(lambda x: x[_t(mask)].sum() + x[x > 0.5].sum() * 0 + x[lead].sum() + x[mask] ** 2,
                lambda x: x[mask].sum() + x[lead].sum() + x[mask] ** 2, (real(rng, shape),))


@sample("getitem_backward")
def _(draw):
    # The VJP of indexing; its own VJP is indexing again.
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    idx = rng.integers(0, shape[0], size=5)
    op = REGISTRY["getitem_backward"]

    def ref(g):
        out = np.zeros(shape)
        np.add.at(out, (idx,), g)
        return out
    key = _t(idx)._data  # the op's index: an array on the device under test
    return Case(lambda g: op(g, (key,), shape, True), ref, (real(rng, (5,) + shape[1:]),))


@sample("getitem_backward")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    op = REGISTRY["getitem_backward"]

    def ref(g):
        out = np.zeros(shape)
        out[1:] = g
        return out
    return Case(lambda g: op(g, (slice(1, None),), shape, False), ref, (real(rng, (shape[0] - 1,) + shape[1:]),))


@sample("flip")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True).map(tuple))
    return Case(lambda x: x.flip(dims), lambda x: np.flip(x, dims), (real(rng, shape),))


@sample("roll")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    shift = draw(st.integers(-4, 4))
    dim = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    return Case(lambda x: x.roll(shift, dim), lambda x: np.roll(x, shift, dim), (real(rng, shape),))


@sample("pad")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    pads = tuple(draw(st.lists(st.integers(0, 2), min_size=2, max_size=2 * len(shape)).filter(lambda p: len(p) % 2 == 0)))
    widths = [(0, 0)] * len(shape)
    for i in range(len(pads) // 2):
        widths[len(shape) - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    return Case(lambda x: M.pad_constant(x, pads, 0.5), lambda x: np.pad(x, widths, constant_values=0.5),
                (real(rng, shape),))


@sample("clone")
def _(draw):
    rng = _rng(draw)
    return Case(lambda x: x.clone() * x.clone(), lambda x: x * x, (real(rng, draw(shapes1())),))


@sample("to_device")
def _(draw):  # there and back: the gradient flows back across both copies
    rng = _rng(draw)

    def there_and_back(x):
        other = "cpu" if x.is_cuda else "cuda"
        y = x.to(other)
        assert y.device.type == other
        return (y * y).to(x.device)

    return Case(there_and_back, lambda x: x * x, (real(rng, draw(shapes1())),), cuda=True)


@sample("cat")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    arrays = []
    for s in sizes:
        sh = list(shape)
        sh[d] = s
        arrays.append(real(rng, tuple(sh)))
    return Case(lambda *xs: mg.cat(list(xs), d), lambda *xs: np.concatenate(xs, d), tuple(arrays))


def _index_along(rng, shape, d, n_index, unique=False):
    """An index tensor for gather/scatter along d (same ndim, smaller or equal other sizes)."""
    ishape = list(shape)
    ishape[d] = n_index
    if unique:
        # Distinct targets along d for every position (scatter with duplicates is undefined).
        base = np.argsort(rng.random(tuple(ishape[:d]) + (shape[d],) + tuple(ishape[d + 1:])), axis=d)
        return np.take(base, np.arange(n_index), axis=d)
    return rng.integers(0, shape[d], size=tuple(ishape))


@sample("gather")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(0, len(shape) - 1))
    idx = _index_along(rng, shape, d, draw(st.integers(1, 4)))
    return Case(lambda x: x.gather(d, _t(idx)), lambda x: np.take_along_axis(x, idx, d), (real(rng, shape),))


@sample("scatter_add")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(0, len(shape) - 1))
    idx = _index_along(rng, shape, d, draw(st.integers(1, 4)))  # repeats accumulate

    def ref(x, src):
        out = x.copy()
        grids = list(np.indices(idx.shape, sparse=True))
        grids[d] = idx
        np.add.at(out, tuple(grids), src)
        return out
    return Case(lambda x, s: x.scatter_add(d, _t(idx), s), ref, (real(rng, shape), real(rng, idx.shape)))


@sample("scatter")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(0, len(shape) - 1))
    idx = _index_along(rng, shape, d, draw(st.integers(1, shape[d])), unique=True)

    def ref(x, src):
        out = x.copy()
        grids = list(np.indices(idx.shape, sparse=True))
        grids[d] = idx
        out[tuple(grids)] = src
        return out
    return Case(lambda x, s: mg.scatter(x, d, _t(idx), s), ref, (real(rng, shape), real(rng, idx.shape)))


@sample("scatter")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    idx = _index_along(rng, shape, 0, 1, unique=True)

    def ref(x):
        out = x.copy()
        grids = list(np.indices(idx.shape, sparse=True))
        grids[0] = idx
        out[tuple(grids)] = -1.5
        return out
    return Case(lambda x: x.scatter(0, _t(idx), value=-1.5), ref, (real(rng, shape),))


@sample("index_put")
def _(draw):
    # __setitem__ on a non-leaf is recorded: gradient to the old value (zero where overwritten) and to the value.
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    kind = draw(st.sampled_from(["slice", "int", "mask", "array"]))
    if kind == "slice":
        idx = (slice(0, 1),)
        vshape = (1,) + shape[1:]
    elif kind == "int":
        idx = (-1,)
        vshape = shape[1:]
    elif kind == "mask":
        mask = rng.random(shape) > 0.5
        idx = (mask,)
        vshape = ()
    else:
        idx = (np.array([1, 0]),)
        vshape = (2,) + shape[1:]

    def fn(x, v):
        y = x * 2.0
        y[idx] = v
        return y * y

    def ref(x, v):
        y = x * 2.0
        y[idx] = v
        return y * y
    return Case(fn, ref, (real(rng, shape), real(rng, vshape)))


@sample("matmul")
def _(draw):
    rng = _rng(draw)
    kind = draw(st.sampled_from(["1d1d", "1d2d", "2d1d", "2d2d", "batched", "bcast", "nd1d", "1dnd"]))
    m, k, n = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shapes = {
        "1d1d": ((k,), (k,)), "1d2d": ((k,), (k, n)), "2d1d": ((m, k), (k,)), "2d2d": ((m, k), (k, n)),
        "batched": ((2, m, k), (2, k, n)), "bcast": ((2, 1, m, k), (3, k, n)), "nd1d": ((2, m, k), (k,)),
        "1dnd": ((k,), (2, k, n)),
    }[kind]
    return Case(lambda a, b: a @ b, np.matmul, tuple(real(rng, s) for s in shapes))


@sample("matmul")
def _(draw):
    rng = _rng(draw)
    arr = real(rng, (3, 2))
    return Case(lambda x: arr @ x + mg.matmul(x.T, arr.T).T, lambda x: arr @ x + (x.T @ arr.T).T, (real(rng, (2, 2)),),
                host_arrays=True)


@sample("linear")
def _(draw):
    rng = _rng(draw)
    batch = draw(st.sampled_from([(), (2,), (3,), (2, 2)]))
    n_in, n_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    with_bias = draw(st.booleans())
    arrays = (real(rng, batch + (n_in,)), real(rng, (n_out, n_in))) + ((real(rng, (n_out,)),) if with_bias else ())

    def fn(x, w, b=None):
        return mg.nn.functional.linear(x, w, b)

    def ref(x, w, b=None):
        return x @ w.T + (0 if b is None else b)

    return Case(fn, ref, arrays)


_EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("i,i->", [(3,), (3,)]), ("ij->ji", [(2, 3)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]), ("ij,ij->i", [(2, 3), (2, 3)]), ("i,j->ij", [(2,), (3,)]), ("...ij->...j", [(2, 2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("ii", [(3, 3)]), ("ij", [(2, 3)]),
]


@sample("einsum")
def _(draw):
    rng = _rng(draw)
    eq, shapes = draw(st.sampled_from(_EINSUM))
    return Case(lambda *xs: mg.einsum(eq, *xs), lambda *xs: np.einsum(eq, *xs), tuple(real(rng, s) for s in shapes))


# Convolution and pooling primitives (ops/conv.py). Values are checked against torch in
# tests/test_conv.py; here conv2d gets a direct numpy reference and every row gets gradcheck
# and gradgradcheck. The backward-only rows are reached through the gradient they compute.

def _grad_of(fwd):
    """(x, g) -> d<fwd(x), g>/dx, built with create_graph (exercises fwd's backward ops as forwards)."""
    def fn(x, g):
        with mg.enable_grad():
            (gx,) = mg.autograd.grad(fwd(x), x, g, create_graph=True)
        return gx
    return fn


def _conv2d_np(x, w, b, stride, pad, groups):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        grp = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = x[:, grp * cg:(grp + 1) * cg, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3))
    return out if b is None else out + b.reshape(1, -1, 1, 1)


@sample("conv2d")
def _(draw):
    rng = _rng(draw)
    stride, pad, groups = draw(st.sampled_from([1, 2])), draw(st.sampled_from([0, 1])), draw(st.sampled_from([1, 2]))
    bias = draw(st.booleans())
    arrays = (real(rng, (1, 2, 4, 4)), real(rng, (2, 2 // groups, 2, 2))) + ((real(rng, (2,)),) if bias else ())
    return Case(lambda x, w, *b: F_conv.conv2d(x, w, b[0] if b else None, stride, pad, 1, groups),
                lambda x, w, *b: _conv2d_np(x, w, b[0] if b else None, stride, pad, groups), arrays)


@sample("conv_transpose2d")
def _(draw):
    rng = _rng(draw)
    stride, pad = draw(st.sampled_from([1, 2])), draw(st.sampled_from([0, 1]))
    return Case(lambda x, w: F_conv.conv_transpose2d(x, w, None, stride, pad), None,
                (real(rng, (1, 2, 3, 3)), real(rng, (2, 1, 2, 2))))


@sample("conv2d_weight")
def _(draw):
    rng = _rng(draw)
    stride = draw(st.sampled_from([1, 2]))
    w = _t(real(rng, (2, 1, 2, 2)), requires_grad=True)

    def fn(x, g):
        with mg.enable_grad():
            (gw,) = mg.autograd.grad(F_conv.conv2d(x, w, None, stride), w, g, create_graph=True)
        return gw
    ho = (4 - 2) // stride + 1
    return Case(fn, None, (real(rng, (1, 1, 4, 4)), real(rng, (1, 2, ho, ho))))


def _pool_sample(name, fwd, gshape, backward):
    @sample(name)
    def gen(draw):
        rng = _rng(draw)
        x = distinct(rng, (1, 2, 4, 4))  # no ties inside a window
        if backward:
            return Case(_grad_of(fwd), None, (x, real(rng, gshape)))
        return Case(fwd, None, (x,))


_pool_sample("max_pool2d", lambda x: F_conv.max_pool2d(x, 2), None, False)
_pool_sample("max_pool2d_backward", lambda x: F_conv.max_pool2d(x, 2, 1, 1), (1, 2, 5, 5), True)
_pool_sample("max_pool2d_gather", lambda x: F_conv.max_pool2d(x, 3, 2, 1), (1, 2, 2, 2), True)
_pool_sample("avg_pool2d", lambda x: F_conv.avg_pool2d(x, 2, 1, 1, count_include_pad=False), None, False)
_pool_sample("avg_pool2d_backward", lambda x: F_conv.avg_pool2d(x, 3, 2, 1), (1, 2, 2, 2), True)


# ---------------------------------------------------------------------------
# Composite public ops (no gradient code of their own, but they must still be right).

def comp(name):
    return sample(name, COMPOSITES)




@comp("var")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))  # every reduced slice has >= 2 elements
    dim = _dims(draw, len(shape))
    corr = draw(st.sampled_from([None, 0, 1, 2]))
    keepdim = draw(st.booleans())
    ddof = 1 if corr is None else corr
    n = int(np.prod([shape[d] for d in (range(len(shape)) if dim is None else np.atleast_1d(dim))]))
    if n - ddof <= 0:
        ddof = corr = 0
    return Case(lambda x: x.var(dim, correction=corr, keepdim=keepdim),
                lambda x: np.var(x, axis=_np_axis(dim, x.ndim), keepdims=keepdim, ddof=ddof), (real(rng, shape),))


@comp("std")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1, min_side=2))
    dim = _dims(draw, len(shape))
    return Case(lambda x: x.std(dim), lambda x: np.std(x, axis=_np_axis(dim, x.ndim), ddof=1), (distinct(rng, shape),))


@comp("logsumexp")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    dim = _dims(draw, len(shape), allow_none=False)
    keepdim = draw(st.booleans())
    return Case(lambda x: x.logsumexp(dim, keepdim), lambda x: logsumexp_np(x, _np_axis(dim, x.ndim), keepdim),
                (real(rng, shape),))


@sample("softmax")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    return Case(lambda x: mg.softmax(x, d), lambda x: softmax_np(x, d), (real(rng, shape),))


@sample("nll_loss")
def _(draw):
    rng = _rng(draw)
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    t = rng.integers(0, c, size=n)
    red = draw(st.sampled_from(["mean", "sum"]))

    def ref(x):
        picked = x[np.arange(n), t]
        return -picked.mean() if red == "mean" else -picked.sum()

    return Case(lambda x: mg.nn.functional.nll_loss(x, _t(t), reduction=red), ref, (real(rng, (n, c)),))


@sample("log_softmax")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    return Case(lambda x: x.log_softmax(d), lambda x: np.log(softmax_np(x, d)), (real(rng, shape),))


@comp("norm")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1())
    p = draw(st.sampled_from([1, float("inf"), float("-inf")]))
    dim = _dims(draw, len(shape), allow_tuple=False)
    ref = {1: lambda x: np.sum(np.abs(x), axis=_np_axis(dim, x.ndim)),
           float("inf"): lambda x: np.max(np.abs(x), axis=_np_axis(dim, x.ndim)),
           float("-inf"): lambda x: np.min(np.abs(x), axis=_np_axis(dim, x.ndim))}[p]
    return Case(lambda x: x.norm(p, dim), ref, (distinct(rng, shape),))


@comp("max_min_dim")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.booleans())

    def fn(x):
        mx = x.max(d, keepdim=k)
        mn = mg.min(x, dim=d, keepdim=k)
        return mx.values, mx.indices, mn[0], mn[1], x.max(), x.min()

    def ref(x):
        return (np.max(x, d, keepdims=k), np.argmax(x, d, keepdims=k), np.min(x, d, keepdims=k),
                np.argmin(x, d, keepdims=k), np.max(x), np.min(x))
    return Case(fn, ref, (distinct(rng, shape),))


@comp("topk_sort")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    k = draw(st.integers(1, shape[d]))
    largest = draw(st.booleans())
    desc = draw(st.booleans())

    def fn(x):
        v, i = x.topk(k, d, largest=largest)
        s = mg.sort(x, d, descending=desc)
        return v, i, s.values, s.indices, x.argsort(d, descending=desc)

    def ref(x):
        order = np.argsort(-x if largest else x, axis=d)
        idx = np.take(order, np.arange(k), axis=d)
        sidx = np.argsort(-x if desc else x, axis=d)
        return np.take_along_axis(x, idx, d), idx, np.take_along_axis(x, sidx, d), sidx, sidx
    return Case(fn, ref, (distinct(rng, shape),))


@comp("repeat_tril_triu")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=2))
    reps = tuple(draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape) + 1)))
    diag = draw(st.integers(-2, 2))
    return Case(lambda x: (x.repeat(*reps), x.tril(diag), mg.triu(x, diag)),
                lambda x: (np.tile(x, reps), np.tril(x, diag), np.triu(x, diag)), (real(rng, shape),))


@comp("masked_fill")
def _(draw):
    rng = _rng(draw)
    sx, sm = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=3).map(
        lambda r: (r.result_shape, r.input_shapes[0])))
    mask = rng.random(sm) > 0.5
    return Case(lambda x: x.masked_fill(_t(mask), -2.0), lambda x: np.where(mask, -2.0, x), (real(rng, sx),))


@comp("masked_fill")
def _(draw):
    rng = _rng(draw)
    s = draw(shapes1())
    mask = rng.random(s) > 0.5
    return Case(lambda x, v: mg.masked_fill(x, _t(mask), v), lambda x, v: np.where(mask, v, x),
                (real(rng, s), real(rng, ())))


@comp("diag_trace")
def _(draw):
    rng = _rng(draw)
    r, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    k = draw(st.integers(-2, 2))
    return Case(lambda x, v: (x.diag(k), mg.trace(x), mg.diag(v, k)), lambda x, v: (np.diag(x, k), np.trace(x), np.diag(v, k)),
                (real(rng, (r, c)), real(rng, (c,))))


@comp("outer")
def _(draw):
    rng = _rng(draw)
    return Case(mg.outer, np.outer, (real(rng, (draw(st.integers(1, 4)),)), real(rng, (draw(st.integers(1, 4)),))))


@comp("mm_bmm_mv_dot")
def _(draw):
    rng = _rng(draw)
    return Case(lambda a, b, c, v: (mg.mm(a, b), mg.bmm(c, c.mT), mg.mv(a, v), mg.dot(v, v)),
                lambda a, b, c, v: (a @ b, c @ np.swapaxes(c, -1, -2), a @ v, v @ v),
                (real(rng, (2, 3)), real(rng, (3, 2)), real(rng, (2, 2, 3)), real(rng, (3,))))


@comp("cat_stack_split")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    chunks = draw(st.integers(1, 3))
    size = draw(st.integers(1, 3))

    def fn(a, b):
        n = a.shape[d]
        parts = mg.split(a, size, d) + a.split([n - 1, 1] if n > 1 else [1], d)
        return (mg.stack([a, b], d), mg.cat([a, b], d)) + parts + a.chunk(chunks, d) + a.unbind(d)

    def ref(a, b):
        n = a.shape[d]
        dd = d % a.ndim
        cuts = list(range(size, n, size))
        parts = tuple(np.split(a, cuts, dd)) + (tuple(np.split(a, [n - 1], dd)) if n > 1 else (a,))
        csize = -(-n // chunks)
        ch = tuple(np.split(a, list(range(csize, n, csize)), dd))
        ub = tuple(np.take(a, i, axis=dd) for i in range(n))
        return (np.stack([a, b], d), np.concatenate([a, b], d)) + parts + ch + ub
    return Case(fn, ref, (real(rng, shape), real(rng, shape)))


@comp("squeeze_unsqueeze_flatten")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_side=1, max_side=2))
    d = draw(st.integers(-len(shape) - 1, len(shape)))

    def fn(x):
        y = x.unsqueeze(d)
        return (y, y.squeeze(d), x.squeeze(), mg.flatten(x), x.flatten(0, -1) if x.ndim else x.flatten(),
                mg.unflatten(mg.flatten(x), 0, (1, -1)), x.unsqueeze(0).unsqueeze(-1).squeeze((0, -1)))

    def ref(x):
        y = np.expand_dims(x, d)
        return (y, x, np.squeeze(x), x.reshape(-1), x.reshape(-1), x.reshape(1, -1), x)
    return Case(fn, ref, (real(rng, shape),))


@comp("expand")
def _(draw):
    rng = _rng(draw)
    return Case(lambda x: (x.expand(2, -1, 3), x.expand_as(mg.zeros(4, 2, 3)), mg.broadcast_to(x, (2, 3))),
                lambda x: (np.broadcast_to(x, (2, x.shape[0], 3)), np.broadcast_to(x, (4, 2, 3)), np.broadcast_to(x, (2, 3))),
                (real(rng, draw(st.sampled_from([(2, 1), (1, 1), (2, 3), (1, 3)]))),))


@comp("index_select_take_along_dim")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=1))
    d = draw(st.integers(0, len(shape) - 1))
    idx = rng.integers(0, shape[d], size=4)  # repeated indices accumulate
    tidx = _index_along(rng, shape, d, 2)
    flat = rng.integers(0, int(np.prod(shape)), size=3)
    return Case(lambda x: (x.index_select(d, _t(idx)), mg.take_along_dim(x, _t(tidx), d),
                           x.take_along_dim(_t(flat))),
                lambda x: (np.take(x, idx, d), np.take_along_axis(x, tidx, d), np.take(x.reshape(-1), flat)),
                (real(rng, shape),))


@comp("clamp_tensor_bounds")
def _(draw):
    rng = _rng(draw)
    sx, slo, shi = draw(bshapes(3))
    return Case(lambda x, lo, hi: mg.clamp(x, lo, hi), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
                (lattice(rng, sx, 0.25, -3, 3), lattice(rng, slo, 0.75, -3, -1), lattice(rng, shi, 0.75, 0, 2)))


@comp("ndarray_op_tensor")
def _(draw):
    rng = _rng(draw)
    sa, sb = draw(bshapes(2))
    arr = nonzero(rng, sa)
    return Case(lambda x: (arr + x, arr - x, arr * x, arr / x, np.abs(arr) ** x, x @ np.ones(x.shape[-1:])
                           if x.ndim else x, np.ones(1) * x),
                lambda x: (arr + x, arr - x, arr * x, arr / x, np.abs(arr) ** x, x @ np.ones(x.shape[-1:]) if x.ndim else x,
                           np.ones(1) * x),
                (nonzero(rng, sb),), host_arrays=True)


@comp("setitem_nonleaf")
def _(draw):
    rng = _rng(draw)
    shape = draw(shapes1(min_dims=2, min_side=2))

    def fn(x, v):
        y = x * 2.0 + 1.0  # (exp saves its output: writing into it would make backward raise)
        y[0] = v * 3
        y[:, 0] = 1.5
        y[y > 2.5] = 0.0
        return y

    def ref(x, v):
        y = x * 2.0 + 1.0
        y[0] = v * 3
        y[:, 0] = 1.5
        y[y > 2.5] = 0.0
        return y
    return Case(fn, ref, (real(rng, shape), real(rng, shape[1:])))


@comp("misc_elementwise")
def _(draw):
    rng = _rng(draw)
    s = draw(shapes1())
    return Case(lambda x: (x.square(), x.reciprocal(), mg.log2(x) if hasattr(mg, "log2") else x.log2(), x.log10(),
                           x.trunc() * x, x.clamp_min(1.0), x.clamp_max(1.0)),
                lambda x: (x * x, 1 / x, np.log2(x), np.log10(x), np.trunc(x) * x, np.maximum(x, 1.0),
                           np.minimum(x, 1.0)),
                (lattice(rng, s, 0.25, 1, 3) / 1.0,))


# ---------------------------------------------------------------------------
# Extra samples from other test modules (tests/op_samples_*.py with a SAMPLES dict).

def _load_extra_samples():
    here = os.path.dirname(__file__)
    for path in sorted(glob.glob(os.path.join(here, "op_samples_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, gens in getattr(mod, "SAMPLES", {}).items():
            SAMPLES.setdefault(name, []).extend(gens)


_load_extra_samples()


def _import_everything():
    """Import every subpackage so ops defined outside the core are registered too."""
    import pkgutil

    for info in pkgutil.walk_packages(mg.__path__, "minigrad."):
        if info.name.endswith("__main__") or ".demo" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency (graphviz ...) is missing
            pass


def test_every_registered_op_has_a_sample():
    _import_everything()
    missing = sorted(set(REGISTRY) - set(SAMPLES))
    assert not missing, f"ops with no sample in tests/test_ops.py SAMPLES: {missing}"
    stale = sorted(set(SAMPLES) - set(REGISTRY))
    assert not stale, f"samples for ops that are not registered: {stale}"


def test_nondifferentiable_ops_are_marked():
    """A registry op is sampled as differentiable exactly when it has VJPs."""
    for name, op in REGISTRY.items():
        if name not in SAMPLES:
            continue
        if not op.differentiable:
            assert name in NONDIFF, f"{name} has no VJP but is not listed as non-differentiable"


NONDIFF = {"logical_not", "bitwise_not", "isnan", "isinf", "isfinite", "floor_divide", "eq", "ne", "lt", "le", "gt",
           "ge", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "argmax",
           "argmin", "all", "any"}

# ---------------------------------------------------------------------------
# The harness.


def _tensors(case):
    out = []
    for i, a in enumerate(case.arrays):
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = a.astype(np.float64)
            out.append(mg.tensor(a, device=TEST_DEVICE, requires_grad=(i not in case.nondiff)))
        else:
            out.append(mg.tensor(a, device=TEST_DEVICE))
    return out


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _check_values(case, tensors):
    got = _as_tuple(case.fn(*tensors))
    if case.ref is None:
        return got
    want = _as_tuple(case.ref(*[np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                                for a in case.arrays]))
    assert len(got) == len(want), f"{len(got)} outputs, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        assert isinstance(g, mg.Tensor), f"output {k} is {type(g).__name__}, not a Tensor"
        w = np.asarray(w)
        assert g.shape == w.shape, f"output {k}: shape {g.shape}, expected {w.shape}"
        assert g.device == tensors[0].device, f"output {k}: on {g.device}, its inputs on {tensors[0].device}"
        if w.dtype.kind == "b":
            assert g.dtype == mg.bool, f"output {k}: dtype {g.dtype}, expected bool"
            np.testing.assert_array_equal(host(g), w)
        elif w.dtype.kind in "iu":
            assert host(g).dtype.kind in "iu", f"output {k}: dtype {g.dtype}, expected an integer dtype"
            np.testing.assert_array_equal(host(g), w)
        else:
            if any(t.dtype == mg.float64 for t in tensors):
                assert g.dtype == mg.float64, f"output {k}: dtype {g.dtype}, expected float64"
            np.testing.assert_allclose(host(g), w, rtol=case.rtol, atol=1e-12, equal_nan=True,
                                       err_msg=f"output {k}")
    return got


def run_case(case):
    if case.host_arrays and TEST_DEVICE != "cpu":
        pytest.skip("numpy arrays as operands: CPU only (on CUDA they raise, see test_devices.py)")
    if case.cuda and _registry.loaded("cuda") is None:  # (the CPU run: the stand-in for this case only)
        import fakecuda

        fakecuda.install()
        try:
            return run_case(case)
        finally:
            fakecuda.uninstall()
    tensors = _tensors(case)
    got = _check_values(case, tensors)
    if not case.grad:
        for g in got:
            assert not g.requires_grad, "a non-differentiable op's output requires grad"
            assert g.grad_fn is None
        return
    if not any(t.requires_grad for t in tensors):
        return
    gradcheck(case.fn, tensors, eps=case.eps, atol=case.atol)
    _check_backward_paths_agree(case, tensors)
    if case.gradgrad:
        gradgradcheck(case.fn, tensors, eps=case.eps, atol=case.atol)


def _check_backward_paths_agree(case, tensors):
    """Without create_graph the walk runs ops' array backwards; with it, their Tensor VJPs.
    Both must give the same gradients (gradcheck only sees the first path)."""
    diff = [t for t in tensors if t.requires_grad]

    def outputs():
        return [o for o in _as_tuple(case.fn(*tensors)) if isinstance(o, mg.Tensor) and o.requires_grad]

    outs = outputs()
    if not outs:
        return
    rng = np.random.default_rng(0)
    cotangents = [mg.tensor(rng.standard_normal(o.shape), device=o.device).to(o.dtype) for o in outs]
    plain = mg.autograd.grad(outs, diff, cotangents, allow_unused=True)
    recorded = mg.autograd.grad(outputs(), diff, cotangents, create_graph=True, allow_unused=True)
    for k, (a, b) in enumerate(zip(plain, recorded)):
        assert (a is None) == (b is None), f"input {k}: gradient None on one path only"
        if a is not None:
            np.testing.assert_allclose(host(a), host(b), rtol=1e-10, atol=1e-12, equal_nan=True,
                                       err_msg=f"input {k}: array and Tensor backwards differ")


def _ids(table):
    return [(name, i) for name in sorted(table) for i in range(len(table[name]))]


HYP = settings(max_examples=6, deadline=None, derandomize=False,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.mark.parametrize("name,i", _ids(SAMPLES), ids=lambda v: str(v))
@HYP
@given(data=st.data())
def test_registered_op(name, i, data):
    run_case(SAMPLES[name][i](data.draw))


@pytest.mark.parametrize("name,i", _ids(COMPOSITES), ids=lambda v: str(v))
@HYP
@given(data=st.data())
def test_composite_op(name, i, data):
    run_case(COMPOSITES[name][i](data.draw))


def test_harness_catches_a_wrong_gradient():
    """The harness itself can fail: a deliberately wrong VJP is reported."""
    from minigrad.autograd import GradcheckError

    x = mg.tensor(np.array([0.3, 1.2]), requires_grad=True)
    def fn(t):  # a hook that doubles the gradient makes it wrong
        y = t * 1.0
        if y.requires_grad:  # (finite differences run under no_grad)
            y.register_hook(lambda g: g * 2)
        return y.exp()
    with pytest.raises(GradcheckError):
        gradcheck(fn, [x])


# ---------------------------------------------------------------------------
# Stored PyTorch references (tests/fixtures/gen_core.py): values and gradients of every public op.

def _load_gen_core():
    path = os.path.join(os.path.dirname(__file__), "fixtures", "gen_core.py")
    spec = importlib.util.spec_from_file_location("gen_core", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GEN_CORE = _load_gen_core()
REFERENCE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "core_reference.npz"))


def test_reference_covers_every_case():
    names = {k.split("/")[0] for k in REFERENCE.files}
    assert names == set(GEN_CORE.CASES), "core_reference.npz is stale: rerun tests/fixtures/gen_core.py"


@pytest.mark.parametrize("name", sorted(GEN_CORE.CASES))
def test_matches_torch_reference(name):
    fn, _ = GEN_CORE.CASES[name]
    arrays = GEN_CORE.inputs_for(name)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    outs = GEN_CORE._as_tuple(fn(mg, *xs))
    ws = GEN_CORE.weights_for(name, [tuple(o.shape) for o in outs])
    for k, o in enumerate(outs):
        want = REFERENCE[f"{name}/out{k}"]
        assert o.shape == want.shape, f"{name} output {k}: shape {o.shape}, torch {want.shape}"
        np.testing.assert_allclose(o.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=f"{name} output {k}")
    total = None
    for o, w in zip(outs, ws):
        if o.dtype == mg.float64 and o.requires_grad:
            term = (o * w).sum()
            total = term if total is None else total + term
    grads = mg.autograd.grad(total, xs, allow_unused=True)
    for i, g in enumerate(grads):
        want = REFERENCE[f"{name}/grad{i}"]
        got = np.zeros_like(arrays[i]) if g is None else g.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=f"{name} gradient of input {i}")
