"""nn.init: PyTorch's formulas for bounds and standard deviations, reproducibility, and default layer init."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.nn import init


def _w(*shape):
    return nn.Parameter(minigrad.zeros(*shape))


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError):
        init.calculate_gain("nope")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "x")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(_w(3, 4)) == (4, 3)
    assert init._calculate_fan_in_and_fan_out(_w(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(_w(5))


@pytest.mark.parametrize(
    "fn, shape, bound",
    [
        (lambda t: init.uniform_(t, -0.3, 0.7), (200, 300), None),
        (lambda t: init.xavier_uniform_(t), (200, 300), math.sqrt(6 / 500)),
        (lambda t: init.xavier_uniform_(t, gain=2.0), (200, 300), 2 * math.sqrt(6 / 500)),
        # a=0 (the default) is leaky_relu with slope 0: gain sqrt(2)
        (lambda t: init.kaiming_uniform_(t), (200, 300), math.sqrt(2) * math.sqrt(3 / 300)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), (200, 300), 1 / math.sqrt(300)),
        (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), (200, 300),
         math.sqrt(2) * math.sqrt(3 / 200)),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), (20, 6, 5, 5),
         math.sqrt(2) * math.sqrt(3 / 150)),
    ],
)
def test_uniform_initialisers_fill_their_interval(fn, shape, bound):
    minigrad.manual_seed(0)
    t = _w(*shape)
    out = fn(t)
    assert out is t and t.grad_fn is None and t.requires_grad
    a = t.numpy()
    lo, hi = (-0.3, 0.7) if bound is None else (-bound, bound)
    width = hi - lo
    assert a.min() >= lo - 1e-6 * width and a.max() <= hi + 1e-6 * width  # float32 rounding
    assert a.min() < lo + 0.01 * width and a.max() > hi - 0.01 * width
    assert a.std() == pytest.approx(width / math.sqrt(12), rel=0.03)


@pytest.mark.parametrize(
    "fn, shape, mean, std",
    [
        (lambda t: init.normal_(t, 0.5, 2.0), (200, 300), 0.5, 2.0),
        (lambda t: init.xavier_normal_(t), (200, 300), 0.0, math.sqrt(2 / 500)),
        (lambda t: init.kaiming_normal_(t), (200, 300), 0.0, math.sqrt(2) / math.sqrt(300)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), (200, 300), 0.0,
         math.sqrt(2) / math.sqrt(200)),
        (lambda t: init.kaiming_normal_(t, a=0.2, nonlinearity="leaky_relu"), (30, 4, 3, 3), 0.0,
         math.sqrt(2 / 1.04) / math.sqrt(36)),
    ],
)
def test_normal_initialisers_have_the_formula_std(fn, shape, mean, std):
    minigrad.manual_seed(1)
    t = _w(*shape)
    assert fn(t) is t
    a = t.numpy()
    assert a.mean() == pytest.approx(mean, abs=4 * std / math.sqrt(a.size))
    # 4 standard errors of a sample std (sigma / sqrt(2n)), and never tighter than 3%
    assert a.std() == pytest.approx(std, rel=max(0.03, 4 / math.sqrt(2 * a.size)))


def test_trunc_normal_stays_in_bounds():
    minigrad.manual_seed(2)
    t = init.trunc_normal_(_w(100, 100), mean=0.1, std=1.0, a=-0.5, b=1.5)
    a = t.numpy()
    assert a.min() >= -0.5 and a.max() <= 1.5 and a.min() < -0.45 and a.max() > 1.45
    t = init.trunc_normal_(_w(100, 100), std=0.02)  # the ViT default: nothing is clipped
    assert t.numpy().std() == pytest.approx(0.02, rel=0.03)


def test_constant_zeros_ones_eye():
    t = _w(3, 4)
    assert init.constant_(t, 0.25) is t and np.all(t.numpy() == 0.25)
    assert not init.zeros_(t).numpy().any()
    assert np.all(init.ones_(t).numpy() == 1)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))


@pytest.mark.parametrize("shape", [(4, 9), (9, 4), (6, 2, 3)])
def test_orthogonal(shape):
    minigrad.manual_seed(3)
    t = init.orthogonal_(_w(*shape), gain=2.0)
    m = t.numpy().reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError):
        init.orthogonal_(_w(3))


def test_init_is_reproducible_under_manual_seed_and_keeps_dtype():
    minigrad.manual_seed(7)
    a = init.kaiming_uniform_(_w(5, 5)).numpy().copy()
    minigrad.manual_seed(7)
    b = init.kaiming_uniform_(_w(5, 5)).numpy()
    np.testing.assert_array_equal(a, b)
    d = nn.Parameter(minigrad.zeros(3, 3, dtype=minigrad.float64))
    assert init.normal_(d).dtype == minigrad.float64


def test_linear_default_init_is_pytorchs():
    minigrad.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert w.min() >= -bound * (1 + 1e-6) and w.max() <= bound * (1 + 1e-6) and w.max() > 0.99 * bound and w.min() < -0.99 * bound
    assert w.std() == pytest.approx(2 * bound / math.sqrt(12), rel=0.02)
    assert b.min() >= -bound * (1 + 1e-6) and b.max() <= bound * (1 + 1e-6) and b.std() == pytest.approx(2 * bound / math.sqrt(12), rel=0.1)
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.numpy(), w)
    assert nn.Linear(3, 2, dtype=minigrad.float64).weight.dtype == minigrad.float64
    assert nn.Linear(3, 2, bias=False).bias is None


def test_other_default_inits():
    minigrad.manual_seed(0)
    e = nn.Embedding(300, 200, padding_idx=3)
    w = e.weight.numpy()
    assert not w[3].any()
    assert w.std() == pytest.approx(1.0, rel=0.02)
    bn = nn.BatchNorm1d(4)
    assert np.all(bn.weight.numpy() == 1) and not bn.bias.numpy().any()
    assert not bn.running_mean.numpy().any() and np.all(bn.running_var.numpy() == 1)
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == minigrad.int64
    ln = nn.LayerNorm((2, 3))
    assert ln.weight.shape == (2, 3) and np.all(ln.weight.numpy() == 1) and not ln.bias.numpy().any()
