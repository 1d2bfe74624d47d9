"""Tensor.register_post_accumulate_grad_hook: PyTorch's hook run with a leaf after its .grad was accumulated."""

import numpy as np
import pytest

import minigrad as mg


def test_hook_sees_the_accumulated_grad_once_per_backward():
    w = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append((t, t.grad.numpy().copy())))
    x = mg.tensor([4.0, 5.0, 6.0], dtype=mg.float64)
    ((w * x).sum() + (w * w).sum()).backward()  # w reached by two paths: one call, the sum of both
    assert len(seen) == 1 and seen[0][0] is w
    np.testing.assert_array_equal(seen[0][1], [4.0 + 2.0, 5.0 + 4.0, 6.0 + 6.0])
    (w * x).sum().backward()  # accumulates: the hook sees the running total
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[1][1], [10.0, 14.0, 18.0])


def test_grad_hooks_run_before_and_post_accumulate_hooks_after_storing():
    w = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    order = []
    w.register_hook(lambda g: order.append(("grad", w.grad)) or g * 10)
    w.register_post_accumulate_grad_hook(lambda t: order.append(("post", t.grad.numpy().copy())))
    (w * 3).sum().backward()
    assert order[0] == ("grad", None)
    assert order[1][0] == "post"
    np.testing.assert_array_equal(order[1][1], [30.0, 30.0])


def test_hook_may_change_grad_in_place_and_remove_stops_it():
    w = mg.tensor([1.0, -1.0], dtype=mg.float64, requires_grad=True)
    calls = []

    def halve(t):
        calls.append(1)
        with mg.no_grad():
            t.grad.mul_(0.5)

    handle = w.register_post_accumulate_grad_hook(halve)
    (w * 4).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])
    handle.remove()
    w.grad = None
    (w * 4).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 4.0])
    assert len(calls) == 1


def test_not_run_by_autograd_grad_nor_for_unreached_leaves():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    v = mg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(calls.append)
    v.register_post_accumulate_grad_hook(calls.append)
    (g,) = mg.autograd.grad((w * 2).sum(), [w])
    assert calls == [] and w.grad is None
    (v * 2).sum().backward()
    assert calls == [v]


def test_registration_errors():
    leaf = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (leaf * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mg.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)


@pytest.mark.torch
def test_same_calls_as_pytorch():
    torch = pytest.importorskip("torch")
    logs = []
    for T in (mg, torch):
        w = T.tensor([1.0, 2.0, 3.0], dtype=T.float64, requires_grad=True)
        log = []
        w.register_post_accumulate_grad_hook(lambda t, log=log: log.append(t.grad.detach().numpy().copy()))
        (w * w).sum().backward()
        (w * 3).sum().backward()
        T.autograd.grad((w * 2).sum(), [w])
        logs.append(log)
    assert len(logs[0]) == len(logs[1]) == 2
    for a, b in zip(*logs):
        np.testing.assert_array_equal(a, b)
