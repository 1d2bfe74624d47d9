"""Hypothesis strategies for random minigrad programs, and the checks run on them.

A *program* is a straight-line Python function of float64 input tensors built from
1-40 steps drawn from the whole op table (elementwise, broadcasting binary ops,
reductions, shape ops, indexing, in-place ops on fresh clones, matmul, einsum ...).
Steps may reuse any earlier value, so programs have shared subexpressions.

The builder evaluates every step while drawing it, so each op is applied only
where it is smooth enough for finite differences: a step whose operand lies near
a kink, a tie or a discontinuity (closer than ``MARGIN``) is not drawn, and ops
with a restricted domain get an operand mapped into it (``log(x*x + 0.5)``).
Such choices are written into the program's source as constants, so the program
is a fixed, smooth function around its inputs.

``Program.source`` is plain Python; ``Program.replay()`` prints a self-contained
reproduction, which is how a failing program shrunk by hypothesis becomes a
regression test (see ``tests/test_fuzz.py``).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck
from minigrad.ops import movement as M

MARGIN = 1e-3  # distance kept from kinks, ties and discontinuities (eps is 1e-6)
MAX_NUMEL = 48  # largest intermediate
MAX_INPUT_ELEMS = 30  # gradcheck costs two forward passes per input element
BOUND = 3.0  # values are rescaled into [-BOUND, BOUND] after each step


def _f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


class Node:
    __slots__ = ("name", "value")

    def __init__(self, name: str, value: np.ndarray) -> None:
        self.name = name
        self.value = value

    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size


class Program:
    """Inputs (float64 arrays), constants, and the straight-line source using them."""

    def __init__(self, input_names, inputs, consts, lines, ops, expect=None) -> None:
        self.input_names = list(input_names)
        self.inputs = [np.array(a, dtype=np.float64) for a in inputs]
        self.consts = list(consts)
        self.lines = list(lines)
        self.ops = list(ops)
        self.expect = dict(expect or {})  # name -> forward value a numpy model gives at ``inputs``

    @property
    def source(self) -> str:
        body = "\n".join("    " + ln for ln in self.lines)
        return f"def program({', '.join(self.input_names)}):\n{body}\n"

    def function(self, with_values: bool = False):
        """The program as a Python function; ``with_values``: it returns (output, {name: value})."""
        src = self.source
        if with_values:
            head, ret = src.rsplit("    return ", 1)
            src = head + f"    return ({ret.strip()}), dict(locals())\n"
        ns = {"mg": mg, "np": np, "M": M, "C": self.consts}
        exec(compile(src, "<fuzz program>", "exec"), ns)
        return ns["program"]

    def replay(self) -> str:
        """Python text that rebuilds this program (paste into tests/test_fuzz.py REGRESSIONS)."""
        def lit(c):
            if isinstance(c, mg.Tensor):
                return f"mg.tensor(np.array({c.numpy().tolist()!r}, dtype=np.{c.numpy().dtype}))"
            if isinstance(c, np.ndarray):
                return f"np.array({c.tolist()!r}, dtype=np.{c.dtype})"
            return repr(c)

        inputs = ",\n        ".join(f"np.array({a.tolist()!r})" for a in self.inputs)
        consts = ",\n        ".join(lit(c) for c in self.consts)
        return (
            "Program(\n"
            f"    input_names={self.input_names!r},\n"
            f"    inputs=[\n        {inputs}],\n"
            f"    consts=[\n        {consts}],\n"
            f"    lines={self.lines!r},\n"
            f"    ops={self.ops!r},\n"
            ")"
        )

    def __repr__(self) -> str:
        return self.replay() + "\n# source:\n" + self.source


# ---------------------------------------------------------------------------
# The builder: draws steps, evaluating each as it goes.

class Builder:
    def __init__(self, draw) -> None:
        self.draw = draw
        self.nodes: list[Node] = []
        self.input_names: list[str] = []
        self.inputs: list[np.ndarray] = []
        self.consts: list = []
        self.lines: list[str] = []
        self.ops: list[str] = []
        self.ns = {"mg": mg, "np": np, "M": M, "C": self.consts}
        self.env: dict = {}
        self.input_elems = 0
        self.counter = itertools.count()
        self.expect: dict = {}  # name -> the value numpy's model gives (view steps), checked in grad mode

    # -- drawing helpers -----------------------------------------------------
    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def bool(self) -> bool:
        return self.draw(st.booleans())

    def choice(self, seq):
        return self.draw(st.sampled_from(list(seq)))

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.draw(st.integers(0, 2**32 - 1)))

    def pick(self, pred=None) -> Node | None:
        """An earlier value; index 0 (where shrinking goes) is the most recent."""
        cands = [n for n in reversed(self.nodes) if pred is None or pred(n)]
        if not cands:
            return None
        return cands[self.int(0, len(cands) - 1)]

    def const(self, value) -> str:
        self.consts.append(value)
        return f"C[{len(self.consts) - 1}]"

    def fresh(self) -> str:
        return f"n{next(self.counter)}"

    # -- values --------------------------------------------------------------
    def new_input(self, shape) -> Node | None:
        shape = tuple(int(s) for s in shape)
        n = int(np.prod(shape, dtype=np.int64))
        if self.input_elems + n > MAX_INPUT_ELEMS or n > MAX_NUMEL or n == 0:
            return None
        # The input's index is mixed into the seed: hypothesis likes to repeat a drawn value,
        # and two equal inputs would tie exactly (a kink for max/min/sort between them).
        rng = np.random.default_rng([self.draw(st.integers(0, 2**32 - 1)), len(self.inputs)])
        # Away from zero: inputs themselves are never at a kink.
        arr = rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        arr = np.asarray(arr, dtype=np.float64)
        name = self.fresh()
        self.input_names.append(name)
        self.inputs.append(arr)
        self.input_elems += n
        self.env[name] = mg.tensor(arr, dtype=mg.float64)
        node = Node(name, arr)
        self.nodes.append(node)
        return node

    def operand_like(self, shape, allow_new=True) -> Node | None:
        """An earlier value of exactly ``shape``, or a new input of that shape."""
        same = [n for n in self.nodes if n.shape == tuple(shape)]
        if same and (not allow_new or self.bool()):
            return same[self.int(0, len(same) - 1)]
        return self.new_input(shape) if allow_new else None

    def emit(self, op: str, code: str) -> Node | None:
        """Run ``code`` (which assigns ``{o}``); keep it when its value is usable."""
        name = self.fresh()
        code = code.replace("{o}", name)
        with mg.no_grad():
            exec(code, self.ns, self.env)
        t = self.env[name]
        assert isinstance(t, mg.Tensor), (code, type(t))
        v = t.numpy()
        if v.dtype != np.float64 or v.size == 0 or v.size > MAX_NUMEL or not np.isfinite(v).all():
            del self.env[name]
            return None
        self.lines.append(code)
        self.ops.append(op)
        node = Node(name, v.copy())
        self.nodes.append(node)
        m = float(np.abs(v).max())
        if m > BOUND:  # keep every value O(1) so finite differences stay accurate
            self.nodes.pop()  # later steps see only the rescaled value
            # To a bound drawn per rescale, never a fixed one: a fixed bound makes the largest
            # elements of different values exactly equal (x - y == 0 exactly), and an integer one
            # makes round(v) - v exactly 0; a**0 is where PyTorch's pow gradient is defined
            # piecewise (a measure-zero kink that finite differences see).
            scale = BOUND * float(self.rng().uniform(0.75, 0.95)) / m
            return self.emit("rescale", f"{{o}} = {name} * {scale!r}")
        return node

    # -- domain helpers: expressions for an operand mapped into a domain -----
    def positive(self, a: Node) -> str:
        """An expression for a value >= 0.1 derived from ``a`` (``a`` itself when it is)."""
        v = a.value
        options = ["sq", "sig", "exp"]
        if v.min() >= 0.1:
            options.insert(0, "self")
        if np.abs(v).min() >= MARGIN:
            options.append("abs")
        how = self.choice(options)
        return {
            "self": a.name,
            "sq": f"({a.name} * {a.name} + 0.5)",
            "sig": f"(mg.sigmoid({a.name}) + 0.1)",
            "exp": f"{a.name}.exp()",
            "abs": f"({a.name}.abs() + 0.1)",
        }[how]

    def nonzero(self, a: Node) -> str:
        """An expression bounded away from zero (|.| >= 0.1)."""
        if np.abs(a.value).min() >= 0.1 and self.bool():
            return a.name
        return self.positive(a)


def _far_from_ints(v, offset=0.0) -> bool:
    d = np.abs(v - offset - np.round(v - offset))
    return bool((d >= MARGIN).all())


def _gaps_ok(v, axes) -> bool:
    """Along ``axes`` (None: all), distinct values differ by at least MARGIN."""
    if axes is None:
        flat = v.reshape(1, -1)
    else:
        axes = tuple(axes)
        keep = [i for i in range(v.ndim) if i not in axes]
        flat = np.transpose(v, keep + list(axes)).reshape(int(np.prod([v.shape[i] for i in keep])), -1)
    s = np.sort(flat, axis=1)
    d = np.diff(s, axis=1)
    return bool(((d == 0) | (d >= MARGIN)).all())


def _bcast_shape(b: Builder, shape, *, into=False) -> tuple:
    """A shape that broadcasts with ``shape``; with ``into``, one that broadcasts *to* it."""
    out = []
    for s in shape:
        r = b.int(0, 2)
        if r == 0:
            out.append(s)
        elif r == 1:
            out.append(1)
        else:
            out.append(s if (into or s != 1) else b.int(2, 3))
    drop = b.int(0, len(out))
    out = out[drop:]
    if not into and drop == 0 and len(shape) < 3 and b.int(0, 3) == 0:
        out = [b.int(1, 3)] + out
    return tuple(out)


def _numel(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _dims_arg(b: Builder, ndim: int, allow_tuple=True):
    """A ``dim`` argument: None, an int (maybe negative) or a tuple; and its normalised axes."""
    if ndim == 0:
        d = b.choice([None, 0, -1])
        return d, None
    r = b.int(0, 2 if allow_tuple else 1)
    if r == 0:
        return None, None
    if r == 1:
        d = b.int(-ndim, ndim - 1)
        return d, (d % ndim,)
    k = b.int(1, ndim)
    axes = sorted(b.draw(st.permutations(range(ndim)))[:k])
    dims = tuple(a - ndim if b.bool() else a for a in axes)
    return dims, tuple(axes)


def _reduced_count(shape, axes) -> int:
    if axes is None:
        return _numel(shape)
    return _numel([shape[i] for i in axes])


# ---------------------------------------------------------------------------
# Op generators. Each takes the builder and returns the new Node, or None when
# it could not be applied here (the driver then just moves on).

_SMOOTH = {
    "neg": "{o} = -{a}",
    "sin": "{o} = mg.sin({a})",
    "cos": "{o} = {a}.cos()",
    "tanh": "{o} = mg.tanh({a})",
    "sigmoid": "{o} = {a}.sigmoid()",
    "erf": "{o} = mg.erf({a})",
    "exp": "{o} = mg.exp({a})",
    "expm1": "{o} = {a}.expm1()",
    "square": "{o} = {a}.square()",
    "clone": "{o} = {a}.clone()",
    "mul_self": "{o} = {a} * {a}",
}


def op_smooth(b: Builder):
    name = b.choice(sorted(_SMOOTH))
    a = b.pick()
    return b.emit(name, _SMOOTH[name].replace("{a}", a.name))


_POSITIVE = {
    "log": "{o} = mg.log({p})",
    "log1p": "{o} = {p}.log1p()",
    "sqrt": "{o} = mg.sqrt({p})",
    "rsqrt": "{o} = {p}.rsqrt()",
    "log2": "{o} = {p}.log2()",
    "log10": "{o} = {p}.log10()",
    "pow_half": "{o} = {p} ** 0.5",
    "pow_neg": "{o} = {p} ** -1.5",
    "pow_frac": "{o} = mg.pow({p}, 1.7)",
}


def op_positive(b: Builder):
    name = b.choice(sorted(_POSITIVE))
    a = b.pick()
    return b.emit(name, _POSITIVE[name].replace("{p}", b.positive(a)))


def op_nonzero(b: Builder):
    a = b.pick()
    form = b.choice(["reciprocal", "pow_m1", "rdiv", "pow_int"])
    nz = b.nonzero(a)
    code = {
        "reciprocal": f"{{o}} = mg.reciprocal({nz})",
        "pow_m1": f"{{o}} = {nz} ** -1",
        "rdiv": f"{{o}} = 1.5 / {nz}",
        "pow_int": f"{{o}} = {a.name} ** {b.choice([2, 3])}",
    }[form]
    return b.emit(form, code)


def op_tan(b: Builder):
    a = b.pick()
    m = float(np.abs(a.value).max())
    if m <= 1.2:
        return b.emit("tan", f"{{o}} = mg.tan({a.name})")
    return b.emit("tan", f"{{o}} = ({a.name} * {1.2 / m!r}).tan()")


def op_rpow(b: Builder):
    a = b.pick()
    base = b.choice([2.0, 0.5, 3])
    return b.emit("rpow", f"{{o}} = {base!r} ** {a.name}")


def op_kink(b: Builder):
    """relu / abs / sign / floor / ceil / round / trunc, only away from their kinks."""
    a = b.pick()
    v = a.value
    name = b.choice(["relu", "abs", "sign", "floor", "ceil", "round", "trunc", "relu_fn"])
    if name in ("relu", "abs", "sign", "relu_fn"):
        if not (np.abs(v) >= MARGIN).all():
            return None
    elif name == "round":
        if not _far_from_ints(v, 0.5):
            return None
    elif not _far_from_ints(v):
        return None
    code = {
        "relu": "{o} = {a}.relu()", "relu_fn": "{o} = mg.relu({a})", "abs": "{o} = abs({a})",
        "sign": "{o} = {a}.sign() * {a}", "floor": "{o} = {a}.floor() + {a}", "ceil": "{o} = mg.ceil({a}) * {a}",
        "round": "{o} = {a}.round() - {a}", "trunc": "{o} = {a}.trunc() + {a} * 0.5",
    }[name]
    return b.emit(name, code.replace("{a}", a.name))


def _bound_between(b: Builder, v) -> float | None:
    """A clamp bound at least MARGIN from every value of ``v``."""
    s = np.unique(v)
    cands = [float(s[0]) - 0.3, float(s[-1]) + 0.3]
    gaps = np.diff(s)
    for i in np.nonzero(gaps >= 4 * MARGIN)[0]:
        cands.append(float((s[i] + s[i + 1]) / 2))
    return b.choice(cands)


def op_clamp(b: Builder):
    a = b.pick()
    form = b.choice(["both", "min", "max", "clip", "clamp_min"])
    lo = _bound_between(b, a.value)
    hi = _bound_between(b, a.value)
    if lo is None or hi is None:
        return None
    lo, hi = min(lo, hi), max(lo, hi)
    code = {
        "both": f"{{o}} = mg.clamp({a.name}, {lo!r}, {hi!r})",
        "min": f"{{o}} = {a.name}.clamp(min={lo!r})",
        "max": f"{{o}} = {a.name}.clamp(max={hi!r})",
        "clip": f"{{o}} = mg.clip({a.name}, {lo!r}, {hi!r})",
        "clamp_min": f"{{o}} = {a.name}.clamp_min({lo!r})",
    }[form]
    return b.emit("clamp", code)


def _binary_operand(b: Builder, a: Node) -> Node | None:
    """A value whose shape broadcasts with ``a``'s: an earlier one or a new input."""
    def ok(n):
        try:
            return _numel(np.broadcast_shapes(n.shape, a.shape)) <= MAX_NUMEL
        except ValueError:
            return False

    if b.bool():
        n = b.pick(ok)
        if n is not None:
            return n
    shape = _bcast_shape(b, a.shape)
    if _numel(np.broadcast_shapes(shape, a.shape)) > MAX_NUMEL:
        shape = a.shape
    return b.new_input(shape) or b.pick(ok)


def op_arith(b: Builder):
    """+ - * / with tensors, Python numbers and numpy arrays on either side."""
    a = b.pick()
    other = _binary_operand(b, a)
    sym = b.choice(["+", "-", "*", "/"])
    kind = b.choice(["tensor", "tensor", "tensor", "scalar", "ndarray", "fn"])
    if kind == "scalar":
        c = b.choice([0.5, -1.5, 2, 3.0])
        if sym == "/" and b.bool():
            return b.emit("rdiv_scalar", f"{{o}} = {c!r} / {b.nonzero(a)}")
        return b.emit("scalar_" + sym, f"{{o}} = {a.name} {sym} {c!r}" if b.bool() else f"{{o}} = {c!r} {sym} {a.name}"
                      if sym != "/" else f"{{o}} = {a.name} / {c!r}")
    if kind == "ndarray":
        shape = _bcast_shape(b, a.shape)
        if _numel(np.broadcast_shapes(shape, a.shape)) > MAX_NUMEL:
            shape = a.shape
        arr = b.rng().uniform(0.5, 1.5, shape) * b.choice([1.0, -1.0])
        # constants of other dtypes exercise PyTorch's promotion (float64 wins; 0-d never widens)
        how = b.choice(["f64", "f64", "int_np", "int_t", "f32_t", "f32_0d", "bool_t"])
        if how == "f64":
            c = b.const(np.asarray(arr, dtype=np.float64))
        elif how == "int_np":
            c = b.const(np.rint(arr * 2).clip(1, 3).astype(np.int64))
        elif how == "int_t":
            c = b.const(mg.tensor(np.rint(arr * 2).clip(1, 3).astype(np.int64)))
        elif how == "f32_t":
            c = b.const(mg.tensor(arr.astype(np.float32)))
        elif how == "f32_0d":
            c = b.const(mg.tensor(np.float32(arr.flat[0]) if arr.size else np.float32(0.5)))
        else:
            if sym == "/":
                return None
            c = b.const(mg.tensor(arr > 0))
        if sym == "/":
            return b.emit("ndarray_div", f"{{o}} = {c} / {b.nonzero(a)}" if b.bool() else f"{{o}} = {a.name} / {c}")
        return b.emit("ndarray_" + sym, f"{{o}} = {c} {sym} {a.name}" if b.bool() else f"{{o}} = {a.name} {sym} {c}")
    if other is None:
        return None
    if kind == "fn":
        fn = b.choice(["add", "sub", "mul", "div"])
        if fn == "div":
            return b.emit("div", f"{{o}} = mg.div({a.name}, {b.nonzero(other)})")
        if fn in ("add", "sub") and b.bool():
            return b.emit(fn, f"{{o}} = mg.{fn}({a.name}, {other.name}, alpha={b.choice([0.5, -2])!r})")
        return b.emit(fn, f"{{o}} = mg.{fn}({a.name}, {other.name})")
    if sym == "/":
        return b.emit("div", f"{{o}} = {a.name} / {b.nonzero(other)}")
    return b.emit({"+": "add", "-": "sub", "*": "mul"}[sym], f"{{o}} = {a.name} {sym} {other.name}")


def op_pow_tensor(b: Builder):
    a = b.pick()
    e = _binary_operand(b, a)
    if e is None:
        return None
    if b.bool():
        return b.emit("pow", f"{{o}} = {b.positive(a)} ** {e.name}")
    return b.emit("pow", f"{{o}} = mg.pow({b.positive(a)}, {e.name} * 0.5)")


def op_maxmin(b: Builder):
    a = b.pick()
    other = _binary_operand(b, a)
    if other is None:
        return None
    d = np.abs(a.value - other.value)
    if other is not a and not (d >= MARGIN).all():
        return None
    fn = b.choice(["maximum", "minimum", "max_t", "min_t", "clamp_t"])
    code = {
        "maximum": f"{{o}} = mg.maximum({a.name}, {other.name})",
        "minimum": f"{{o}} = {a.name}.minimum({other.name})",
        "max_t": f"{{o}} = {a.name}.max({other.name})",
        "min_t": f"{{o}} = mg.min({a.name}, {other.name})",
        "clamp_t": f"{{o}} = mg.clamp({a.name}, min={other.name})",
    }[fn]
    return b.emit(fn, code)


def op_remainder(b: Builder):
    a = b.pick()
    other = _binary_operand(b, a)
    if other is None:
        return None
    den_expr = f"({other.name} * {other.name} + 0.5)"
    den = other.value * other.value + 0.5
    q = a.value / den
    if not _far_from_ints(q):
        return None
    if b.bool():
        return b.emit("remainder", f"{{o}} = {a.name} % {den_expr}")
    return b.emit("remainder", f"{{o}} = mg.remainder({a.name}, {den_expr}) + mg.floor_divide({a.name}, {den_expr})")


def op_where(b: Builder):
    a = b.pick()
    other = _binary_operand(b, a)
    if other is None:
        return None
    shape = np.broadcast_shapes(a.shape, other.shape)
    mshape = _bcast_shape(b, shape, into=True)
    mask = b.rng().random(mshape) < 0.5
    form = b.choice(["where", "where_scalar", "masked_fill", "method"])
    if form == "where":
        return b.emit("where", f"{{o}} = mg.where({b.const(mg.tensor(mask))}, {a.name}, {other.name})")
    if form == "method":
        return b.emit("where", f"{{o}} = {a.name}.where({b.const(mg.tensor(mask))}, {other.name})")
    if form == "where_scalar":
        return b.emit("where", f"{{o}} = mg.where({b.const(mg.tensor(mask))}, {a.name}, 0.25)")
    mshape = _bcast_shape(b, a.shape, into=True)
    mask = b.rng().random(mshape) < 0.5
    return b.emit("masked_fill", f"{{o}} = {a.name}.masked_fill({b.const(mg.tensor(mask))}, -0.5)")


def op_ternary(b: Builder):
    a = b.pick()
    s1 = _bcast_shape(b, a.shape, into=True)
    s2 = _bcast_shape(b, a.shape, into=True)
    x = b.operand_like(s1)
    y = b.operand_like(s2)
    if x is None or y is None:
        return None
    form = b.choice(["lerp", "addcmul", "addcdiv"])
    if form == "lerp":
        return b.emit("lerp", f"{{o}} = {a.name}.lerp({x.name}, 0.3)")
    if form == "addcmul":
        return b.emit("addcmul", f"{{o}} = {a.name}.addcmul({x.name}, {y.name}, value=0.5)")
    return b.emit("addcdiv", f"{{o}} = {a.name}.addcdiv({x.name}, {b.nonzero(y)}, value=-0.5)")


def op_reduce(b: Builder, names=("sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp", "norm", "max_all",
                                  "min_all", "sum_fn", "mean_fn")):
    a = b.pick()
    name = b.choice(names)
    keep = b.bool()
    if name in ("prod",):
        d = None if a.ndim == 0 or b.bool() else b.int(-a.ndim, a.ndim - 1)
        axes = None if d is None else (d % a.ndim,)
        if d is None:
            return b.emit("prod", f"{{o}} = {a.name}.prod()")
        return b.emit("prod", f"{{o}} = {a.name}.prod({d}, keepdim={keep})")
    if name in ("max_all", "min_all"):
        if not _gaps_ok(a.value, None):
            return None
        return b.emit(name, f"{{o}} = {a.name}.{name[:3]}()")
    dims, axes = _dims_arg(b, a.ndim)
    if name in ("sum", "mean", "sum_fn", "mean_fn"):
        fn = name[:-3] if name.endswith("_fn") else name
        if name.endswith("_fn"):
            return b.emit(fn, f"{{o}} = mg.{fn}({a.name}, {dims!r}, {keep})" if dims is not None
                          else f"{{o}} = mg.{fn}({a.name})")
        return b.emit(fn, f"{{o}} = {a.name}.{fn}(dim={dims!r}, keepdim={keep})")
    if name in ("var", "std"):
        corr = b.choice([0, 1])
        if _reduced_count(a.shape, axes) - corr <= 0:
            return None
        if name == "std":
            with np.errstate(all="ignore"):
                var = np.var(a.value, axis=axes, ddof=corr) if a.ndim else np.var(a.value, ddof=corr)
            if not (var >= MARGIN).all():
                return None
        return b.emit(name, f"{{o}} = {a.name}.{name}({dims!r}, correction={corr}, keepdim={keep})")
    if name in ("amax", "amin"):
        if not _gaps_ok(a.value, axes):
            return None
        if dims is None:
            return b.emit(name, f"{{o}} = mg.{name}({a.name})")
        return b.emit(name, f"{{o}} = {a.name}.{name}({dims!r}, keepdim={keep})")
    if name == "logsumexp":
        if dims is None:
            dims = tuple(range(a.ndim)) if a.ndim else 0
        return b.emit(name, f"{{o}} = {a.name}.logsumexp({dims!r}, keepdim={keep})")
    # norm
    p = b.choice([2, 1, 3, 1.5, "inf"])
    v = a.value
    if p in (1, 1.5, "inf") and not (np.abs(v) >= MARGIN).all():
        return None
    if p == "inf" and not _gaps_ok(np.abs(v), axes):
        return None
    if p == 2:
        s = np.sqrt((v * v).sum(axis=axes)) if a.ndim else np.abs(v)
        if not (s >= MARGIN).all():
            return None
    pa = "float('inf')" if p == "inf" else repr(p)
    return b.emit("norm", f"{{o}} = {a.name}.norm({pa}, dim={dims!r}, keepdim={keep})")


def op_prod_norm(b: Builder):
    """prod and norm on their own, so these gradient-heavy reductions are drawn often."""
    return op_reduce(b, ("prod", "norm"))


def op_dim_select(b: Builder):
    """max/min with dim, sort, topk, cumsum, softmax, log_softmax."""
    a = b.pick(lambda n: n.ndim > 0)
    if a is None:
        return None
    d = b.int(-a.ndim, a.ndim - 1)
    ax = d % a.ndim
    name = b.choice(["max_dim", "min_dim", "sort", "topk", "cumsum", "softmax", "log_softmax", "F_softmax"])
    keep = b.bool()
    if name in ("max_dim", "min_dim", "sort", "topk") and not _gaps_ok(a.value, (ax,)):
        return None
    if name == "max_dim":
        return b.emit(name, f"{{o}} = {a.name}.max({d}, keepdim={keep})[0]")
    if name == "min_dim":
        return b.emit(name, f"{{o}} = mg.min({a.name}, dim={d}, keepdim={keep}).values")
    if name == "sort":
        return b.emit(name, f"{{o}} = {a.name}.sort({d}, descending={b.bool()})[0]")
    if name == "topk":
        k = b.int(1, a.shape[ax])
        return b.emit(name, f"{{o}} = {a.name}.topk({k}, {d}, largest={b.bool()}).values")
    if name == "cumsum":
        return b.emit(name, f"{{o}} = {a.name}.cumsum({d})")
    if name == "softmax":
        return b.emit(name, f"{{o}} = {a.name}.softmax({d})")
    if name == "log_softmax":
        return b.emit(name, f"{{o}} = {a.name}.log_softmax(dim={d})")
    return b.emit("softmax", f"{{o}} = mg.softmax({a.name}, {d})")


# -- shape ops --------------------------------------------------------------

def _factor_shape(b: Builder, n: int) -> tuple:
    dims = []
    rest = n
    for _ in range(b.int(0, 3)):
        divs = [k for k in range(1, rest + 1) if rest % k == 0]
        k = b.choice(divs)
        dims.append(k)
        rest //= k
    dims.append(rest)
    return tuple(dims) if dims != [1] or b.bool() else ()


def op_reshape(b: Builder):
    a = b.pick()
    shape = _factor_shape(b, a.size)
    form = b.choice(["reshape", "view", "reshape_tuple", "infer", "flatten", "unflatten", "view_as"])
    if form == "infer" and len(shape) > 0:
        i = b.int(0, len(shape) - 1)
        s = list(shape)
        s[i] = -1
        return b.emit("reshape", f"{{o}} = {a.name}.reshape({', '.join(map(str, s))}{',' if len(s) == 1 else ''})")
    if form == "reshape":
        return b.emit("reshape", f"{{o}} = {a.name}.reshape({shape!r})")
    if form == "reshape_tuple":
        return b.emit("reshape", f"{{o}} = mg.reshape({a.name}, {shape!r})")
    # view() raises where the layout allows no view (PyTorch's rule): reshape there.
    arr = b.env[a.name].detach().numpy()
    viewable = arr.flags.c_contiguous or M.view_strides(arr.shape, arr.strides, shape) is not None
    if form == "view" and viewable:
        return b.emit("view", f"{{o}} = {a.name}.view({shape!r})")
    if form in ("view", "view_as") and not viewable:
        return b.emit("reshape", f"{{o}} = {a.name}.reshape({shape!r})")
    if form == "flatten":
        if a.ndim == 0:
            return b.emit("flatten", f"{{o}} = {a.name}.flatten()")
        s = b.int(0, a.ndim - 1)
        e = b.int(s, a.ndim - 1)
        return b.emit("flatten", f"{{o}} = mg.flatten({a.name}, {s}, {e - a.ndim if b.bool() else e})")
    if form == "unflatten":
        if a.ndim == 0:
            return None
        d = b.int(0, a.ndim - 1)
        sizes = _factor_shape(b, a.shape[d]) or (1,)
        return b.emit("unflatten", f"{{o}} = {a.name}.unflatten({d}, {sizes!r})")
    other = b.operand_like(shape, allow_new=False)
    if other is None:
        return b.emit("reshape", f"{{o}} = {a.name}.reshape({shape!r})")
    return b.emit("view_as", f"{{o}} = {a.name}.view_as({other.name})")


def op_permute(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    form = b.choice(["permute", "transpose", "T", "mT", "movedim", "t"])
    if form == "permute":
        perm = b.draw(st.permutations(range(a.ndim)))
        perm = [p - a.ndim if b.bool() else p for p in perm]
        return b.emit("permute", f"{{o}} = {a.name}.permute({', '.join(map(str, perm))})" if b.bool()
                      else f"{{o}} = mg.permute({a.name}, {tuple(perm)!r})")
    if form in ("T", "t") and a.ndim <= 2:
        return b.emit(form, f"{{o}} = {a.name}.T" if form == "T" and a.ndim == 2 else f"{{o}} = {a.name}.t()")
    if form == "mT" and a.ndim >= 2:
        return b.emit("mT", f"{{o}} = {a.name}.mT")
    if form == "movedim":
        return b.emit("movedim", f"{{o}} = {a.name}.movedim({b.int(0, a.ndim - 1)}, {b.int(-a.ndim, a.ndim - 1)})")
    d0, d1 = b.int(-a.ndim, a.ndim - 1), b.int(-a.ndim, a.ndim - 1)
    return b.emit("transpose", f"{{o}} = {a.name}.transpose({d0}, {d1})")


def op_expand(b: Builder):
    a = b.pick(lambda n: n.size * 2 <= MAX_NUMEL or 1 in n.shape)
    if a is None:
        return None
    target = [s if s != 1 or b.bool() else b.int(2, 3) for s in a.shape]
    if a.ndim < 3 and b.bool():
        target = [b.int(1, 3)] + target
    if _numel(target) > MAX_NUMEL:
        return None
    form = b.choice(["expand", "expand_neg", "broadcast_to", "expand_as", "repeat"])
    if form == "expand_neg":
        lead = len(target) - a.ndim
        spec = [t if i < lead or a.shape[i - lead] != t else -1 for i, t in enumerate(target)]
        return b.emit("expand", f"{{o}} = {a.name}.expand({', '.join(map(str, spec))}{',' if len(spec) == 1 else ''})")
    if form == "broadcast_to":
        return b.emit("broadcast_to", f"{{o}} = mg.broadcast_to({a.name}, {tuple(target)!r})")
    if form == "expand_as":
        other = b.operand_like(tuple(target))
        if other is None:
            return None
        return b.emit("expand_as", f"{{o}} = {a.name}.expand_as({other.name})")
    if form == "repeat":
        reps = [b.int(1, 2) for _ in range(a.ndim + b.int(0, 1))] or [2]
        if _numel(reps) * a.size > MAX_NUMEL:
            return None
        return b.emit("repeat", f"{{o}} = {a.name}.repeat({', '.join(map(str, reps))}{',' if len(reps) == 1 else ''})")
    return b.emit("expand", f"{{o}} = {a.name}.expand({tuple(target)!r})")


def op_squeeze(b: Builder):
    a = b.pick()
    form = b.choice(["squeeze", "squeeze_dim", "unsqueeze", "squeeze_fn"])
    if form == "unsqueeze" or a.ndim == 0:
        if a.ndim >= 4:
            return None
        d = b.int(-a.ndim - 1, a.ndim)
        return b.emit("unsqueeze", f"{{o}} = {a.name}.unsqueeze({d})" if b.bool() else f"{{o}} = mg.unsqueeze({a.name}, {d})")
    if form == "squeeze_dim":
        d = b.int(-a.ndim, a.ndim - 1)
        return b.emit("squeeze", f"{{o}} = {a.name}.squeeze({d})")
    if form == "squeeze_fn":
        return b.emit("squeeze", f"{{o}} = mg.squeeze({a.name})")
    return b.emit("squeeze", f"{{o}} = {a.name}.squeeze()")


def op_flip_roll(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    if b.bool():
        k = b.int(1, a.ndim)
        dims = b.draw(st.permutations(range(a.ndim)))[:k]
        return b.emit("flip", f"{{o}} = {a.name}.flip({tuple(dims)!r})" if b.bool()
                      else f"{{o}} = mg.flip({a.name}, {list(dims)!r})")
    if b.bool():
        return b.emit("roll", f"{{o}} = {a.name}.roll({b.int(-3, 3)})")
    d = b.int(-a.ndim, a.ndim - 1)
    return b.emit("roll", f"{{o}} = mg.roll({a.name}, {b.int(-3, 3)}, {d})")


def op_cat(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    d = b.int(-a.ndim, a.ndim - 1)
    ax = d % a.ndim
    parts = [a]
    total = a.size
    for _ in range(b.int(1, 2)):
        shape = list(a.shape)
        shape[ax] = b.int(1, 3)

        def ok(n, shape=tuple(shape)):
            return n.ndim == a.ndim and n.shape[:ax] + n.shape[ax + 1:] == shape[:ax] + shape[ax + 1:]

        n = b.pick(ok) if b.bool() else None
        if n is None:
            n = b.new_input(shape) or a
        parts.append(n)
        total += n.size
    if total > MAX_NUMEL:
        return None
    order = b.draw(st.permutations(parts))
    names = ", ".join(p.name for p in order)
    if b.bool():
        return b.emit("cat", f"{{o}} = mg.cat([{names}], dim={d})")
    return b.emit("cat", f"{{o}} = mg.concatenate(({names},), {d})")


def op_stack(b: Builder):
    a = b.pick(lambda n: n.ndim < 4)
    k = b.int(1, 3)
    if a.size * k > MAX_NUMEL:
        return None
    parts = [a] + [b.operand_like(a.shape) or a for _ in range(k - 1)]
    d = b.int(-a.ndim - 1, a.ndim)
    return b.emit("stack", f"{{o}} = mg.stack([{', '.join(p.name for p in parts)}], {d})")


def op_split(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    d = b.int(-a.ndim, a.ndim - 1)
    ax = d % a.ndim
    n = a.shape[ax]
    form = b.choice(["split", "split_sizes", "chunk", "unbind"])
    if form == "split":
        call = f"{a.name}.split({b.int(1, n)}, {d})"
    elif form == "split_sizes":
        cuts = sorted(b.int(0, n) for _ in range(b.int(0, 2)))
        sizes = [j - i for i, j in zip([0] + cuts, cuts + [n])]
        call = f"mg.split({a.name}, {sizes!r}, dim={d})"
    elif form == "chunk":
        call = f"{a.name}.chunk({b.int(1, 4)}, {d})"
    else:
        call = f"{a.name}.unbind({d})"
    # Put the pieces back together in another order (or take one).
    if form == "unbind":
        how = b.choice(["stack_rev", "one"])
        if how == "one":
            return b.emit("unbind", f"{{o}} = {call}[{b.int(0, n - 1)}]")
        return b.emit("unbind", f"{{o}} = mg.stack({call}[::-1], {d})")
    how = b.choice(["cat_rev", "first", "last"])
    if how == "first":
        return b.emit(form, f"{{o}} = {call}[0]")
    if how == "last":
        return b.emit(form, f"{{o}} = {call}[-1]")
    return b.emit(form, f"{{o}} = mg.cat({call}[::-1], {d})")


def op_triangle(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    form = b.choice(["tril", "triu", "diag", "trace", "diag_embed", "pad"])
    if form in ("tril", "triu"):
        if a.ndim < 2:
            return None
        return b.emit(form, f"{{o}} = {a.name}.{form}({b.int(-1, 1)})" if b.bool() else f"{{o}} = mg.{form}({a.name})")
    if form == "diag" and a.ndim == 2:
        return b.emit("diag", f"{{o}} = {a.name}.diag({b.int(-1, 1)})")
    if form == "trace" and a.ndim == 2:
        return b.emit("trace", f"{{o}} = {a.name}.trace()")
    if form == "diag_embed" and a.ndim == 1 and (a.size + 1) ** 2 <= MAX_NUMEL:
        return b.emit("diag", f"{{o}} = mg.diag({a.name}, {b.int(-1, 1)})")
    if form == "pad":
        k = b.int(1, min(a.ndim, 2))
        pads = tuple(b.int(-1 if a.shape[a.ndim - 1 - i // 2] > 2 else 0, 2) for i in range(2 * k))
        return b.emit("pad", f"{{o}} = M.pad_constant({a.name}, {pads!r}, {b.choice([0.0, 0.5])!r})")
    return None


# -- indexing -----------------------------------------------------------------

def _basic_index(b: Builder, shape) -> tuple | None:
    items = []
    used_ellipsis = False
    for s in shape:
        r = b.int(0, 4)
        if r == 0:
            items.append(b.int(-s, s - 1))
        elif r == 1:
            start = b.int(-s, s - 1)
            stop = b.int(start % s + 1, s) if b.bool() else None
            step = b.int(1, 2)
            items.append(slice(start, stop, step))
        elif r == 2 and not used_ellipsis:
            items.append(Ellipsis)
            used_ellipsis = True
        elif r == 3 and len(items) < 4:
            items.append(None)
            items.append(slice(None))
        else:
            items.append(slice(None))
    # trailing slices are implicit (not with an Ellipsis, which would then stand for more dims)
    while not used_ellipsis and items and items[-1] == slice(None) and b.bool():
        items.pop()
    return tuple(items)


def _idx_src(ix) -> str:
    def one(i):
        if isinstance(i, slice):
            return f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}" + (
                f":{i.step}" if i.step not in (None, 1) else "")
        if i is Ellipsis:
            return "..."
        return repr(i)
    if len(ix) == 0:
        return "..."
    return ", ".join(one(i) for i in ix) + ("," if len(ix) == 1 else "")


def op_getitem(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    form = b.choice(["basic", "int_array", "two_arrays", "mask", "mask_prefix", "mixed", "list"])
    rng = b.rng()
    if form == "basic":
        ix = _basic_index(b, a.shape)
        return b.emit("getitem", f"{{o}} = {a.name}[{_idx_src(ix)}]")
    if form in ("int_array", "list"):
        d = b.int(0, a.ndim - 1)
        n = a.shape[d]
        k = b.int(1, 5)
        idx = rng.integers(-n, n, size=k)  # repeats allowed: gradients accumulate
        pre = ":, " * d
        if form == "list":
            return b.emit("getitem_adv", f"{{o}} = {a.name}[{pre}{idx.tolist()!r}]")
        wrap = b.choice(["np", "tensor"])
        c = b.const(idx if wrap == "np" else mg.tensor(idx))
        return b.emit("getitem_adv", f"{{o}} = {a.name}[{pre}{c}]")
    if form == "two_arrays":
        if a.ndim < 2:
            return None
        k = b.int(1, 4)
        i0 = rng.integers(0, a.shape[0], size=(k,))
        i1 = rng.integers(0, a.shape[1], size=(b.int(1, 2), 1) if b.bool() else (k,))
        return b.emit("getitem_adv", f"{{o}} = {a.name}[{b.const(mg.tensor(i0))}, {b.const(i1)}]")
    if form == "mask":
        mask = rng.random(a.shape) < 0.6
        if not mask.any():
            mask.flat[0] = True
        return b.emit("getitem_mask", f"{{o}} = {a.name}[{b.const(mg.tensor(mask))}]")
    if form == "mask_prefix":
        mask = rng.random(a.shape[:1]) < 0.6
        if not mask.any():
            mask[0] = True
        return b.emit("getitem_mask", f"{{o}} = {a.name}[{b.const(mask)}]")
    # mixed: slice then an integer array on a later dim
    if a.ndim < 2:
        return None
    idx = rng.integers(0, a.shape[1], size=b.int(1, 4))
    return b.emit("getitem_adv", f"{{o}} = {a.name}[1:, {b.const(mg.tensor(idx))}]")


def op_setitem(b: Builder):
    """``t = a.clone(); t[index] = value`` (recorded index_put), value from the graph or a number."""
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    rng = b.rng()
    form = b.choice(["basic", "unique_array", "mask"])
    if form == "basic":
        ix = _basic_index(b, a.shape)
        target = a.value[ix].shape
        src = _idx_src(ix)
    elif form == "unique_array":
        d = b.int(0, a.ndim - 1)
        n = a.shape[d]
        idx = rng.permutation(n)[: b.int(1, n)]  # no repeats: last-write order would be ambiguous
        src = ":, " * d + b.const(mg.tensor(idx))
        target = a.value[(slice(None),) * d + (idx,)].shape
    else:
        mask = rng.random(a.shape) < 0.5
        src = b.const(mg.tensor(mask))
        target = a.value[mask].shape
    if b.int(0, 3) == 0:
        value = repr(b.choice([0.5, -1.0]))
    else:
        v = b.operand_like(_bcast_shape(b, target, into=True))
        if v is None:
            return None
        value = v.name
    return b.emit("setitem", f"{{o}} = {a.name}.clone(); {{o}}[{src}] = {value}")


def op_inplace(b: Builder):
    """An in-place op on a fresh clone (recorded on the graph)."""
    a = b.pick()
    form = b.choice(["add_", "sub_", "mul_", "div_", "iadd", "imul", "relu_", "sigmoid_", "tanh_", "exp_",
                     "clamp_", "pow_", "addcmul_", "masked_fill_", "neg_", "zero_add"])
    src = ""
    if form in ("add_", "sub_", "mul_", "div_", "iadd", "imul", "addcmul_"):
        o = b.operand_like(_bcast_shape(b, a.shape, into=True))
        if o is None:
            return None
        arg = b.nonzero(o) if form == "div_" else o.name
        src = {
            "add_": f".add_({arg}, alpha=0.5)", "sub_": f".sub_({arg})", "mul_": f".mul_({arg})",
            "div_": f".div_({arg})", "addcmul_": f".addcmul_({arg}, {arg}, value=0.25)",
        }.get(form)
        if form == "iadd":
            return b.emit("iadd", f"{{o}} = {a.name} * 1.0; {{o}} += {arg}")
        if form == "imul":
            return b.emit("imul", f"{{o}} = {a.name}.clone(); {{o}} *= {arg}")
    elif form in ("relu_",):
        if not (np.abs(a.value) >= MARGIN).all():
            return None
        src = ".relu_()"
    elif form == "clamp_":
        lo = _bound_between(b, a.value)
        src = f".clamp_(min={lo!r})"
    elif form == "pow_":
        return b.emit("pow_", f"{{o}} = {b.positive(a)}.clone(); {{o}}.pow_(1.5)")
    elif form == "masked_fill_":
        mask = b.rng().random(_bcast_shape(b, a.shape, into=True)) < 0.5
        src = f".masked_fill_({b.const(mg.tensor(mask))}, 0.75)"
    elif form == "zero_add":
        return b.emit("zero_", f"{{o}} = {a.name}.clone(); {{o}}.zero_(); {{o}}.add_({a.name} * 2)")
    else:
        src = f".{form}()"
    return b.emit(form, f"{{o}} = {a.name}.clone(); {{o}}{src}")


# -- in-place ops through views (every kind of view PyTorch returns) --------------------
# A view is drawn as a chain of 1-3 view steps. Alongside the minigrad code, the same steps are
# applied with numpy to an array of element positions, which says which elements of the base
# the view reads and whether a write through it lands there (False after a step that copies).
# The base after the write and the view's values are checked against that numpy model when the
# step is drawn; ``check_program`` checks that grad mode computes the same forward values.

def _pos_step(b: Builder, cur, multi_ok: bool):
    """One view step applicable to ``cur`` (the minigrad view so far): (code suffix, numpy
    function on a positions array, lands, multi-output)."""
    shape = tuple(cur.shape)
    nd = len(shape)
    kinds = ["ellipsis", "unsqueeze", "expand1", "view"]
    if nd >= 1:
        kinds += ["int_all", "basic", "select", "narrow", "permute", "squeeze", "flatten", "movedim"]
        if multi_ok:
            kinds += ["split", "chunk", "unbind"]
    if nd >= 2:
        kinds += ["diagonal", "transpose", "mT"]
    if nd == 2:
        kinds += ["T", "t"]
    kind = b.choice(kinds)
    if kind == "ellipsis":
        return "[...]", lambda P: P[...], True, False
    if kind == "int_all":
        ix = tuple(b.int(-n, n - 1) for n in shape)
        return f"[{', '.join(map(str, ix))}]", lambda P: np.asarray(P[ix + (Ellipsis,)]), True, False
    if kind == "basic":
        ix = _basic_index(b, shape)
        return f"[{_idx_src(ix)}]", lambda P: np.asarray(P[ix]), True, False
    if kind == "select":
        d = b.int(-nd, nd - 1)
        i = b.int(-shape[d], shape[d] - 1)
        return f".select({d}, {i})", lambda P: np.asarray(np.take(P, i, axis=d)), True, False
    if kind == "narrow":
        d = b.int(0, nd - 1)
        start = b.int(0, shape[d] - 1)
        length = b.int(1, shape[d] - start)
        return (f".narrow({d}, {start}, {length})",
                lambda P: P[(slice(None),) * d + (slice(start, start + length),)], True, False)
    if kind in ("split", "chunk", "unbind"):
        d = b.int(0, nd - 1)
        n = shape[d]
        if kind == "unbind":
            k = b.int(0, n - 1)
            return f".unbind({d})[{k}]", lambda P: np.asarray(np.take(P, k, axis=d)), True, True
        size = b.int(1, n)
        pieces = -(-n // size)
        if kind == "chunk":
            chunks = b.int(1, n)
            size = -(-n // chunks)
            pieces = -(-n // size)
        k = b.int(0, pieces - 1)
        sl = (slice(None),) * d + (slice(k * size, min(n, (k + 1) * size)),)
        call = f".split({size}, {d})" if kind == "split" else f".chunk({chunks}, {d})"
        return f"{call}[{k}]", lambda P: P[sl], True, True
    if kind == "diagonal":
        d1, d2 = b.draw(st.permutations(range(nd)))[:2]
        off = b.int(-1, 1)
        if min(shape[d1] + min(off, 0), shape[d2] - max(off, 0)) <= 0:
            off = 0
        return f".diagonal({off}, {d1}, {d2})", lambda P: np.diagonal(P, off, d1, d2), True, False
    if kind == "transpose":
        d0, d1 = b.int(-nd, nd - 1), b.int(-nd, nd - 1)
        return f".transpose({d0}, {d1})", lambda P: np.swapaxes(P, d0, d1), True, False
    if kind == "mT":
        return ".mT", lambda P: np.swapaxes(P, -2, -1), True, False
    if kind in ("T", "t"):
        return f".{'T' if kind == 'T' else 't()'}", lambda P: P.T, True, False
    if kind == "permute":
        perm = tuple(b.draw(st.permutations(range(nd))))
        return f".permute{perm if nd > 1 else '(0)'}", lambda P: np.transpose(P, perm), True, False
    if kind == "movedim":
        src, dst = b.int(-nd, nd - 1), b.int(-nd, nd - 1)
        return f".movedim({src}, {dst})", lambda P: np.moveaxis(P, src, dst), True, False
    if kind == "squeeze":
        ones = [i for i, n in enumerate(shape) if n == 1]
        if ones and b.bool():
            d = b.choice(ones)
            return f".squeeze({d})", lambda P: np.squeeze(P, d), True, False
        return ".squeeze()", lambda P: np.squeeze(P), True, False
    if kind == "unsqueeze":
        d = b.int(-nd - 1, nd)
        return f".unsqueeze({d})", lambda P: np.expand_dims(P, d), True, False
    if kind == "expand1":
        return f".expand({', '.join(['1'] + [str(n) for n in shape])})", lambda P: P[None], True, False
    # view / reshape / flatten: a view when the layout allows (else view raises, reshape copies)
    n = int(np.prod(shape, dtype=np.int64))
    if kind == "flatten":
        new = (n,)
    else:
        new = []
        m = n
        while m > 1:
            f = b.choice([d for d in range(2, m + 1) if m % d == 0])
            new.append(f)
            m //= f
        for _ in range(b.int(0, 1)):
            new.insert(b.int(0, len(new)), 1)
        new = tuple(new)
    ok = M.view_strides(shape, cur.numpy().strides, new) is not None or cur.numpy().flags.c_contiguous
    form = "flatten" if kind == "flatten" else ("view" if ok and b.bool() else "reshape")
    code = ".flatten()" if form == "flatten" else f".{form}{new if len(new) != 1 else f'({new[0]})'}"
    return code, lambda P: P.reshape(new), ok, False


def _draw_view(b: Builder, base_expr: str, env_base, multi_ok: bool):
    """(code of a view of ``base_expr``, positions it reads, lands, multi) for a chain of steps."""
    code = ""
    P = np.arange(env_base.numel()).reshape(tuple(env_base.shape))
    lands = True
    multi = False
    cur = env_base
    for _ in range(b.int(1, 3)):
        suffix, fn, ok, m = _pos_step(b, cur, multi_ok)
        with mg.no_grad():
            nxt = eval(f"_t{suffix}", {"mg": mg}, {"_t": cur})
        if nxt.numel() == 0:
            break
        code += suffix
        P = fn(P)
        lands = lands and ok
        multi = multi or m
        cur = nxt
        if b.int(0, 2) == 0:
            break
    return code, np.asarray(P), lands, multi


def _apply_np(form: str, vals, operand):
    """numpy model of an in-place op on the view's values."""
    return {
        "add_": lambda: vals + 0.5 * operand, "sub_": lambda: vals - operand, "mul_": lambda: vals * operand,
        "div_": lambda: vals / operand, "iadd": lambda: vals + operand, "isub": lambda: vals - operand,
        "imul": lambda: vals * operand, "idiv": lambda: vals / operand, "copy_": lambda: vals * 0 + operand,
        "setitem": lambda: vals * 0 + operand, "fill_": lambda: vals * 0 + operand, "zero_": lambda: vals * 0,
        "pow_": lambda: vals ** 1.5, "clamp_": lambda: np.maximum(vals, operand), "relu_": lambda: np.maximum(vals, 0),
        "sigmoid_": lambda: 1 / (1 + np.exp(-vals)), "tanh_": lambda: np.tanh(vals), "exp_": lambda: np.exp(vals),
    }[form]()


def op_view_inplace(b: Builder):
    """An in-place op through a (chain of) view(s) of a fresh base; maybe a sibling view read after."""
    a = b.pick()
    variant = b.choice(["clone", "clone", "zeros", "plain"])
    k = next(b.counter)
    base_name, vname, sname = f"b{k}", f"v{k}", f"s{k}"
    if variant == "clone":
        base_code = f"{base_name} = {a.name}.clone()"
        A = a.value.copy()
    elif variant == "zeros":  # a tensor that does not require grad joins the graph through the write
        base_code = f"{base_name} = mg.zeros({a.shape!r}, dtype=mg.float64)"
        A = np.zeros(a.shape)
    else:  # a constant base and a constant write: split/chunk/unbind pieces may be written too
        base_code = f"{base_name} = mg.tensor({b.const(b.rng().uniform(-1, 1, a.shape))}, dtype=mg.float64)"
        A = np.asarray(b.consts[-1]).copy()
    with mg.no_grad():  # laid out as the program's base will be (clone keeps the layout)
        base_t = b.env[a.name].detach().clone() if variant == "clone" else mg.tensor(A, dtype=mg.float64)
    vcode, P, lands, _ = _draw_view(b, base_name, base_t, multi_ok=variant == "plain")
    sib = None
    if b.int(0, 2) == 0:
        scode, SP, slands, _ = _draw_view(b, base_name, base_t, multi_ok=False)
        sib = (scode, SP, slands, A.flat[SP].copy())
    vals = A.flat[P] if P.size else np.zeros(P.shape)
    forms = ["add_", "sub_", "mul_", "div_", "iadd", "isub", "imul", "idiv", "copy_", "setitem", "fill_", "zero_",
             "uniform_", "normal_", "sigmoid_", "tanh_", "exp_"]
    if vals.size and vals.min() >= 0.1:
        forms.append("pow_")
    if vals.size and (np.abs(vals) >= MARGIN).all():
        forms.append("relu_")
    form = b.choice(forms + ["clamp_"])
    operand_src, operand = "", None
    if form in ("add_", "sub_", "mul_", "div_", "iadd", "isub", "imul", "idiv", "copy_", "setitem", "fill_"):
        if variant == "plain" or b.int(0, 3) == 0:
            operand = b.choice([0.5, -1.25, 2.0])
            operand_src = repr(operand) if form != "copy_" else f"mg.tensor({operand!r}, dtype=mg.float64)"
        else:
            o = b.operand_like(() if form == "fill_" else _bcast_shape(b, P.shape, into=True))
            if o is None:
                return None
            operand_src, operand = o.name, o.value
            if form in ("div_", "idiv"):
                operand_src = b.nonzero(o)
                with mg.no_grad():
                    operand = eval(operand_src, b.ns, b.env).numpy().copy()
    elif form == "clamp_":
        lo = _bound_between(b, vals) if vals.size else 0.0
        operand, operand_src = lo, repr(lo)
    op_src = {
        "add_": f".add_({operand_src}, alpha=0.5)", "sub_": f".sub_({operand_src})", "mul_": f".mul_({operand_src})",
        "div_": f".div_({operand_src})", "copy_": f".copy_({operand_src})", "fill_": f".fill_({operand_src})",
        "zero_": ".zero_()", "pow_": ".pow_(1.5)", "clamp_": f".clamp_(min={operand_src})", "relu_": ".relu_()",
        "sigmoid_": ".sigmoid_()", "tanh_": ".tanh_()", "exp_": ".exp_()",
        "uniform_": ".uniform_(-1.0, 1.0)", "normal_": ".normal_(0.0, 0.5)",
    }.get(form)
    aug = {"iadd": "+=", "isub": "-=", "imul": "*=", "idiv": "/="}.get(form)
    lines = [base_code]
    if sib is not None:
        lines.append(f"{sname} = {base_name}{sib[0]}")
    lines.append(f"{vname} = {base_name}{vcode}")
    if aug:
        lines.append(f"{vname} {aug} {operand_src}")
    elif form == "setitem":
        lines.append(f"{vname}[...] = {operand_src}")
    elif form in ("uniform_", "normal_"):
        lines.append(f"mg.manual_seed({b.int(0, 1000)}); {vname}{op_src}")  # the same draw on every run
    else:
        lines.append(f"{vname}{op_src}")
    lines.append(f"{{o}} = {base_name} * 1.0")
    node = b.emit(f"view_{form}", "; ".join(lines))
    if node is None:
        return None
    # The numpy model: the view's new values, written into the base where they land.
    v_now = b.env[vname].detach().numpy()
    if form in ("uniform_", "normal_"):
        new = v_now.copy()
        assert form == "normal_" or ((new >= -1) & (new <= 1)).all(), new
    else:
        new = np.broadcast_to(_apply_np(form, vals, operand), P.shape)
    want = A.copy()
    if lands:
        want.flat[P] = new
    with mg.no_grad():
        got_base = b.env[base_name].detach().numpy()
    np.testing.assert_allclose(got_base, want, rtol=1e-12, atol=1e-12, err_msg=f"base after {lines}")
    np.testing.assert_allclose(v_now, new, rtol=1e-12, atol=1e-12, err_msg=f"view after {lines}")
    b.expect[base_name] = want
    b.expect[vname] = np.array(new)
    if sib is not None:
        s_want = want.flat[sib[1]] if sib[2] else sib[3]
        np.testing.assert_allclose(b.env[sname].detach().numpy(), s_want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"sibling view after {lines}")
        b.expect[sname] = np.array(s_want)
        if b.bool():
            return b.emit("view_sibling", f"{{o}} = {sname} * 1.0")
    return node


def op_gather(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    rng = b.rng()
    d = b.int(-a.ndim, a.ndim - 1)
    ax = d % a.ndim
    n = a.shape[ax]
    form = b.choice(["gather", "index_select", "take_along_dim", "scatter_add", "scatter", "scatter_value"])
    if form == "index_select":
        idx = rng.integers(0, n, size=b.int(1, 4))
        return b.emit("index_select", f"{{o}} = {a.name}.index_select({d}, {b.const(mg.tensor(idx))})")
    if form in ("gather", "take_along_dim"):
        shape = list(a.shape)
        shape[ax] = b.int(1, 4)
        shape = [s if i == ax else b.int(1, s) for i, s in enumerate(shape)]
        if form == "take_along_dim":
            shape = [s if i == ax else a.shape[i] for i, s in enumerate(shape)]
        idx = rng.integers(0, n, size=shape)
        if _numel(shape) > MAX_NUMEL:
            return None
        if form == "gather":
            return b.emit("gather", f"{{o}} = {a.name}.gather({d}, {b.const(mg.tensor(idx))})")
        return b.emit("take_along_dim", f"{{o}} = mg.take_along_dim({a.name}, {b.const(mg.tensor(idx))}, {d})")
    # scatter family: index no larger than the target, values from a source tensor
    shape = [b.int(1, s) for s in a.shape]
    if form == "scatter_add":
        shape[ax] = b.int(1, 4)
        idx = rng.integers(0, n, size=shape)  # repeats add up
    else:
        # unique targets along the dim per position, so overwrite order never matters
        shape[ax] = b.int(1, n)
        idx = np.stack([rng.permutation(n)[: shape[ax]] for _ in range(_numel(shape) // shape[ax])])
        other = [s for i, s in enumerate(shape) if i != ax]
        idx = np.moveaxis(idx.reshape(other + [shape[ax]]), -1, ax)
    c = b.const(mg.tensor(np.ascontiguousarray(idx)))
    if form == "scatter_value":
        return b.emit("scatter", f"{{o}} = {a.name}.scatter({d}, {c}, value=0.5)")
    srcn = b.operand_like(tuple(shape))
    if srcn is None:
        return None
    if form == "scatter_add":
        return b.emit("scatter_add", f"{{o}} = mg.scatter_add({a.name}, {d}, {c}, {srcn.name})")
    return b.emit("scatter", f"{{o}} = {a.name}.scatter({d}, {c}, {srcn.name})")


# -- linear algebra ---------------------------------------------------------------

def op_matmul(b: Builder):
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    k = a.shape[-1]
    form = b.choice(["new", "new", "self_t", "existing", "vec", "left_vec"])
    if form == "self_t" and a.ndim >= 2:
        if b.bool():
            return b.emit("matmul", f"{{o}} = {a.name} @ {a.name}.mT")
        return b.emit("matmul", f"{{o}} = mg.matmul({a.name}.mT, {a.name})")
    if form == "existing":
        o = b.pick(lambda n: n.ndim >= 2 and n.shape[-2] == k and _mm_ok(a.shape, n.shape))
        if o is not None:
            return b.emit("matmul", f"{{o}} = {a.name} @ {o.name}")
    if form == "vec":
        v = b.operand_like((k,))
        if v is None:
            return None
        if a.ndim == 2 and b.bool():
            return b.emit("mv", f"{{o}} = mg.mv({a.name}, {v.name})")
        if a.ndim == 1 and b.bool():
            return b.emit("dot", f"{{o}} = {a.name}.dot({v.name})")
        return b.emit("matmul", f"{{o}} = {a.name} @ {v.name}")
    if form == "left_vec" and a.ndim >= 2:
        v = b.operand_like((a.shape[-2],))
        if v is None:
            return None
        return b.emit("matmul", f"{{o}} = {v.name} @ {a.name}")
    m = b.int(1, 3)
    batch = ()
    if a.ndim >= 3 and b.bool():
        batch = tuple(s if b.bool() else 1 for s in a.shape[:-2])
    elif a.ndim == 2 and b.int(0, 3) == 0:
        batch = (b.int(2, 3),)
    shape = batch + (k, m)
    if not _mm_ok(a.shape, shape):
        return None
    o = b.new_input(shape)
    if o is None:
        return None
    if a.ndim == 2 and o.ndim == 2 and b.bool():
        return b.emit("mm", f"{{o}} = {a.name}.mm({o.name})")
    if a.ndim == 3 and o.ndim == 3 and a.shape[0] == o.shape[0] and b.bool():
        return b.emit("bmm", f"{{o}} = mg.bmm({a.name}, {o.name})")
    return b.emit("matmul", f"{{o}} = mg.matmul({a.name}, {o.name})")


def _mm_ok(sa, sb) -> bool:
    try:
        out = np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2] if len(sa) > 1 else 1, sb[-1])
    except ValueError:
        return False
    return _numel(out) <= MAX_NUMEL


def op_outer(b: Builder):
    a = b.pick(lambda n: n.ndim == 1 and n.size <= 8)
    if a is None:
        return None
    o = b.pick(lambda n: n.ndim == 1 and n.size * a.size <= MAX_NUMEL) if b.bool() else b.new_input((b.int(1, 4),))
    if o is None:
        return None
    return b.emit("outer", f"{{o}} = mg.outer({a.name}, {o.name})")


def op_einsum(b: Builder):
    """A random einsum: one operand (permute / diagonal / sum) or two sharing letters."""
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    letters = "abcdefghijkl"[: a.ndim]
    sizes = dict(zip(letters, a.shape))
    sub_a = letters
    # a repeated letter (diagonal) when two dims are equal
    if a.ndim >= 2 and a.shape[0] == a.shape[1] and b.int(0, 3) == 0:
        sub_a = letters[0] + letters[0] + letters[2:]
        sizes.pop(letters[1])
    operands = [a.name]
    subs = [sub_a]
    if b.bool():
        shared = [c for c in dict.fromkeys(sub_a) if b.bool()]
        extra = "mn"[: b.int(0, 2)]
        sub_b = "".join(b.draw(st.permutations(shared + list(extra))))
        shape = tuple(sizes.get(c) or b.int(1, 3) for c in sub_b)
        for c, s in zip(sub_b, shape):
            sizes[c] = s
        if _numel(shape) > MAX_NUMEL:
            return None
        o = b.operand_like(shape)
        if o is None:
            return None
        operands.append(o.name)
        subs.append(sub_b)
    present = list(dict.fromkeys("".join(subs)))
    out = [c for c in present if b.bool()]
    out = b.draw(st.permutations(out))
    if _numel([sizes[c] for c in out]) > MAX_NUMEL:
        return None
    eq = ",".join(subs) + "->" + "".join(out)
    return b.emit("einsum", f"{{o}} = mg.einsum({eq!r}, {', '.join(operands)})")


def op_conv(b: Builder):
    """conv1d / conv2d / conv_transpose2d / max/avg/adaptive pooling (nn.functional)."""
    form = b.choice(["conv2d", "conv1d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive", "max_pool1d"])
    spatial = 1 if form in ("conv1d", "max_pool1d") else 2
    a = b.pick(lambda n: n.ndim in (spatial + 1, spatial + 2) and min(n.shape[-spatial:]) >= 2
               and n.shape[-spatial - 1] <= 3)
    if a is None:
        shape = (b.int(1, 2),) + tuple(b.int(2, 4) for _ in range(spatial)) if spatial == 2 else (b.int(1, 2), b.int(3, 6))
        if b.bool():
            shape = (1,) + shape
        a = b.new_input(shape)
        if a is None:
            return None
    c = a.shape[-spatial - 1]
    dims = a.shape[-spatial:]
    if form in ("conv2d", "conv1d", "conv_transpose2d"):
        groups = c if c > 1 and b.int(0, 2) == 0 else 1
        cout = groups * b.int(1, 2)
        k = b.int(1, min(3, min(dims)))
        stride, dil = b.int(1, 2), b.int(1, 2) if form != "conv_transpose2d" else 1
        if dil * (k - 1) + 1 > min(dims):
            dil = 1
        pad = b.int(0, (k - 1) // 2 if form == "conv_transpose2d" else k - 1)
        if form == "conv_transpose2d":
            wshape = (c, cout // groups, k, k)
        else:
            wshape = (cout, c // groups) + (k,) * spatial
        w = b.new_input(wshape) if b.int(0, 3) else b.operand_like(wshape, allow_new=False) or b.new_input(wshape)
        if w is None:
            return None
        bias = ""
        if b.bool():
            bn = b.operand_like((cout,))
            if bn is not None:
                bias = f", {bn.name}"
        if form == "conv_transpose2d":
            call = f"mg.nn.functional.conv_transpose2d({a.name}, {w.name}{bias}, stride={stride}, padding={pad}, groups={groups})"
        else:
            call = (f"mg.nn.functional.{form}({a.name}, {w.name}{bias}, stride={stride}, padding={pad}, "
                    f"dilation={dil}, groups={groups})")
        return b.emit(form, f"{{o}} = {call}")
    if form == "adaptive":
        out = tuple(b.int(1, s) for s in dims)
        return b.emit("adaptive_avg_pool2d", f"{{o}} = mg.nn.functional.adaptive_avg_pool2d({a.name}, {out!r})")
    k = b.int(1, min(3, min(dims)))
    stride = b.int(1, k)
    pad = b.int(0, k // 2)
    if form == "avg_pool2d":
        cip = b.bool()
        return b.emit("avg_pool2d", f"{{o}} = mg.nn.functional.avg_pool2d({a.name}, {k}, {stride}, {pad}, "
                                    f"count_include_pad={cip})")
    if form == "max_pool1d":
        if not _gaps_ok(a.value, (a.ndim - 1,)):  # distinct values: every window has one maximum
            return None
        return b.emit("max_pool1d", f"{{o}} = mg.nn.functional.max_pool1d({a.name}, {k}, {stride}, {pad})")
    dil = b.int(1, 2)
    if dil * (k - 1) + 1 > min(dims):
        dil = 1
    if not _gaps_ok(a.value, (a.ndim - 2, a.ndim - 1)):  # distinct values: every window has one maximum
        return None
    return b.emit("max_pool2d", f"{{o}} = mg.nn.functional.max_pool2d({a.name}, {k}, {stride}, {pad}, {dil})")


_F_SMOOTH = ["gelu", "silu", "softplus", "mish", "logsigmoid", "softsign", "tanhshrink", "selu_smooth",
             "gelu_tanh", "log_softmax", "softmin", "normalize", "layer_norm", "linear", "mse_loss",
             "cross_entropy", "cross_entropy_probs", "nll_loss", "bce_logits", "smooth_l1", "kl_div"]
_F_KINK = {"relu6": (0.0, 6.0), "leaky_relu": (0.0,), "elu": (0.0,), "hardtanh": (-1.0, 1.0),
           "hardswish": (-3.0, 3.0), "hardsigmoid": (-3.0, 3.0), "celu": (0.0,), "l1_loss": (0.0,)}


def op_nn(b: Builder):
    """nn.functional composites: activations, normalisation, linear and losses."""
    name = b.choice(_F_SMOOTH + sorted(_F_KINK))
    a = b.pick()
    F = "mg.nn.functional"
    if name in _F_KINK:
        if not all((np.abs(a.value - k) >= MARGIN).all() for k in _F_KINK[name]):
            return None
        if name == "l1_loss":
            t = b.rng().uniform(-1, 1, a.shape)
            if not (np.abs(a.value - t) >= MARGIN).all():
                return None
            c = b.const(mg.tensor(t))
            return b.emit(name, f"{{o}} = {F}.l1_loss({a.name}, {c}, reduction={b.choice(['mean', 'sum'])!r})")
        extra = {"leaky_relu": ", 0.2", "elu": ", 0.7", "celu": ", 1.3"}.get(name, "")
        return b.emit(name, f"{{o}} = {F}.{name}({a.name}{extra})")
    if name in ("gelu", "silu", "softplus", "mish", "logsigmoid", "softsign", "tanhshrink"):
        return b.emit(name, f"{{o}} = {F}.{name}({a.name})")
    if name == "selu_smooth":  # selu is smooth only away from 0
        if not (np.abs(a.value) >= MARGIN).all():
            return None
        return b.emit("selu", f"{{o}} = {F}.selu({a.name})")
    if name == "gelu_tanh":
        return b.emit("gelu", f"{{o}} = {F}.gelu({a.name}, approximate='tanh')")
    if a.ndim == 0:
        return None
    d = b.int(-a.ndim, a.ndim - 1)
    if name in ("log_softmax", "softmin"):
        return b.emit(name, f"{{o}} = {F}.{name}({a.name}, dim={d})")
    if name == "normalize":
        norms = np.sqrt((a.value ** 2).sum(axis=d % a.ndim))
        if not (norms >= 0.1).all():
            return None
        return b.emit(name, f"{{o}} = {F}.normalize({a.name}, dim={d})")
    if name == "layer_norm":
        k = b.int(1, min(2, a.ndim))
        shape = a.shape[a.ndim - k:]
        axes = tuple(range(a.ndim - k, a.ndim))
        if _numel(shape) < 2 or not (a.value.var(axis=axes) >= 1e-2).all():
            return None
        wb = ""
        if b.bool():
            w = b.operand_like(shape)
            bias = b.operand_like(shape)
            if w is not None and bias is not None:
                wb = f", {w.name}, {bias.name}"
        return b.emit(name, f"{{o}} = {F}.layer_norm({a.name}, {shape!r}{wb})")
    if name == "linear":
        w = b.new_input((b.int(1, 3), a.shape[-1]))
        if w is None:
            return None
        bias = b.operand_like((w.shape[0],)) if b.bool() else None
        return b.emit(name, f"{{o}} = {F}.linear({a.name}, {w.name}{', ' + bias.name if bias else ''})")
    red = b.choice(["mean", "sum", "none"])
    if name in ("mse_loss", "smooth_l1", "bce_logits", "kl_div"):
        t = b.rng().uniform(0.05, 0.95, a.shape) if name in ("bce_logits", "kl_div") else b.rng().uniform(-1, 1, a.shape)
        if name == "smooth_l1" and not (np.abs(np.abs(a.value - t) - 1.0) >= MARGIN).all():
            return None
        c = b.const(mg.tensor(t))
        fn = {"mse_loss": "mse_loss", "smooth_l1": "smooth_l1_loss", "bce_logits": "binary_cross_entropy_with_logits",
              "kl_div": "kl_div"}[name]
        if name == "kl_div":  # input is log-probabilities; any real values are allowed
            red = b.choice(["batchmean", "sum", "none"])
        return b.emit(fn, f"{{o}} = {F}.{fn}({a.name}, {c}, reduction={red!r})")
    if name == "nll_loss":  # of log_softmax over the value seen as (rows, classes): the fused (N, C) case
        rows = a.shape[0] if a.ndim else 1
        cols = a.size // rows
        tgt = b.rng().integers(0, cols, size=rows)
        c = b.const(mg.tensor(np.asarray(tgt, dtype=np.int64)))
        red = b.choice(["mean", "sum"])
        return b.emit("nll_loss", f"{{o}} = {F}.nll_loss({a.name}.reshape({rows}, {cols}).log_softmax(dim=1), {c}, "
                                  f"reduction={red!r})")
    # cross entropy over dim 1 (or 0 for 1-D input)
    if a.ndim > 3:
        return None
    cdim = 1 if a.ndim > 1 else 0
    ncls = a.shape[cdim]
    tshape = a.shape[:cdim] + a.shape[cdim + 1:]
    if name == "cross_entropy_probs":
        p = b.rng().dirichlet(np.ones(ncls), size=tshape) if tshape else b.rng().dirichlet(np.ones(ncls))
        p = np.moveaxis(np.asarray(p), -1, cdim) if a.ndim > 1 else p
        c = b.const(mg.tensor(np.ascontiguousarray(p)))
        ls = b.choice([0.0, 0.1])
        return b.emit("cross_entropy", f"{{o}} = {F}.cross_entropy({a.name}, {c}, label_smoothing={ls}, reduction={red!r})")
    tgt = b.rng().integers(0, ncls, size=tshape)
    c = b.const(mg.tensor(np.asarray(tgt, dtype=np.int64)))
    return b.emit("cross_entropy", f"{{o}} = {F}.cross_entropy({a.name}, {c}, reduction={red!r})")


def op_linear(b: Builder):
    """F.linear (the fused linear op): (*, in) x (out, in) [+ (out,)] -> (*, out)."""
    a = b.pick(lambda n: n.ndim >= 1)
    if a is None:
        return None
    w = b.operand_like((b.int(1, 3), a.shape[-1]))
    if w is None:
        return None
    bias = b.operand_like((w.shape[0],)) if b.bool() else None
    return b.emit("linear", f"{{o}} = mg.nn.functional.linear({a.name}, {w.name}{', ' + bias.name if bias else ''})")


def op_new_input(b: Builder):
    shape = tuple(b.int(1, 4) for _ in range(b.int(0, 3)))
    return b.new_input(shape)


OPS = [
    op_arith, op_smooth, op_positive, op_nonzero, op_tan, op_rpow, op_kink, op_clamp, op_pow_tensor, op_maxmin,
    op_remainder, op_where, op_ternary, op_reduce, op_prod_norm, op_dim_select, op_reshape, op_permute, op_expand, op_squeeze,
    op_flip_roll, op_cat, op_stack, op_split, op_triangle, op_getitem, op_setitem, op_inplace, op_gather,
    op_matmul, op_outer, op_einsum, op_linear, op_conv, op_nn, op_new_input, op_view_inplace,
]


# Programs about views: mostly in-place ops through views, among a few ops that make new values
# and layouts (transposed results, size-1 dims, 0-d values) for them to act on.
VIEW_OPS = [op_view_inplace] * 6 + [op_smooth, op_arith, op_permute, op_reshape, op_squeeze, op_getitem,
                                    op_reduce, op_new_input]


@st.composite
def programs(draw, min_ops: int = 1, max_ops: int = 40, ops=None) -> Program:
    """A random program of ``min_ops``-``max_ops`` steps over 1+ float64 inputs (steps drawn from
    ``ops``, by default all of ``OPS``)."""
    ops = OPS if ops is None else ops
    b = Builder(draw)
    first = tuple(b.int(1, 3) for _ in range(b.int(0, 3)))
    b.new_input(first)
    n_ops = draw(st.integers(min_ops, max_ops))
    steps = 0
    tries = 0
    while steps < n_ops and tries < 4 * n_ops:
        tries += 1
        op = draw(st.sampled_from(ops))
        if b.emit_count_before(op):
            steps += 1
    # The output: a weighted sum of the values no later step uses (so every step
    # counts), the last value first, and maybe an earlier one.
    used = set()
    for line in b.lines:
        defined = line.split(" = ", 1)[0]
        used.update(set(re.findall(r"\bn\d+\b", line)) - {defined})
    sinks = [n for n in b.nodes[:-1] if n.name not in used]
    outs = [b.nodes[-1]] + sinks + [b.pick() for _ in range(b.int(0, 1))]
    terms = []
    for n in outs:
        w = b.rng().uniform(-1.0, 1.0, n.shape)
        terms.append(f"({n.name} * {b.const(np.asarray(w, dtype=np.float64))}).sum()")
    b.lines.append("return " + " + ".join(terms))
    return Program(b.input_names, b.inputs, b.consts, b.lines, b.ops, b.expect)


def _emit_count_before(self: Builder, op) -> bool:
    before = len(self.lines)
    op(self)
    return len(self.lines) > before


Builder.emit_count_before = _emit_count_before


# ---------------------------------------------------------------------------
# Checks.

def check_program(p: Program, *, second_order: bool = True, seed: int = 0) -> None:
    """First derivatives by ``gradcheck`` (float64 central differences), ``backward()``
    agreeing with ``autograd.grad``, and second derivatives along a random direction."""
    fn = p.function()
    xs = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in p.inputs]
    if p.expect:  # grad mode (writes recorded on the graph) computes what the numpy model says
        _, values = p.function(with_values=True)(*xs)
        for name, want in p.expect.items():
            np.testing.assert_allclose(values[name].detach().numpy(), want, rtol=1e-10, atol=1e-12,
                                       err_msg=f"forward value of {name} in grad mode")
    gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-3)

    y = fn(*xs)
    if not y.requires_grad:
        return
    grads = mg.autograd.grad(y, xs, allow_unused=True, retain_graph=True)
    y.backward()
    for i, (x, g) in enumerate(zip(xs, grads)):
        ref = np.zeros_like(p.inputs[i]) if g is None else g.numpy()
        got = np.zeros_like(p.inputs[i]) if x.grad is None else x.grad.numpy()
        assert got.shape == p.inputs[i].shape, (i, got.shape)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12, err_msg=f"backward vs grad, input {i}")
    check_intermediate_grads(p)
    if second_order:
        check_hvp(fn, p.inputs, seed=seed)


def check_intermediate_grads(p: Program) -> None:
    """After ``backward()`` every tensor of the program that requires grad (leaves and
    intermediates) holds d(output)/d(itself), as ``autograd.grad`` computes it on a fresh
    run; a second ``backward()`` through the retained graph doubles every ``.grad``."""
    fn = p.function(with_values=True)
    xs = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in p.inputs]
    y, values = fn(*xs)
    names = [k for k, v in values.items() if isinstance(v, mg.Tensor) and v.requires_grad]  # leaves too
    if not y.requires_grad or not names:
        return
    refs = mg.autograd.grad(y, [values[k] for k in names], allow_unused=True)
    xs2 = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in p.inputs]
    y2, values2 = fn(*xs2)
    # Twice, keeping the graph: gradients accumulate (in place, as PyTorch), so any
    # two .grad sharing memory would show up as a wrong second sum.
    for times in (1, 2):
        y2.backward(retain_graph=True)
        for k, ref in zip(names, refs):
            t = values2[k]
            want = np.zeros(t.shape) if ref is None else times * ref.numpy()
            got = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            assert got.shape == t.shape, f"{k}.grad has shape {got.shape}, tensor {t.shape}"
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12,
                                       err_msg=f"intermediate {k}.grad vs {times} x autograd.grad")


def _grad_at(fn, arrays, create_graph=False):
    xs = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]
    y = fn(*xs)
    if not y.requires_grad:
        return xs, [None] * len(xs)
    gs = mg.autograd.grad(y, xs, allow_unused=True, create_graph=create_graph)
    return xs, list(gs)


def check_hvp(fn, arrays, *, seed: int = 0, eps: float = 1e-5, atol: float = 1e-4, rtol: float = 1e-3) -> None:
    """Hessian-vector product by double backward against central differences of the gradient."""
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    xs, gs = _grad_at(fn, arrays, create_graph=True)
    terms = [(g * mg.tensor(v)).sum() for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    if terms:
        h = terms[0]
        for t in terms[1:]:
            h = h + t
        hv = mg.autograd.grad(h, xs, allow_unused=True)
        analytic = [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, hv)]
    else:
        analytic = [np.zeros_like(a) for a in arrays]
    _, gp = _grad_at(fn, [a + eps * v for a, v in zip(arrays, vs)])
    _, gm = _grad_at(fn, [a - eps * v for a, v in zip(arrays, vs)])
    for i, a in enumerate(arrays):
        p = np.zeros_like(a) if gp[i] is None else gp[i].numpy()
        m = np.zeros_like(a) if gm[i] is None else gm[i].numpy()
        numeric = (p - m) / (2 * eps)
        if not np.allclose(analytic[i], numeric, rtol=rtol, atol=atol):
            raise AssertionError(
                f"Hessian-vector product mismatch for input {i} (shape {a.shape}):\n"
                f"analytic {analytic[i]!r}\nnumeric  {numeric!r}"
            )


__all__ = ["MARGIN", "OPS", "VIEW_OPS", "Program", "check_hvp", "check_intermediate_grads", "check_program", "programs"]
