"""Elementwise ops: the table of forwards and VJPs, then the composites.

Each row: name, forward on arrays, one VJP per input written with Tensor ops
(``g`` the incoming gradient, ``out`` the saved output, then the saved inputs).
Broadcast reduction is not written here: the engine sums each input's gradient
back to its shape in one place.
"""

from __future__ import annotations

import math
import warnings

from .. import backend as B
from .. import dtypes as D
from .registry import (
    constant,
    defbinary,
    defop,
    defunary,
    identity_vjp,
    is_tensor,
    result_dtype,
)

_ndarray = B.ndarray
_XP = B.XP  # array class -> its array module: ``xp = _XP[x.__class__]`` picks numpy or cupy per call
_np = B.xp  # numpy, for the CPU fast paths (``x.__class__ is _ndarray``)
_np_broadcast_to = B.NUMPY.broadcast_to
_scalar = B.scalar_array  # numpy's cached 0-d operands


def _zeros(g):
    if g.__class__ is _ndarray:  # array-safe VJPs: a read-only broadcast zero, no memory
        return _np_broadcast_to(B.xp.zeros((), g.dtype), g.shape)
    if not is_tensor(g):  # another backend's array
        return _XP[g.__class__].zeros(g.shape, g.dtype)
    # dtype given explicitly: a numpy scalar alone counts as a Python number (default dtype)
    return constant(0, g._data.dtype, B.backend_of(g._data)).expand(g.shape)


def _array(r):
    """A ufunc's result as an array (on 0-d inputs numpy's ufuncs return scalars), to write into."""
    return r if r.__class__ is _ndarray or not isinstance(r, B.generic) else B.xp.asarray(r)


def _one(t):
    """A 0-d 1 of ``t``'s dtype on ``t``'s backend."""
    return _scalar(1, t.dtype) if t.__class__ is _ndarray else B.backend_of(t).scalar_array(1, t.dtype)


def _sigmoid(x):
    # exp(-x) may overflow to inf for very negative x, giving the right limit 0;
    # forwards run with numpy's FP warnings off. One buffer, reused in place.
    xp = _np if x.__class__ is _ndarray else _XP[x.__class__]
    t = _array(xp.negative(x))
    xp.exp(t, out=t)
    t += _scalar(1, t.dtype) if t.__class__ is _ndarray else _one(t)
    return xp.reciprocal(t, out=t)


def _relu(x):
    if x.__class__ is _ndarray:
        return _np.maximum(x, _scalar(0, x.dtype))
    return _XP[x.__class__].maximum(x, B.backend_of(x).scalar_array(0, x.dtype))


def _tanh_backward(g, y, into=None):
    """g * (1 - y * y), written into ``into`` (y's buffer when the walk owns it) if given."""
    xp = _np if y.__class__ is _ndarray else _XP[y.__class__]
    t = _array(xp.multiply(y, y)) if into is None else xp.multiply(y, y, out=into)  # (out=None costs a keyword parse)
    xp.subtract(_scalar(1, t.dtype) if t.__class__ is _ndarray else _one(t), t, out=t)
    t *= g
    return t


def _relu_backward(g, y, into=None):
    """g where y > 0, else 0; written into ``into`` (g's buffer when the walk owns it) if given."""
    # On big arrays g * (y > 0) runs ~2x faster than where() (which branches per element on a
    # random mask), with the mask applied again only when g is not finite, so inf * 0 does not
    # put NaN where y <= 0 (the check is one BLAS dot, see B.surely_finite); on small ones
    # where() alone is faster than the product and its check.
    if y.__class__ is not _ndarray:  # another backend: one select, no finiteness test
        bk = B.backend_of(y)
        return bk.xp.where(y > bk.scalar_array(0, y.dtype), g, bk.scalar_array(0, g.dtype))
    zero = B.scalar_array(0, y.dtype)
    if g.size <= 4096 and into is None:
        return B.where(y > zero, g, B.scalar_array(0, g.dtype))
    keep = y > zero
    xp = B.xp
    t = xp.multiply(g, keep) if into is None else xp.multiply(g, keep, out=into)  # (never 0-d here)
    if not B.surely_finite(t):
        xp.copyto(t, B.scalar_array(0, t.dtype), where=~keep)  # t is g where keep: only the rest is wrong
    return t


def _sigmoid_backward(g, y, in_place=False):
    """(g * y) * (1 - y) (one rounding order on every path); ``in_place``: g and y are buffers
    the walk owns, and the result goes in g."""
    if y.__class__ is _ndarray:
        one = _scalar(1, y.dtype)
        xp = _np
    else:
        one = _one(y)
        xp = _XP[y.__class__]
    if in_place:
        g *= y
        xp.subtract(one, y, out=y)
        g *= y
        return g
    t = _array(xp.multiply(g, y))
    t *= xp.subtract(one, y)
    return t


# Fused array backwards, declared on the rows of mul, exp, tanh, sigmoid and relu (the hottest
# ops): without create_graph the walk calls these on numpy arrays, one call for all inputs,
# by the same formulas as the rows' VJPs. For large arrays the walk may let them write into the
# incoming gradient (g_free) or the saved output (out_free) when nothing else references
# those buffers: fewer new arrays and passes.
def _where(c, a, b):
    # numpy's where without its dispatcher on the CPU; the condition's module elsewhere
    return B.where(c, a, b) if c.__class__ is _ndarray else _XP[c.__class__].where(c, a, b)


def _product(x, y, into):
    xp = _np if x.__class__ is _ndarray else _XP[x.__class__]
    return xp.multiply(x, y) if into is None else xp.multiply(x, y, out=into)  # (out=None costs a keyword parse)


def _exp_backward(g, out, inputs, parents, g_free, out_free):
    into = None
    if (g_free or out_free) and g.dtype is out.dtype:
        into = out if out_free else g
    return [_product(g, out, into)]


def _tanh_backward_arrays(g, out, inputs, parents, g_free, out_free):
    return [_tanh_backward(g, out, out if out_free and g.dtype is out.dtype else None)]


def _sigmoid_backward_arrays(g, out, inputs, parents, g_free, out_free):
    return [_sigmoid_backward(g, out, g_free and out_free and g.dtype is out.dtype)]


def _relu_backward_arrays(g, out, inputs, parents, g_free, out_free):
    return [_relu_backward(g, out, g if g_free else None)]


def _mul_backward(g, out, inputs, parents, g_free, out_free):
    a, b = inputs
    pa, pb = parents
    into = g if g_free and g.dtype is a.dtype and g.dtype is b.dtype else None
    if pa is pb and a is b:  # x * x: 2 * (g * x), sent once for both operands
        t = _product(g, a, into)
        t += t
        return [t, None]
    gb = None if pb is None else _product(g, a, into if pa is None else None)  # before g is overwritten
    return [None if pa is None else _product(g, b, into), gb]


# The shapes part of the rows' one-line docs.
UNARY = "(x: Tensor) -> Tensor, same shape as x."
BINARY = "(a, b) -> Tensor of the broadcast shape of a and b; numbers and ndarrays are accepted as constants."
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# fmt: off
# Each row: name, forward(x, *params) on arrays (often a ufunc), VJP(g, out, x, *params) on
# Tensors, then the columns (registry.Op says what each means).
neg     = defunary("neg", "negative", lambda g, out, x: -g,
                   array_safe=True, doc="-x elementwise " + UNARY)
exp     = defunary("exp", "exp", lambda g, out, x: g * out,
                   save="out", dtype_rule="float", array_safe=True, array_backward=_exp_backward,
                   doc="e**x elementwise " + UNARY)
log     = defunary("log", "log", lambda g, out, x: g / x,
                   save="inputs", dtype_rule="float", array_safe=True,
                   doc="Natural logarithm elementwise (-inf at 0, nan below) " + UNARY)
log1p   = defunary("log1p", "log1p", lambda g, out, x: g / (x + 1),
                   save="inputs", dtype_rule="float", array_safe=True, doc="log(1 + x), accurate near 0, " + UNARY)
expm1   = defunary("expm1", "expm1", lambda g, out, x: g * (out + 1),
                   save="out", dtype_rule="float", array_safe=True, doc="exp(x) - 1, accurate near 0, " + UNARY)
sqrt    = defunary("sqrt", "sqrt", lambda g, out, x: g / (out * 2),
                   save="out", dtype_rule="float", array_safe=True, doc="Square root elementwise " + UNARY)
rsqrt   = defunary("rsqrt", lambda x: 1 / _XP[x.__class__].sqrt(x), lambda g, out, x: g * out * out * out * -0.5,
                   save="out", dtype_rule="float", array_safe=True, doc="1 / sqrt(x) elementwise " + UNARY)
sin     = defunary("sin", "sin", lambda g, out, x: g * cos(x),
                   save="inputs", dtype_rule="float", array_safe=True, doc="Sine elementwise " + UNARY)
cos     = defunary("cos", "cos", lambda g, out, x: -g * sin(x),
                   save="inputs", dtype_rule="float", array_safe=True, doc="Cosine elementwise " + UNARY)
tan     = defunary("tan", "tan", lambda g, out, x: g * (out * out + 1),
                   save="out", dtype_rule="float", array_safe=True, doc="Tangent elementwise " + UNARY)
tanh    = defunary("tanh", "tanh", lambda g, out, x: tanh_backward(g, out),
                   save="out", dtype_rule="float", array_safe=True, array_backward=_tanh_backward_arrays,
                   doc="Hyperbolic tangent elementwise " + UNARY)
sigmoid = defunary("sigmoid", _sigmoid, lambda g, out, x: sigmoid_backward(g, out),
                   save="out", dtype_rule="float", array_safe=True, array_backward=_sigmoid_backward_arrays,
                   doc="1 / (1 + exp(-x)), finite for any x, " + UNARY)
erf     = defunary("erf", lambda x: B.backend_of(x).erf(x), lambda g, out, x: g * exp(-(x * x)) * _TWO_OVER_SQRT_PI,
                   save="inputs", dtype_rule="float", array_safe=True,
                   doc="Gauss error function elementwise " + UNARY)
relu    = defunary("relu",
                   _relu,
                   lambda g, out, x: relu_backward(g, out),
                   save="out", array_safe=True, array_backward=_relu_backward_arrays,
                   doc="max(x, 0) elementwise (gradient 0 at 0) " + UNARY)
abs     = defunary("abs", "abs", lambda g, out, x: g * sign(x),
                   save="inputs", array_safe=True, doc="|x| elementwise (gradient 0 at 0) " + UNARY)
sign    = defunary("sign", "sign", lambda g, out, x: _zeros(g),
                   array_safe=True, doc="-1, 0 or 1 elementwise (zero gradient) " + UNARY)
floor   = defunary("floor", "floor", lambda g, out, x: _zeros(g),
                   array_safe=True, doc="Largest integer <= x (zero gradient) " + UNARY)
ceil    = defunary("ceil", "ceil", lambda g, out, x: _zeros(g),
                   array_safe=True, doc="Smallest integer >= x (zero gradient) " + UNARY)
round   = defunary("round", "round", lambda g, out, x, decimals: _zeros(g),
                   array_safe=True, doc="Round half to even, to `decimals` places (zero gradient) " + UNARY)
clamp_scalar = defunary("clamp",
                        "clip",
                        lambda g, out, x, lo, hi: g * _within(x, lo, hi),
                        save="inputs", array_safe=True)
# The engine casts each input's gradient back to that input's dtype, so a cast's VJP is g.
cast    = defunary("to", lambda x, dtype: x.astype(dtype), identity_vjp,
                   array_safe=True)
# A move between devices (Tensor.to(device)); params: the backends to and from. The gradient
# moves back to the input's device.
to_device = defunary("to_device", lambda x, dst, src: B.to_backend(x, dst),
                     lambda g, out, x, dst, src: to_device(g, src, dst), array_safe=True,
                     doc="x copied to another device (differentiable) " + UNARY)
# Not differentiable (bool or integer results).
logical_not = defunary("logical_not", "logical_not", None,
                       doc="Elementwise not (bool result) " + UNARY)
bitwise_not = defunary("bitwise_not", "invert", None)
isnan   = defunary("isnan", "isnan", None,
                   doc="True where x is nan " + UNARY)
isinf   = defunary("isinf", "isinf", None,
                   doc="True where x is +-inf " + UNARY)
isfinite = defunary("isfinite", "isfinite", None,
                    doc="True where x is finite " + UNARY)

# Binary rows: name, forward(a, b) (a ufunc), VJP for a, VJP for b, then the columns.
add     = defbinary("add", "add", identity_vjp, identity_vjp,
                    array_safe=True, number_operands=True, doc="a + b " + BINARY)
sub     = defbinary("sub", "subtract", identity_vjp, lambda g, out, a, b: -g,
                    array_safe=True, number_operands=True, doc="a - b " + BINARY)
mul     = defbinary("mul", "multiply", lambda g, out, a, b: g * b, lambda g, out, a, b: g * a,
                    save="inputs", array_safe=True, number_operands=True, array_backward=_mul_backward,
                    doc="a * b " + BINARY)
div     = defbinary("div", "true_divide", lambda g, out, a, b: g / b, lambda g, out, a, b: -(g / b) * (a / b),
                    save="inputs", dtype_rule="promote_float", array_safe=True, number_operands=True)
pow     = defbinary("pow",
                    "power",
                    lambda g, out, a, b: _pow_vjp_base(g, a, b),
                    lambda g, out, a, b: g * out * _log_or_zero(a, b),
                    save="both", array_safe=True, number_operands=True,
                    doc="a ** b (gradient in both a and b) " + BINARY)
maximum = defbinary("maximum", "maximum", lambda g, out, a, b: g * _pick(a, b), lambda g, out, a, b: g * _pick(b, a),
                    save="inputs", array_safe=True, number_operands=True,
                    doc="Elementwise maximum; ties give each side half the gradient. " + BINARY)
minimum = defbinary("minimum", "minimum", lambda g, out, a, b: g * _pick(b, a), lambda g, out, a, b: g * _pick(a, b),
                    save="inputs", array_safe=True, number_operands=True,
                    doc="Elementwise minimum; ties give each side half the gradient. " + BINARY)
remainder = defbinary("remainder", "remainder", identity_vjp, lambda g, out, a, b: -g * floor_divide(a, b),
                      save="inputs", array_safe=True, doc="a mod b with the sign of b (Python's %) " + BINARY)
floor_divide = defbinary("floor_divide", "floor_divide", None,
                         doc="floor(a / b) (not differentiable) " + BINARY)
eq      = defbinary("eq", "equal", None,
                    doc="a == b (bool, not differentiable) " + BINARY)
ne      = defbinary("ne", "not_equal", None,
                    doc="a != b (bool, not differentiable) " + BINARY)
lt      = defbinary("lt", "less", None,
                    doc="a < b (bool, not differentiable) " + BINARY)
le      = defbinary("le", "less_equal", None,
                    doc="a <= b (bool, not differentiable) " + BINARY)
gt      = defbinary("gt", "greater", None,
                    doc="a > b (bool, not differentiable) " + BINARY)
ge      = defbinary("ge", "greater_equal", None,
                    doc="a >= b (bool, not differentiable) " + BINARY)
logical_and = defbinary("logical_and", "logical_and", None,
                        doc="Elementwise and (bool) " + BINARY)
logical_or = defbinary("logical_or", "logical_or", None,
                       doc="Elementwise or (bool) " + BINARY)
logical_xor = defbinary("logical_xor", "logical_xor", None,
                        doc="Elementwise xor (bool) " + BINARY)
bitwise_and = defbinary("bitwise_and", "bitwise_and", None)
bitwise_or = defbinary("bitwise_or", "bitwise_or", None)
bitwise_xor = defbinary("bitwise_xor", "bitwise_xor", None)

# Fused backward rows: one op instead of three in the hot VJPs; still differentiable.
# (name, forward(g, y), VJP for g, VJP for y)
tanh_backward = defbinary("tanh_backward",
                          _tanh_backward,
                          lambda gg, out, g, y: tanh_backward(gg, y),
                          lambda gg, out, g, y: gg * g * y * -2,
                          save="inputs", array_safe=True)
sigmoid_backward = defbinary("sigmoid_backward",
                             _sigmoid_backward,
                             lambda gg, out, g, y: sigmoid_backward(gg, y),
                             lambda gg, out, g, y: gg * g * (1 - y * 2),
                             save="inputs", array_safe=True)
relu_backward = defbinary("relu_backward",
                          _relu_backward,
                          lambda gg, out, g, y: relu_backward(gg, y),
                          lambda gg, out, g, y: _zeros(gg),
                          save="inputs", array_safe=True)

# (name, forward([cond, a, b]), VJPs(g, out, cond, a, b))
where_  = defop("where", lambda arrs: _where(*arrs),
                arity=3, dtype_rule="promote_tail",
                vjps=(None,
                      lambda g, out, c, a, b: where_(c, g, 0.0),
                      lambda g, out, c, a, b: where_(c, 0.0, g)),
                save="inputs", array_safe=True)
# fmt: on



def _within(x, lo, hi):
    """1 where lo <= x <= hi (gradient 1 at the bounds, as PyTorch), else 0."""
    mask = None
    if lo is not None:
        mask = x >= lo
    if hi is not None:
        upper = x <= hi
        mask = upper if mask is None else logical_and(mask, upper)
    return mask


def _pick(a, b):
    """Gradient share of ``a`` in maximum(a, b): 1 where a > b, 1/2 on ties."""
    return (a > b) + (a == b) * 0.5


def _pow_vjp_base(g, a, b):
    d = g * b * a ** (b - 1)
    if (b == 0).any():  # x ** 0 has gradient 0 everywhere, x = 0 included (PyTorch), not 0 * inf
        d = where_(b == 0, 0.0, d)
    return d


def _log_or_zero(a, b):
    # d(a**b)/db = a**b * log(a); PyTorch takes 0 where a == 0 and b >= 0.
    safe = where_(logical_and(a == 0, b >= 0), 1.0, a)
    return log(safe)


# ---------------------------------------------------------------------------
# Composites (no gradient code of their own).

def where(condition, input, other):
    """``where(condition, input, other)``: elementwise select, broadcasting all three."""
    if not is_tensor(condition):
        condition = constant(condition)
    kind = condition._data.dtype
    if kind.kind != "b":  # PyTorch's rule: a boolean condition (uint8 still passes, with its warning)
        if kind != B.uint8:
            raise RuntimeError("where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{D.scalar_type_name(kind)}")
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                      "in a future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = condition != 0
    shapes = [tuple(getattr(v, "shape", ())) for v in (condition, input, other)]
    try:
        B.xp.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"where: shapes {shapes[0]} (condition), {shapes[1]} (input) and {shapes[2]} (other) "
            "are not broadcastable"
        ) from None
    return where_(condition, input, other)


def clamp(x, min=None, max=None):
    """Clamp to [min, max]; tensor bounds broadcast (as ``torch.clamp``)."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if is_tensor(min) or is_tensor(max):
        out = x
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if x._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = x.to(result_dtype([x] + [b for b in (min, max) if b is not None], "promote"))  # int -> default float
    return clamp_scalar(x, min, max)


def square(x):
    """x * x (x: Tensor) -> Tensor, same shape as x."""
    return mul(x, x)


def reciprocal(x):
    """1 / x (x: Tensor) -> Tensor, same shape as x."""
    return div(1.0, x)


def divide(a, b, rounding_mode=None):
    """``div(a, b, rounding_mode=None | 'trunc' | 'floor')``, as ``torch.div``."""
    if rounding_mode is None:
        return div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        dt = result_dtype((a, b), "promote")
        q = trunc(div(a, b))
        return q if dt.kind == "f" else q.to(dt)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


def trunc(x):
    """Round toward zero (zero gradient)."""
    return where_(x >= 0, floor(x), ceil(x))
