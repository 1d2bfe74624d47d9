"""Fused array backwards (the array_backward column of a row) that write into buffers the walk owns.

For large arrays without create_graph, exp / tanh / sigmoid / relu / mul (the rows with a fused array backward) may write
their gradient into the incoming gradient or the saved output when nothing else references
that array. These tests run the walk with the size threshold at 0 (every array qualifies),
check the gradients against the walk without reuse and against numpy's formulas, check that
the free paths were really taken, and that a buffer someone still holds is never written.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import engine
from minigrad.ops.registry import REGISTRY

REUSING = ("exp", "tanh", "sigmoid", "relu", "mul")


@pytest.fixture
def calls(monkeypatch):
    """Reuse at every size; record (op, g_free, out_free) of each array-backward call."""
    seen = []
    monkeypatch.setattr(engine, "_REUSE_MIN", 0)
    for name in REUSING:
        op = REGISTRY[name]
        inner = op.array_backward

        def spy(g, out, inputs, parents, g_free, out_free, _inner=inner, _name=name):
            seen.append((_name, g_free, out_free))
            return _inner(g, out, inputs, parents, g_free, out_free)

        monkeypatch.setattr(op, "array_backward", spy)
    return seen


def _leaf(a):
    return mg.tensor(a, requires_grad=True)


def _grads(program, arrays, reuse_min):
    old = engine._REUSE_MIN
    engine._REUSE_MIN = reuse_min
    try:
        leaves = [_leaf(a) for a in arrays]
        program(*leaves).backward()
        return [t.grad.numpy().copy() for t in leaves]
    finally:
        engine._REUSE_MIN = old


PROGRAMS = {
    # Each output feeds a product, so its incoming gradient is a fresh array the walk owns.
    "neg": lambda x, w: ((-(x * w)) * w).sum(),
    "exp": lambda x, w: ((x * w).exp() * w).sum(),
    "tanh": lambda x, w: ((x * w).tanh() * w).sum(),
    "sigmoid": lambda x, w: ((x * w).sigmoid() * w).sum(),
    "relu": lambda x, w: ((x * w).relu() * w).sum(),
    "square": lambda x, w: (((x * w) * (x * w)) * w).sum(),
    "leaf_square": lambda x, w: ((x * x) * w).sum(),
    "number": lambda x, w: ((x * 0.5).tanh() * 3.0 * w).sum(),
    "broadcast": lambda x, w: ((x * w[:1]).sigmoid() * w).sum(),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradients_equal_the_walk_without_reuse(name, calls):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((5, 4)), rng.standard_normal((5, 4))]
    arrays[0][0, 0] = 0.0  # relu at 0
    program = PROGRAMS[name]
    plain = _grads(program, arrays, reuse_min=1 << 62)
    assert calls and not any(g_free or out_free for _, g_free, out_free in calls)
    calls.clear()
    reused = _grads(program, arrays, reuse_min=0)
    assert any(g_free or out_free for _, g_free, out_free in calls), "no buffer was reused"
    for a, b in zip(plain, reused):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-14)


def test_free_buffers_are_found_and_formulas_hold(calls):
    rng = np.random.default_rng(1)
    x0, w0 = rng.standard_normal(50), rng.standard_normal(50)
    x, w = _leaf(x0), _leaf(w0)
    ((x * w).sigmoid() * w).sum().backward()
    assert ("sigmoid", True, True) in calls  # g from the product's VJP, output dead
    s = 1 / (1 + np.exp(-x0 * w0))
    np.testing.assert_allclose(x.grad.numpy(), w0 * s * (1 - s) * w0, rtol=1e-12)
    calls.clear()
    x.grad = None
    ((x * w).tanh() * w).sum().backward()
    assert ("tanh", True, True) in calls
    np.testing.assert_allclose(x.grad.numpy(), w0 * (1 - np.tanh(x0 * w0) ** 2) * w0, rtol=1e-12)


def test_x_times_x_sends_one_gradient(calls):
    x0 = np.linspace(-2, 2, 30)
    x = _leaf(x0)
    g0 = np.arange(30.0)
    ((x * x) * mg.tensor(g0)).sum().backward()
    assert ("mul", True, False) in calls
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (g0 * x0))


@pytest.mark.parametrize("op", ["exp", "tanh", "sigmoid", "relu"])
def test_an_output_the_program_holds_is_never_written(op, calls):
    x0 = np.linspace(-3, 3, 40)
    x = _leaf(x0)
    y = getattr(x * 2.0, op)()
    before = y.numpy().copy()
    view = y[:5]
    (y * 3.0).sum().backward()
    assert (op, True, False) in calls or (op, False, False) in calls
    np.testing.assert_array_equal(y.numpy(), before)
    np.testing.assert_array_equal(view.numpy(), before[:5])


def test_a_retained_grad_and_a_hooked_grad_are_never_written(calls):
    x = _leaf(np.linspace(-1, 1, 30))
    h = x * 2.0
    h.retain_grad()
    kept = []
    y = h.exp()
    y.register_hook(lambda g: kept.append(g))
    (y * 3.0).sum().backward()
    assert ("exp", False, False) in calls or ("exp", False, True) in calls
    np.testing.assert_array_equal(kept[0].numpy(), np.full(30, 3.0))
    np.testing.assert_allclose(h.grad.numpy(), 3.0 * np.exp(h.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * h.grad.numpy())


def test_retain_graph_keeps_saved_outputs_intact(calls):
    x = _leaf(np.linspace(-1, 1, 30))
    y = ((x * 2.0).sigmoid() * 3.0).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    assert all(not out_free for _, _, out_free in calls)
    x.grad = None
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_autograd_grad_skips_inputs_it_was_not_asked_for(calls):
    x = _leaf(np.linspace(-1, 1, 30))
    w = _leaf(np.linspace(1, 2, 30))
    (gx,) = mg.autograd.grad(((x * w).tanh() * 2.0).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), 2.0 * (1 - np.tanh(x.detach().numpy() * w.detach().numpy()) ** 2)
                               * w.detach().numpy())
    assert w.grad is None and x.grad is None


def test_large_float32_arrays_take_the_default_threshold():
    # The default threshold (no monkeypatching): arrays this size reuse buffers.
    n = engine._REUSE_MIN * 2
    x0 = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    x = _leaf(x0)
    out = (x.tanh() * x.sigmoid() + (-(x * x)).exp()).sum()
    out.backward()
    xd = x0.astype(np.float64)
    t, s, e = np.tanh(xd), 1 / (1 + np.exp(-xd)), np.exp(-xd * xd)
    want = (1 - t * t) * s + t * s * (1 - s) - 2 * xd * e
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=2e-5, atol=2e-6)
