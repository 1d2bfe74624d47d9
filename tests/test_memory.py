"""Memory: graphs are freed by reference counting alone, long training runs stay flat,
and keeping intermediate ``.grad`` costs no peak memory when nobody holds the intermediates.

Every check that relies on freeing runs with the cycle collector disabled
(``gc.disable()``), so nothing passes by way of ``gc``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


@contextlib.contextmanager
def gc_off():
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _live_tensors() -> int:
    # type(), not isinstance(): isinstance reads ``__class__``, which some objects of other libraries
    # (PyTorch's deprecated aliases, when it is imported) answer with a warning.
    return sum(1 for o in gc.get_objects() if issubclass(type(o), mg.Tensor))


# ---------------------------------------------------------------------------
# Graphs are freed by reference counting.

def _graph(x, w):
    """A small graph whose ops save inputs (mul, matmul), outputs (tanh, exp) or both (pow)."""
    h = x @ w
    a = h.tanh()
    b = a * a
    c = (b + 1.0) ** 1.5
    d = c.exp().mean()
    return d, [h, a, b, c]


def test_forward_graph_freed_by_refcount_when_dropped():
    with gc_off():
        x = mg.randn(8, 5, requires_grad=True)
        w = mg.randn(5, 4, requires_grad=True)
        out, inter = _graph(x, w)
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(out)]
        nodes = [weakref.ref(t.grad_fn) for t in inter] + [weakref.ref(out.grad_fn)]
        arrays = [weakref.ref(t._data) for t in inter]  # (their numpy() is a read-only view)
        del inter, out
        assert all(r() is None for r in refs), "a graph tensor outlived its last reference"
        assert all(r() is None for r in nodes), "a graph node outlived its output"
        assert all(r() is None for r in arrays), "an intermediate array was kept alive"
        assert x.grad is None and w.grad is None


def test_backward_releases_saved_values_and_intermediates():
    with gc_off():
        x = mg.randn(8, 5, requires_grad=True)
        w = mg.randn(5, 4, requires_grad=True)
        out, inter = _graph(x, w)
        refs = [weakref.ref(t) for t in inter]
        arrays = [weakref.ref(t._data) for t in inter]  # (their numpy() is a read-only view)
        root_node = weakref.ref(out.grad_fn)
        del inter  # only the graph holds the intermediates now
        assert any(r() is not None for r in arrays), "the graph should be holding saved values before backward"
        out.backward()
        # Saved tensors and arrays are gone though ``out`` (and so its node) is still alive.
        assert root_node() is not None
        assert all(r() is None for r in refs), "an intermediate tensor survived backward()"
        assert all(r() is None for r in arrays), "a saved array survived backward()"
        assert x.grad is not None and w.grad is not None
        # and a second backward now fails as in PyTorch
        with pytest.raises(RuntimeError, match="second time"):
            out.backward()
        del out
        assert root_node() is None


def test_retain_graph_keeps_saved_values_until_dropped():
    with gc_off():
        x = mg.randn(4, 3, requires_grad=True)
        w = mg.randn(3, 2, requires_grad=True)
        out, inter = _graph(x, w)
        arrays = [weakref.ref(t._data) for t in inter]  # (their numpy() is a read-only view)
        del inter
        out.backward(retain_graph=True)
        g1 = x.grad.numpy().copy()
        out.backward()
        np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-5)
        del out
        assert all(r() is None for r in arrays)


def test_intermediate_grads_freed_with_their_tensor():
    """An intermediate the user still holds gets ``.grad``; one nobody holds is released."""
    with gc_off():
        x = mg.randn(6, requires_grad=True)
        kept = x.exp()
        dropped = kept * 3.0
        dropped_ref = weakref.ref(dropped)
        loss = (dropped.sin()).sum()
        del dropped
        loss.backward()
        assert dropped_ref() is None
        assert kept.grad is not None and kept.grad.shape == (6,)
        grad_ref = weakref.ref(kept.grad.numpy())
        del kept
        assert grad_ref() is None


def test_training_step_makes_no_reference_cycles():
    """A whole nn + optimizer step is freed by refcounting: the cycle collector finds nothing."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = mg.optim.Adam(model.parameters(), lr=1e-3)
    x = mg.randn(16, 10)
    y = mg.randint(0, 3, (16,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return float(loss)

    step()  # optimizer state is created on the first step
    with gc_off():
        for _ in range(20):
            step()
        found = gc.collect()
    assert found == 0, f"training steps left {found} objects in reference cycles"


# ---------------------------------------------------------------------------
# Long runs stay flat.

def _mlp_run(steps: int, sample_at: int):
    mg.manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))
    opt = mg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    xs = mg.tensor(rng.standard_normal((8, 32, 20)).astype(np.float32))
    ys = mg.tensor(rng.integers(0, 5, (8, 32)))
    loss_fn = nn.CrossEntropyLoss()
    samples = {}
    for i in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(xs[i % 8]), ys[i % 8])
        loss.backward()
        opt.step()
        if i in sample_at:
            samples[i] = (_rss_bytes(), _live_tensors())
    return samples


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc (Linux)")
def test_mlp_training_rss_flat():
    steps = 2000
    samples = _mlp_run(steps, {200, steps - 1})
    rss0, live0 = samples[200]
    rss1, live1 = samples[steps - 1]
    assert rss1 <= rss0 * 1.05, f"RSS grew from {rss0 / 2**20:.1f} MiB to {rss1 / 2**20:.1f} MiB over {steps - 200} steps"
    assert live1 <= live0, f"live tensors grew from {live0} to {live1}"


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc (Linux)")
def test_cnn_training_rss_flat():
    mg.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    opt = mg.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    xs = mg.tensor(rng.standard_normal((4, 8, 1, 8, 8)).astype(np.float32))
    ys = mg.tensor(rng.integers(0, 3, (4, 8)))
    loss_fn = nn.CrossEntropyLoss()
    steps, warm = 1000, 100
    for i in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(xs[i % 4]), ys[i % 4])
        loss.backward()
        opt.step()
        if i == warm:
            rss0, live0 = _rss_bytes(), _live_tensors()
    rss1, live1 = _rss_bytes(), _live_tensors()
    assert rss1 <= rss0 * 1.05, f"RSS grew from {rss0 / 2**20:.1f} MiB to {rss1 / 2**20:.1f} MiB"
    assert live1 <= live0, f"live tensors grew from {live0} to {live1}"


# ---------------------------------------------------------------------------
# Peak memory of a step.

def _deep_step(x, ws, how: str):
    """Forward through a deep tanh MLP, then gradients by ``how``; returns the traced peak."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    h = x
    held = []
    for w in ws:
        h = (h @ w).tanh()
        if how == "hold":
            held.append(h)
    loss = (h * h).mean()
    if how == "grad":
        mg.autograd.grad(loss, ws)
    else:
        loss.backward()
    del h, loss
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if how == "hold":
        assert all(t.grad is not None for t in held)
    return peak


def test_intermediate_grads_do_not_raise_peak_memory():
    """``backward()`` stores ``.grad`` on intermediates, yet a step whose intermediates
    nobody holds peaks no higher than ``autograd.grad`` (which stores none): each is
    released with its gradient as backward passes it. Holding them costs more (and the
    measurement sees it)."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((256, 256)).astype(np.float32))
    ws = [mg.tensor((rng.standard_normal((256, 256)) / 16).astype(np.float32), requires_grad=True)
          for _ in range(12)]
    with gc_off():
        _deep_step(x, ws, "backward")  # warm-up
        for w in ws:
            w.grad = None
        peak_backward = _deep_step(x, ws, "backward")
        peak_grad = _deep_step(x, ws, "grad")
        for w in ws:
            w.grad = None
        peak_hold = _deep_step(x, ws, "hold")
    act = 256 * 256 * 4
    assert peak_backward <= peak_grad * 1.10 + act, (peak_backward, peak_grad)
    assert peak_hold >= peak_backward + 4 * act, (peak_hold, peak_backward)


@pytest.mark.parametrize("env, want", [({}, (10_000, 10, 10)), ({"MINIGRAD_GC_TUNING": "0"}, (700, 10, 10))])
def test_import_raises_gc_threshold_unless_opted_out(env, want):
    import subprocess
    import sys

    code = "import gc, minigrad; print(gc.get_threshold())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    assert out.strip() == str(want)


def test_import_keeps_a_program_s_own_gc_thresholds():
    import subprocess
    import sys

    code = "import gc; gc.set_threshold(123, 4, 5); import minigrad; print(gc.get_threshold())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(123, 4, 5)"
