"""Random-program fuzzing: gradients of programs nobody wrote by hand.

Each example is a random straight-line program of 1-40 steps over the whole op
table and the nn.functional composites (see ``tests/strategies.py``). Its first
derivatives are checked against float64 central differences (``gradcheck``),
``backward()`` against ``autograd.grad`` for the inputs and for every
intermediate's ``.grad``, and its second derivatives along a random direction
(double backward against central differences of the gradient).

``MINIGRAD_FUZZ_EXAMPLES=N`` runs N programs (default 200); ``.ci/run`` runs 600. As many
programs again (60 by default) are about in-place ops through views (``VIEW_OPS``).
``MINIGRAD_FUZZ_RANDOM=1`` draws fresh programs each run (the default run is
derandomized, so CI sees the same programs every time). A failing program,
shrunk by hypothesis, is printed as ``Program(...)``; paste it into
``REGRESSIONS`` below so it is checked on every run from then on.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from strategies import VIEW_OPS, Program, check_program, programs

import minigrad as mg
from minigrad.ops.registry import REGISTRY

N_EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "200"))
# Programs of in-place ops through views: as many as MINIGRAD_FUZZ_EXAMPLES when it is set (CI's
# batch), else 60 (the default suite); MINIGRAD_FUZZ_VIEW_EXAMPLES sets them alone.
N_VIEW_EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_VIEW_EXAMPLES", os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "60")))
RANDOM = os.environ.get("MINIGRAD_FUZZ_RANDOM") == "1"

_SETTINGS = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=not RANDOM,
    database=None if not RANDOM else settings.default.database,
)


@settings(max_examples=N_EXAMPLES, **_SETTINGS)
@given(programs())
def test_random_programs(program):
    check_program(program)


@settings(max_examples=N_VIEW_EXAMPLES, **_SETTINGS)
@given(programs(max_ops=8, ops=VIEW_OPS))
def test_random_view_programs(program):
    """In-place ops through every kind of view (0-d and size-1 dims included) on bases that require
    grad or join the graph through the write: each step's base and view against a numpy model when
    drawn, the same forward values in grad mode, first derivatives against finite differences
    (second derivatives: the general programs above draw these steps too)."""
    check_program(program, second_order=False)


# ---------------------------------------------------------------------------
# Programs the fuzzer once found wrong, shrunk; each must stay right.

REGRESSIONS = {
    # scatter_add / scatter: the VJP for ``src`` gathered from a gradient larger
    # than the index off the scatter dim (PyTorch allows that) and numpy raised.
    "scatter_add_small_index": Program(
        input_names=["n0", "n2"],
        inputs=[
            np.array([[[-1.39], [0.20], [-1.06]], [[-1.27], [-0.64], [-1.05]],
                      [[-1.10], [0.42], [0.61]], [[0.40], [0.97], [-1.33]]]),
            np.array([[[0.80, -1.06, 0.78]], [[-0.78, 1.15, -0.72]]]),
        ],
        consts=[
            mg.tensor(np.array([[[0, 0, 0]], [[0, 0, 0]]], dtype=np.int64)),
            np.linspace(-1.0, 1.0, 12).reshape(4, 3, 1),
        ],
        lines=["n3 = mg.scatter_add(n0, 2, C[0], n2)", "return (n3 * C[1]).sum()"],
        ops=["scatter_add"],
    ),
    "scatter_small_index": Program(
        input_names=["n0", "n1"],
        inputs=[np.arange(1.0, 13.0).reshape(4, 3, 1) / 7, np.array([[[0.8]], [[-0.7]]])],
        consts=[mg.tensor(np.array([[[0]], [[0]]], dtype=np.int64)), np.linspace(-1.0, 1.0, 12).reshape(4, 3, 1)],
        lines=["n2 = n0.scatter(2, C[0], n1)", "return (n2 * n2 * C[1]).sum()"],
        ops=["scatter"],
    ),
    # t[None, :] = v with v of shape (1,) into a (1,) tensor: the value's gradient
    # came back with the target's shape (1, 1) and was stored as v.grad unsummed.
    "setitem_value_rank": Program(
        input_names=["n0", "n1"],
        inputs=[np.array([1.03]), np.array([0.7])],
        consts=[np.array([0.27])],
        lines=["n2 = n0.clone(); n2[None, :] = n1 * n1", "return (n2 * C[0]).sum()"],
        ops=["setitem"],
    ),
    # sign/floor/ceil/round VJPs built their zero gradient in the default float32 inside a
    # float64 graph (a numpy scalar counts as a Python number), so a matmul VJP downstream
    # raised on mixed dtypes (first order for floor, double backward for abs).
    "zero_grad_dtype": Program(
        input_names=["n0", "n1"],
        inputs=[np.array([[0.31, -0.52, 0.83]]), np.array([[0.5, -0.7], [0.9, 0.3], [-0.4, 1.2]])],
        consts=[np.array([[0.3, -0.6]])],
        lines=["n2 = abs(mg.matmul(n0, n1))", "n3 = (n0 @ n1).floor() + n2", "return (n3 * C[0]).sum()"],
        ops=["matmul", "abs", "matmul", "floor"],
    ),
    # backward() on a one-element float64 output seeded a float32 one: a matmul VJP raised.
    "backward_seed_dtype": Program(
        input_names=["n0", "n1"],
        inputs=[np.array([[0.31, -0.52, 0.83]]), np.array([[0.5], [0.9], [-0.4]])],
        consts=[],
        lines=["return n0 @ n1"],
        ops=["matmul"],
    ),
    # norm(p != 2) at the zero vector (log_softmax over one element is exactly 0): its VJP
    # divided by the zero norm before masking, so double backward gave nan (PyTorch: 0).
    "norm_zero_vector_double_backward": Program(
        input_names=["n0", "n1"],
        inputs=[np.array([-1.2119669846000214]), np.array(0.40357274973169543)],
        consts=[],
        lines=["n2 = n0.clone(); n2.addcmul_(n1, n1, value=0.25)", "n3 = n2.log_softmax(dim=0)",
               "n4 = n3.norm(3, dim=0, keepdim=True)", "return n4.sum() + (n2 * n2).sum()"],
        ops=["addcmul_", "log_softmax", "norm"],
    ),
    # 0-d tensors used twice in one product (x * (x * x), x / (x * x + c)): a gradient must
    # not be accumulated in place into a buffer another input's gradient still uses.
    "zero_dim_reused_operand": Program(
        input_names=["n0"],
        inputs=[np.array(-1.356317096888785)],
        consts=[],
        lines=["n1 = n0 * (n0 * n0) + n0 / (n0 * n0 + 0.1)", "return n1 + n0.addcdiv(n0, n0.abs() + 0.1, value=-0.5)"],
        ops=["mul", "div", "addcdiv"],
    ),
    # zero_ through a view covering the whole base (unsqueeze): the base's new value was a constant
    # and the base kept its old graph, so its old value's gradient flowed on (should be zero).
    "zero_through_full_view": Program(
        input_names=["n0"],
        inputs=[np.array(1.0280501935178907)],
        consts=[np.array(0.2739233746429086)],
        lines=["b1 = n0.clone(); s1 = b1[...]; v1 = b1.unsqueeze(0); v1.zero_(); n2 = b1 * 1.0",
               "return (n2 * C[0]).sum()"],
        ops=["view_zero_"],
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name):
    check_program(REGRESSIONS[name])


# ---------------------------------------------------------------------------
# The generator itself.

_CORE_MODULES = {"minigrad.ops.elementwise", "minigrad.ops.reduce", "minigrad.ops.movement", "minigrad.ops.linalg",
                 "minigrad.ops.conv"}
# Casts between float dtypes lose the precision finite differences need (tested in test_ops).
_NOT_FUZZED = {"to", "to_device"}  # (to_device needs a second device: its samples are in test_ops and test_devices)


def _graph_ops(roots) -> set:
    seen, names, stack = set(), set(), [t.grad_fn for t in roots if t is not None and t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "op"):
            continue
        seen.add(id(node))
        names.add(node.op.name)
        stack.extend(p for p, _ in node.next_functions)
    return names


class _AllSeen(Exception):
    pass


def test_generator_covers_every_differentiable_core_op():
    """Every differentiable op of the core tables shows up in the programs' forward graphs
    or in the graphs of their first and second derivatives (a new op without a fuzz sample
    fails here). Draws programs until every op was seen, at most 600."""
    required = {
        name for name, op in REGISTRY.items()
        if op.differentiable and op.table in _CORE_MODULES
    } - _NOT_FUZZED
    seen: set = set()

    @settings(max_examples=600, phases=[Phase.generate], **_SETTINGS)
    @given(programs(min_ops=20))
    def collect(program):
        fn = program.function()
        xs = [mg.tensor(a, requires_grad=True) for a in program.inputs]
        y = fn(*xs)
        seen.update(_graph_ops([y]))
        if y.requires_grad:
            gs = [g for g in mg.autograd.grad(y, xs, create_graph=True, allow_unused=True) if g is not None]
            seen.update(_graph_ops(gs))
            terms = [(g * g).sum() for g in gs if g.requires_grad]
            if terms:
                hv = mg.autograd.grad(sum(terms[1:], terms[0]), xs, create_graph=True, allow_unused=True)
                seen.update(_graph_ops(hv))
        if required <= seen:
            raise _AllSeen

    with contextlib.suppress(_AllSeen):
        collect()
    missing = sorted(required - seen)
    assert not missing, f"ops with no sample in the fuzzer: {missing}"


def test_programs_are_replayable():
    """``Program.replay()`` is Python that rebuilds the same program (how regressions are kept)."""
    p = REGRESSIONS["scatter_small_index"]
    q = eval(p.replay(), {"Program": Program, "np": np, "mg": mg})
    assert q.source == p.source
    for a, b in zip(p.inputs, q.inputs):
        np.testing.assert_array_equal(a, b)
    xs = [mg.tensor(a) for a in p.inputs]
    assert float(p.function()(*xs)) == float(q.function()(*xs))


def test_check_program_catches_a_wrong_gradient(monkeypatch):
    """The check is not vacuous: a deliberately wrong VJP (sin' = +sin) is caught."""
    from minigrad.autograd import GradcheckError

    op = REGISTRY["sin"]
    monkeypatch.setattr(op, "vjps", (lambda g, out, x: g * mg.sin(x),))
    monkeypatch.setattr(op, "array_backward", None)  # (else the walk runs sin's array backward)
    p = Program(input_names=["n0"], inputs=[np.array([0.3, -0.8, 1.1])], consts=[],
                lines=["n1 = mg.sin(n0)", "return n1.sum()"], ops=["sin"])
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        check_program(p)


def test_check_program_catches_a_wrong_second_derivative(monkeypatch):
    """A VJP right in value but built off the graph (so double backward sees a constant) is caught."""
    op = REGISTRY["sin"]
    monkeypatch.setattr(op, "vjps", (lambda g, out, x: g * mg.cos(x.detach()),))
    monkeypatch.setattr(op, "array_safe", False)  # the injected VJP uses a Tensor method (not array-safe)
    monkeypatch.setattr(op, "array_backward", None)
    p = Program(input_names=["n0"], inputs=[np.array([0.3, -0.8, 1.1])], consts=[],
                lines=["n1 = mg.sin(n0)", "return n1.sum()"], ops=["sin"])
    with pytest.raises(AssertionError, match="Hessian-vector product mismatch"):
        check_program(p)
