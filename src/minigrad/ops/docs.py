"""One-line docstrings, with shapes, for the callables the op tables create.

The tables stay one row per op; what each public op computes is said here once.
Shapes: elementwise ops return the broadcast shape of their inputs.
"""

from __future__ import annotations

from . import elementwise as E

_UNARY = "(x: Tensor) -> Tensor, same shape as x."
_BINARY = "(a, b) -> Tensor of the broadcast shape of a and b; numbers and ndarrays are accepted as constants."

DOCS = {
    E.neg: "-x elementwise " + _UNARY,
    E.exp: "e**x elementwise " + _UNARY,
    E.log: "Natural logarithm elementwise (-inf at 0, nan below) " + _UNARY,
    E.log1p: "log(1 + x), accurate near 0, " + _UNARY,
    E.expm1: "exp(x) - 1, accurate near 0, " + _UNARY,
    E.sqrt: "Square root elementwise " + _UNARY,
    E.rsqrt: "1 / sqrt(x) elementwise " + _UNARY,
    E.sin: "Sine elementwise " + _UNARY,
    E.cos: "Cosine elementwise " + _UNARY,
    E.tan: "Tangent elementwise " + _UNARY,
    E.tanh: "Hyperbolic tangent elementwise " + _UNARY,
    E.sigmoid: "1 / (1 + exp(-x)), finite for any x, " + _UNARY,
    E.erf: "Gauss error function elementwise " + _UNARY,
    E.relu: "max(x, 0) elementwise (gradient 0 at 0) " + _UNARY,
    E.abs: "|x| elementwise (gradient 0 at 0) " + _UNARY,
    E.sign: "-1, 0 or 1 elementwise (zero gradient) " + _UNARY,
    E.floor: "Largest integer <= x (zero gradient) " + _UNARY,
    E.ceil: "Smallest integer >= x (zero gradient) " + _UNARY,
    E.round: "Round half to even, to `decimals` places (zero gradient) " + _UNARY,
    E.isnan: "True where x is nan " + _UNARY,
    E.isinf: "True where x is +-inf " + _UNARY,
    E.isfinite: "True where x is finite " + _UNARY,
    E.logical_not: "Elementwise not (bool result) " + _UNARY,
    E.add: "a + b " + _BINARY,
    E.sub: "a - b " + _BINARY,
    E.mul: "a * b " + _BINARY,
    E.pow: "a ** b (gradient in both a and b) " + _BINARY,
    E.maximum: "Elementwise maximum; ties give each side half the gradient. " + _BINARY,
    E.minimum: "Elementwise minimum; ties give each side half the gradient. " + _BINARY,
    E.remainder: "a mod b with the sign of b (Python's %) " + _BINARY,
    E.floor_divide: "floor(a / b) (not differentiable) " + _BINARY,
    E.eq: "a == b (bool, not differentiable) " + _BINARY,
    E.ne: "a != b (bool, not differentiable) " + _BINARY,
    E.lt: "a < b (bool, not differentiable) " + _BINARY,
    E.le: "a <= b (bool, not differentiable) " + _BINARY,
    E.gt: "a > b (bool, not differentiable) " + _BINARY,
    E.ge: "a >= b (bool, not differentiable) " + _BINARY,
    E.logical_and: "Elementwise and (bool) " + _BINARY,
    E.logical_or: "Elementwise or (bool) " + _BINARY,
    E.logical_xor: "Elementwise xor (bool) " + _BINARY,
    E.square: "x * x " + _UNARY,
    E.reciprocal: "1 / x " + _UNARY,
}


def _attach() -> None:
    for fn, doc in DOCS.items():
        fn.__doc__ = doc


_attach()
