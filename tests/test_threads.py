"""Thread safety: grad mode and anomaly mode are per thread (as in PyTorch), and two
threads training two models at once get exactly what they get one after the other."""

from __future__ import annotations

import copy
import threading

import numpy as np

import minigrad as mg
from minigrad import nn


def _run_threads(*targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # surfaced in the main thread below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_no_grad_is_per_thread():
    x = mg.ones(3, requires_grad=True)
    entered = threading.Event()
    checked = threading.Event()
    seen = {}

    def in_no_grad():
        with mg.no_grad():
            entered.set()
            assert checked.wait(30)
            seen["inside"] = (mg.is_grad_enabled(), (x * 2).requires_grad)
        seen["after"] = mg.is_grad_enabled()

    def recording():
        assert entered.wait(30)  # the other thread is inside no_grad() now
        seen["other"] = (mg.is_grad_enabled(), (x * 2).requires_grad)
        checked.set()

    _run_threads(in_no_grad, recording)
    assert seen["inside"] == (False, False)
    assert seen["other"] == (True, True)
    assert seen["after"] is True
    assert mg.is_grad_enabled()


def test_set_grad_enabled_in_thread_leaves_main_thread_alone():
    def off():
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled()

    _run_threads(off)
    assert mg.is_grad_enabled()
    assert (mg.ones(2, requires_grad=True) * 3).requires_grad


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with mg.no_grad():
        _run_threads(lambda: seen.append(mg.is_grad_enabled()))
    assert seen == [True]


def test_anomaly_mode_is_per_thread():
    entered = threading.Event()
    done = threading.Event()
    seen = {}

    def anomalous():
        with mg.autograd.detect_anomaly():
            entered.set()
            assert done.wait(30)

    def plain():
        assert entered.wait(30)
        x = mg.zeros(3, requires_grad=True)
        (x.sqrt() * 0).sum().backward()  # NaN gradient: no error without anomaly mode
        seen["grad"] = x.grad.numpy().copy()
        done.set()

    _run_threads(anomalous, plain)
    assert np.isnan(seen["grad"]).all()


def _make_model(seed):
    mg.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def _data(seed):
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((64, 6)).astype(np.float32))
    y = mg.tensor(rng.integers(0, 3, 64))
    return x, y


def _train(model, opt_cls, data, steps, barrier=None, losses=None):
    x, y = data
    opt = opt_cls(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    for i in range(steps):
        if barrier is not None:
            barrier.wait(30)  # lock-step with the other thread: maximal interleaving
        opt.zero_grad()
        sl = slice((i % 4) * 16, (i % 4 + 1) * 16)
        if i % 5 == 4:
            with mg.no_grad():  # an evaluation pass in the middle of training
                model(x)
        loss = loss_fn(model(x[sl]), y[sl])
        loss.backward()
        opt.step()
        if losses is not None:
            losses.append(float(loss))


def test_two_threads_train_like_sequential():
    steps = 60
    sgd = lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9)
    adam = lambda ps: mg.optim.Adam(ps, lr=1e-2)
    a0, b0 = _make_model(1), _make_model(2)
    da, db = _data(10), _data(20)

    # one after the other
    a_seq, b_seq = copy.deepcopy(a0), copy.deepcopy(b0)
    la_seq, lb_seq = [], []
    _train(a_seq, sgd, da, steps, losses=la_seq)
    _train(b_seq, adam, db, steps, losses=lb_seq)

    # at the same time, in lock-step
    a_par, b_par = copy.deepcopy(a0), copy.deepcopy(b0)
    la_par, lb_par = [], []
    barrier = threading.Barrier(2)
    _run_threads(lambda: _train(a_par, sgd, da, steps, barrier, la_par),
                 lambda: _train(b_par, adam, db, steps, barrier, lb_par))

    assert la_par == la_seq
    assert lb_par == lb_seq
    for seq, par in ((a_seq, a_par), (b_seq, b_par)):
        for (name, p), (_, q) in zip(seq.named_parameters(), par.named_parameters()):
            np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    assert la_seq[-1] < la_seq[0] and lb_seq[-1] < lb_seq[0]


def test_threads_with_no_grad_and_backward_interleaved():
    """One thread runs inference under no_grad while another backpropagates, many times."""
    w = mg.randn(8, 8, requires_grad=True)
    x = mg.randn(4, 8)
    expected = (x @ w).tanh().sum()
    expected.backward()
    ref = w.grad.numpy().copy()
    problems = []

    def infer():
        for _ in range(300):
            with mg.no_grad():
                out = (x @ w).tanh()
            if out.requires_grad or out.grad_fn is not None:
                problems.append("recorded under no_grad")

    def train():
        for _ in range(300):
            g, = mg.autograd.grad((x @ w).tanh().sum(), [w])
            if not np.allclose(g.numpy(), ref, rtol=1e-6, atol=1e-7):
                problems.append("wrong gradient")

    _run_threads(infer, train)
    assert not problems, problems[:3]
