"""Autograd semantics (SPEC "Autograd semantics"), checked against PyTorch's behaviour."""

from __future__ import annotations

import gc
import os
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd


def leaf(values, dtype=mg.float64):
    return mg.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------
# Graph shape and size.

def test_shared_subexpression_doubling_is_instant_and_right():
    x = leaf(1.0)
    y = x
    for _ in range(50):
        y = y + y
    y.backward()  # enumerating the 2**50 paths would never finish: the walk visits each node once
    assert y.item() == 2.0 ** 50
    assert x.grad.item() == 2.0 ** 50


def _chain(n):
    x = leaf(0.5)
    y = x
    for _ in range(n):
        y = y * 1.0 + 0.0
    return x, y


def test_100k_op_chain_backprops_without_recursion_error():
    x, y = _chain(50_000)  # 100,000 ops
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_visits_each_node_once(monkeypatch):
    """The walk's work is linear in the graph: every node's backward runs exactly once, after
    all its gradient has arrived (counted, not timed, so a loaded machine cannot fail it)."""
    from minigrad.ops.registry import REGISTRY

    op = REGISTRY["mul"]
    calls = []
    inner = op.array_backward
    monkeypatch.setattr(op, "array_backward", lambda *a: calls.append(1) or inner(*a))
    for n in (1_000, 2_000):
        calls.clear()
        x, y = _chain(n)
        y.backward()
        assert x.grad.item() == 1.0
        assert len(calls) == n  # one mul node per link (add's identity backward is skipped)
    # Every value feeds two products: each node must wait for both consumers' gradients.
    calls.clear()
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(12):
        y = y * 2.0 + y * 3.0
    y.backward()
    assert len(calls) == 24
    assert x.grad.item() == 5.0 ** 12


def test_backward_of_deep_chain_frees_graph_by_refcount():
    gc.disable()
    try:
        x = leaf(np.ones(4))
        y = x
        for _ in range(100):
            y = (y * 1.0).tanh()
        import weakref

        ref = weakref.ref(y.grad_fn)
        y.sum().backward()
        del y
        assert ref() is None, "the graph has a reference cycle (it survives without the cycle collector)"
    finally:
        gc.enable()


# ---------------------------------------------------------------------------
# Accumulation, retain_graph, freed graphs.

def test_grads_accumulate_across_backward_calls_until_set_to_none():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    s = (x * x).sum()
    s.backward(retain_graph=True)
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    s = (x * x).sum()
    s.backward()
    with pytest.raises(RuntimeError, match="second time"):
        s.backward()


def test_graph_that_saved_nothing_can_be_walked_twice():
    x = leaf([1.0, 2.0])
    s = (x + 1).sum()
    s.backward()
    s.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_backward_needs_gradient_for_non_scalar():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(mg.tensor([1.0, -1.0], dtype=mg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -2.0])


def test_backward_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError):
        mg.tensor([1.0, 2.0]).sum().backward()


# ---------------------------------------------------------------------------
# In-place ops and version counters.

def test_inplace_overwrite_of_saved_value_makes_backward_raise():
    x = leaf([1.0, 2.0])
    y = x.exp()  # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="(?i)exp.*inplace|inplace.*exp"):
        y.sum().backward()


@pytest.mark.parametrize("alias", ["detach", "view"])
def test_saved_output_changed_through_an_alias_raises_even_after_the_output_is_gone(alias):
    # The output's version counter is made lazily (on the first alias or in-place change) and
    # handed to the node that saved the output then: a change through the alias is still seen.
    x = leaf([1.0, 2.0])
    y = x.exp()
    loss = (y + 3).sum()  # (add saves nothing: only exp's node holds y's values)
    a = y.detach() if alias == "detach" else y[:1]
    del y
    with mg.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="^ExpBackward0: .*modified by an inplace operation"):
        loss.backward()


def test_inplace_overwrite_of_saved_input_via_view_raises():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 1.0
    b = a * a  # mul saves a
    with mg.no_grad():
        a[0] = 10.0  # through __setitem__, untracked but still bumps the version
    with pytest.raises(RuntimeError, match="inplace"):
        b.sum().backward()


def test_inplace_overwrite_via_data_is_the_untracked_escape_hatch():
    x = leaf([1.0, 2.0])
    y = x * x
    x.data.mul_(1.0)  # .data writes are not tracked, as in PyTorch (shares memory, not the version)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(1.0),
               lambda: w.__setitem__(0, 5.0), lambda: w.copy_(mg.zeros(2)), lambda: w.relu_()):
        with pytest.raises(RuntimeError, match="leaf"):
            op()
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0])
    with mg.no_grad():
        w.add_(1)
        w -= 0.5
    np.testing.assert_allclose(w.numpy(), [1.5, 2.5])
    assert w.requires_grad and w.is_leaf


def test_inplace_on_nonleaf_is_recorded():
    x = leaf([-1.0, 2.0])
    y = x * 3
    y.relu_()
    y.mul_(2)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 6.0])


def test_manual_training_loop_converges():
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((64, 3)))
    true_w = np.array([[1.5], [-2.0], [0.5]])
    Y = mg.tensor(X.numpy() @ true_w + 0.3)
    w = mg.zeros(3, 1, dtype=mg.float64, requires_grad=True)
    b = mg.zeros(1, dtype=mg.float64, requires_grad=True)
    lr = 0.1
    first = None
    for _ in range(200):
        loss = ((X @ w + b - Y) ** 2).mean()
        first = loss.item() if first is None else first
        loss.backward()
        with mg.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
    assert loss.item() < 1e-6 < first
    np.testing.assert_allclose(w.numpy(), true_w, atol=1e-3)
    np.testing.assert_allclose(b.numpy(), [0.3], atol=1e-3)
    assert w.is_leaf and b.is_leaf and w.grad_fn is None


# ---------------------------------------------------------------------------
# Intermediate grads (SPEC difference 1), and the original MiniGrad's bugs.

def test_intermediate_grads_exist_and_accumulate():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * y
    s = z.sum()
    s.backward(retain_graph=True)
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(z.grad.numpy(), [1.0, 1.0])
    assert s.grad.item() == 1.0
    s.backward()
    np.testing.assert_allclose(y.grad.numpy(), [8.0, 16.0])
    np.testing.assert_allclose(x.grad.numpy(), [16.0, 32.0])


def test_autograd_grad_fills_intermediate_grad_as_pytorch_retain_grad():
    # PyTorch: after y.retain_grad(), torch.autograd.grad also accumulates into y.grad; leaves untouched.
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    (g,) = autograd.grad(z, x, retain_graph=True)
    np.testing.assert_allclose(g.numpy(), [8.0, 16.0])
    assert x.grad is None
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0])
    z.backward()
    np.testing.assert_allclose(y.grad.numpy(), [8.0, 16.0])


def test_x2_plus_x3_gradient_is_16_at_2():
    x = leaf(2.0)
    y = x ** 2 + x ** 3
    y.backward()
    assert x.grad.item() == 16.0


def test_two_softmaxes_in_one_graph_each_get_their_own_gradient():
    a = leaf([1.0, 2.0, 3.0])
    b = leaf([0.5, -1.0, 2.0])
    sa = mg.softmax(a, 0)
    sb = mg.softmax(b, 0)
    wa = np.array([1.0, 0.0, 0.0])
    wb = np.array([0.0, 0.0, 1.0])
    ((sa * mg.tensor(wa)).sum() + (sb * mg.tensor(wb)).sum()).backward()

    def softmax_grad(x, w):
        s = np.exp(x - x.max())
        s /= s.sum()
        return s * (w - (s * w).sum())
    np.testing.assert_allclose(a.grad.numpy(), softmax_grad(np.array([1.0, 2.0, 3.0]), wa), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), softmax_grad(np.array([0.5, -1.0, 2.0]), wb), rtol=1e-12)


def test_gradients_never_alias():
    x = leaf([1.0, 2.0])
    y = leaf([3.0, 4.0])
    z = x + y
    z.sum().backward()
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())
    x.grad.numpy()[0] = 100.0
    assert y.grad.numpy()[0] == 1.0 and z.grad.numpy()[0] == 1.0
    # A reshape chain: all grads are distinct arrays too.
    a = leaf(np.ones((2, 2)))
    b = a.reshape(4)
    c = b.reshape(2, 2)
    c.sum().backward()
    arrays = [a.grad.numpy(), b.grad.numpy(), c.grad.numpy()]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.shares_memory(arrays[i], arrays[j])


def test_ties_split_gradient_evenly_for_max_and_first_for_max_dim():
    x = leaf([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])
    x.grad = None
    x.max(0).values.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1.0, 0.0])
    a, b = leaf([1.0, 2.0]), leaf([1.0, 3.0])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 1.0])


def test_kinks_follow_pytorch():
    x = leaf([0.0, 0.0, 0.0, 2.0])
    (x.relu() + x.abs() + x.sign()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.0, 2.0])
    x.grad = None
    x.clamp(0.0, 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0, 1.0])
    z = leaf([0.0, 0.0])
    z.norm().backward()
    np.testing.assert_allclose(z.grad.numpy(), [0.0, 0.0])
    p = leaf([0.0, 2.0, 3.0])
    p.prod().backward()
    np.testing.assert_allclose(p.grad.numpy(), [6.0, 0.0, 0.0])
    q = leaf([0.0, 1.0])
    (q ** 0 + q ** 2 + q ** mg.tensor([0.0, 0.0], dtype=mg.float64)).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), [0.0, 2.0])  # x**0 at 0: 0, not 0 * inf
    e = leaf([2.0, 0.0])
    (mg.tensor([0.0, 0.0], dtype=mg.float64) ** e).sum().backward()
    np.testing.assert_allclose(e.grad.numpy(), [0.0, 0.0])  # d(0**y)/dy taken as 0 for y >= 0


def test_stable_softmax_family_with_huge_logits():
    x = leaf([1e4, -1e4, 0.0])
    out = mg.log_softmax(x, 0).sum() + mg.softmax(x, 0).sum() + x.logsumexp(0) + x.sigmoid().sum()
    out.backward()
    assert np.isfinite(out.item())
    assert np.all(np.isfinite(x.grad.numpy()))


# ---------------------------------------------------------------------------
# Hooks, retain_grad, detach.

def test_register_hook_replaces_gradient_and_grad_stores_hooked_value():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    np.testing.assert_allclose(y.grad.numpy(), [10.0, 10.0])


def test_hook_handle_remove():
    x = leaf([1.0])
    h = x.register_hook(lambda g: g * 0)
    h.remove()
    (x * 2).sum().backward()
    assert x.grad.item() == 2.0


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        mg.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_is_accepted_and_requires_grad():
    x = leaf([1.0])
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    with pytest.raises(RuntimeError):
        mg.tensor([1.0]).retain_grad()


def test_detach_cuts_graph_and_shares_memory():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    y = x * d
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    e = x.detach()
    assert np.shares_memory(e.numpy(), x.numpy())


# ---------------------------------------------------------------------------
# Grad mode.

def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf([1.0])
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            z = x * 2
            assert mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_and_enable_grad_as_decorators():
    x = leaf([1.0])

    @mg.no_grad()
    def f(t):
        return t * 2

    @mg.enable_grad()
    def g(t):
        return t * 2

    assert not f(x).requires_grad
    with mg.no_grad():
        assert g(x).requires_grad
    assert f.__name__ == "f"


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError
    assert mg.is_grad_enabled()


def test_inference_mode_and_set_grad_enabled():
    x = leaf([1.0])
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_grad_mode_is_thread_local():
    results = {}
    entered = threading.Event()
    release = threading.Event()

    def worker():
        x = leaf([1.0])
        entered.wait()
        results["worker"] = (x * 2).requires_grad  # this thread never entered no_grad
        release.set()

    t = threading.Thread(target=worker)
    t.start()
    with mg.no_grad():
        entered.set()
        release.wait(10)
        results["main"] = (leaf([1.0]) * 2).requires_grad
    t.join()
    assert results == {"worker": True, "main": False}


# ---------------------------------------------------------------------------
# autograd.grad, create_graph, higher order.

def test_autograd_grad_does_not_touch_leaf_grad():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    (g,) = autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    assert x.grad is None
    assert not g.requires_grad


def test_autograd_grad_allow_unused():
    x = leaf([1.0])
    u = leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = autograd.grad(y, [x, u], allow_unused=True)
    assert gx.item() == 2.0 and gu is None


def test_autograd_grad_with_grad_outputs_and_several_outputs():
    x = leaf([1.0, 2.0])
    a = x * 2
    b = x * x
    gx, = autograd.grad([a, b], x, grad_outputs=[mg.tensor([1.0, 1.0], dtype=mg.float64),
                                                  mg.tensor([1.0, 0.0], dtype=mg.float64)])
    np.testing.assert_allclose(gx.numpy(), [4.0, 2.0])


def test_create_graph_grad_is_differentiable():
    x = leaf(3.0)
    y = x ** 3
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    assert g.item() == 27.0
    (h,) = autograd.grad(g, x, create_graph=True)
    assert h.item() == 18.0
    (t,) = autograd.grad(h, x)
    assert t.item() == 6.0


def test_backward_create_graph_then_differentiate_grad():
    x = leaf([1.0, 2.0])
    (x ** 3).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    x.grad = None
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def _hessian_by_rows(f, x):
    (g,) = autograd.grad(f(x), x, create_graph=True)
    rows = []
    for i in range(x.shape[0]):
        (r,) = autograd.grad(g[i], x, retain_graph=True, allow_unused=True)
        rows.append(np.zeros(x.shape) if r is None else r.numpy())
    return np.stack(rows)


@pytest.mark.parametrize("name", ["quadratic", "exp_sin", "logsumexp", "prod", "norm", "softmax_ce"])
def test_hessians_of_small_functions(name):
    xv = np.array([0.3, -0.7, 1.1])
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 3.0]])
    s = np.exp(xv - xv.max())
    s /= s.sum()
    fns = {
        "quadratic": (lambda x: (x * (mg.tensor(A) @ x)).sum() / 2, A),
        "exp_sin": (lambda x: (x.exp() * x.sin()).sum(),
                    np.diag(np.exp(xv) * (np.sin(xv) + 2 * np.cos(xv) - np.sin(xv)))),
        "logsumexp": (lambda x: x.logsumexp(0), np.diag(s) - np.outer(s, s)),
        "prod": (lambda x: x.prod(), np.array([[0, xv[2], xv[1]], [xv[2], 0, xv[0]], [xv[1], xv[0], 0]])),
        "norm": (lambda x: x.norm(), (np.eye(3) - np.outer(xv, xv) / (xv @ xv)) / np.linalg.norm(xv)),
        "softmax_ce": (lambda x: -mg.log_softmax(x, 0)[1], np.diag(s) - np.outer(s, s)),
    }
    f, want = fns[name]
    np.testing.assert_allclose(_hessian_by_rows(f, leaf(xv)), want, rtol=1e-10, atol=1e-12)


def test_prod_hessian_with_a_zero():
    x = leaf([0.0, 2.0, 3.0])
    H = _hessian_by_rows(lambda t: t.prod(), x)
    np.testing.assert_allclose(H, [[0, 3, 2], [3, 0, 0], [2, 0, 0]])


def test_gradient_penalty_matches_analytic():
    # f(x) = sum(w * x^3), penalty = ||df/dx||^2 = sum((3 w x^2)^2); d penalty/dx = 2 * 3w x^2 * 6 w x
    xv = np.array([0.5, -1.0, 2.0])
    wv = np.array([1.0, 2.0, -0.5])
    x = leaf(xv)
    w = leaf(wv)
    f = (w * x ** 3).sum()
    (g,) = autograd.grad(f, x, create_graph=True)
    penalty = (g ** 2).sum()
    penalty.backward()
    np.testing.assert_allclose(penalty.item(), np.sum((3 * wv * xv ** 2) ** 2))
    np.testing.assert_allclose(x.grad.numpy(), 36 * wv ** 2 * xv ** 3)
    np.testing.assert_allclose(w.grad.numpy(), 18 * wv * xv ** 4)


def test_gradient_penalty_through_a_small_network():
    rng = np.random.default_rng(1)
    W1 = leaf(rng.standard_normal((4, 3)))
    xv = rng.standard_normal((5, 3))

    def penalty(W):
        x = mg.tensor(xv, requires_grad=True)
        out = (x @ W.T).tanh().sum()
        (g,) = autograd.grad(out, x, create_graph=True)
        return (g ** 2).sum()

    penalty(W1).backward()
    # Finite differences of the penalty with respect to W1.
    eps = 1e-6
    num = np.zeros(W1.shape)
    for idx in np.ndindex(*W1.shape):
        Wp = W1.detach().clone()
        Wm = W1.detach().clone()
        Wp.numpy()[idx] += eps
        Wm.numpy()[idx] -= eps
        with mg.enable_grad():
            num[idx] = (penalty(Wp.requires_grad_()).item() - penalty(Wm.requires_grad_()).item()) / (2 * eps)
    np.testing.assert_allclose(W1.grad.numpy(), num, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# Introspection and anomaly detection.

def test_grad_fn_name_and_next_functions():
    x = leaf([1.0])
    z = x * 2 + x.detach()
    assert z.grad_fn.name() == "AddBackward0"
    nf = z.grad_fn.next_functions
    assert len(nf) == 2
    assert nf[0][0].name() == "MulBackward0"
    assert nf[1][0] is None
    acc = nf[0][0].next_functions[0][0]
    assert acc.name() == "AccumulateGrad" and acc.variable is x
    assert x.grad_fn is None and x.is_leaf and not z.is_leaf


def test_detect_anomaly_names_op_and_user_line():
    x = leaf([0.0, 1.0])
    with autograd.detect_anomaly():
        y = x.sqrt()  # the line the error must point at
        line = __import__("inspect").currentframe().f_lineno - 1
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward0" in msg
    assert os.path.basename(__file__) in msg and f"line {line}" in msg


def test_without_detect_anomaly_nan_gradient_passes_silently():
    x = leaf([0.0, 1.0])
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_hooks_run_and_backward_order_is_consumer_first():
    order = []
    x = leaf([1.0])
    a = x * 2
    b = a * 3
    a.register_hook(lambda g: order.append("a"))
    b.register_hook(lambda g: order.append("b"))
    b.sum().backward()
    assert order == ["b", "a"]


def test_existing_grad_accumulates_in_place_as_pytorch():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g  # PyTorch's AccumulateGrad adds into the existing .grad
    np.testing.assert_allclose(g.numpy(), [5.0, 5.0])
    x.grad = mg.zeros(2, dtype=mg.float64)
    z = x.grad
    (x * 1).sum().backward()
    assert x.grad is z and z.tolist() == [1.0, 1.0]


def test_create_graph_accumulation_is_out_of_place():
    x = leaf([1.0, 2.0])
    (x ** 2).sum().backward(create_graph=True)
    g1 = x.grad
    (x ** 2).sum().backward(create_graph=True)
    np.testing.assert_allclose(g1.numpy(), [2.0, 4.0])  # the first graph's value is untouched
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_autograd_grad_result_does_not_alias_intermediate_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    z = (h * h).sum()
    (gh,) = autograd.grad(z, h, retain_graph=True)
    z.backward()
    np.testing.assert_allclose(gh.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(h.grad.numpy(), [8.0, 16.0])


def test_autograd_grad_leaf_result_does_not_alias_a_saved_intermediates_grad():
    # The leaf's gradient is a reshape (a view) of the gradient of n1, which cos() saved and so
    # keeps alive with its .grad; a later backward adds into that .grad in place.
    x = leaf(1.0280501935178907)
    c = mg.tensor(np.array([[0.2739233746429086]]))
    y = (x.reshape((1, 1)).cos() * c[0]).sum()
    (gx,) = autograd.grad(y, [x], retain_graph=True)
    want = -np.sin(1.0280501935178907) * 0.2739233746429086
    y.backward()
    np.testing.assert_allclose(gx.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("dtype", [mg.float16, mg.float32, mg.float64])
def test_python_number_operands_keep_the_tensor_dtype_and_gradient(dtype):
    """A number operand is recorded as a 0-d array of the tensor's dtype (no constant Tensor):
    values, result dtypes and gradients are those of the same program written with numpy."""
    xs = np.array([0.5, 1.25, 2.0])
    x = mg.tensor(xs, dtype=dtype, requires_grad=True)
    y = ((2 - x * 0.5) ** 2 + 1.0 / x - (x + 3) / 4.0 + x ** 0.5) * 1e-1
    assert y.dtype == dtype
    np_dt = np.dtype(str(dtype).split(".")[-1])
    a = xs.astype(np_dt)
    want = ((np_dt.type(2) - a * np_dt.type(0.5)) ** 2 + np_dt.type(1) / a - (a + np_dt.type(3)) / np_dt.type(4)
            + a ** np_dt.type(0.5)) * np_dt.type(0.1)
    np.testing.assert_array_equal(y.numpy(), want)
    y.sum().backward()
    assert x.grad.dtype == dtype
    dwant = (-(2 - xs * 0.5) - 1 / xs ** 2 - 0.25 + 0.5 / np.sqrt(xs)) * 0.1
    np.testing.assert_allclose(x.grad.numpy(), dwant, rtol={mg.float16: 1e-2, mg.float32: 1e-6}.get(dtype, 1e-12))
    # the cached number arrays are never written through
    z = x * 0.5
    with pytest.raises(ValueError):
        z.grad_fn.inputs[1][...] = 7


def test_number_operand_graph_shows_the_constant_and_second_derivatives_work():
    x = leaf([0.5, 2.0])
    y = (x ** 3 * 2.0 - 1).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 6 * np.array([0.5, 2.0]) ** 2)
    (gg,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 12 * np.array([0.5, 2.0]))


def test_unreferenced_intermediates_are_released_with_their_grads():
    import weakref

    gc.disable()
    try:
        x = leaf(np.ones(1000))
        refs = []
        y = x
        for _ in range(5):
            y = (y * 1.5).tanh()
            refs.append(weakref.ref(y))
        s = y.sum()
        del y
        assert any(r() is not None for r in refs)  # saved for backward until it runs
        s.backward()
        assert all(r() is None for r in refs), "intermediates (and their .grad) outlive backward"
        assert x.grad is not None
    finally:
        gc.enable()


def test_number_operand_zero_keeps_its_sign():
    x = mg.tensor([1.0, 2.0], dtype=mg.float32)
    for _ in range(2):  # the second time round, +0.0 is cached: -0.0 must not take its place
        assert not np.signbit((x * 0.0).numpy()).any()
        assert np.signbit((x * -0.0).numpy()).all()
        assert np.signbit((x * -0.0).numpy()).all()
        assert not np.signbit((x * 0).numpy()).any()
