"""nn.utils: gradient clipping (against PyTorch's numbers) and parameter vectors."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

_REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "nn_ref.npz"), allow_pickle=False)
GRADS = [np.array([[3.0, -4.0]]), np.array([12.0]), np.array([[1.0, -2.0], [0.5, 9.0]])]


def _params():
    ps = [nn.Parameter(minigrad.zeros(*g.shape, dtype=minigrad.float64)) for g in GRADS]
    for p, g in zip(ps, GRADS):
        p.grad = minigrad.tensor(g.copy())
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0, 0.5])
def test_clip_grad_norm_matches_pytorch(norm_type):
    ps = _params()
    total = clip_grad_norm_(ps, 5.0, norm_type=norm_type)
    assert isinstance(total, minigrad.Tensor) and total.ndim == 0
    np.testing.assert_allclose(total.numpy(), _REF[f"clip|{norm_type}|total"], rtol=1e-12)
    for i, p in enumerate(ps):
        np.testing.assert_allclose(p.grad.numpy(), _REF[f"clip|{norm_type}|{i}"], rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone_and_accepts_a_tensor():
    ps = _params()
    total = clip_grad_norm_(iter(ps), 100.0)  # a generator, as model.parameters() is
    np.testing.assert_allclose(total.item(), np.sqrt(sum((g**2).sum() for g in GRADS)))
    for p, g in zip(ps, GRADS):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6)
    p = nn.Parameter(minigrad.zeros(2))
    p.grad = minigrad.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert clip_grad_norm_([nn.Parameter(minigrad.zeros(1))], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(minigrad.zeros(2))
    p.grad = minigrad.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_pytorch():
    ps = _params()
    assert clip_grad_value_(ps, 2.5) is None
    for i, p in enumerate(ps):
        np.testing.assert_array_equal(p.grad.numpy(), _REF[f"clipv|{i}"])


def test_clip_in_a_training_step():
    minigrad.manual_seed(0)
    m = nn.Linear(3, 2)
    (m(minigrad.randn(8, 3)) * 100).sum().backward()
    total = clip_grad_norm_(m.parameters(), max_norm=1.0)
    assert total.item() > 1.0
    after = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in m.parameters()))
    assert after == pytest.approx(1.0, rel=1e-5)


def test_parameters_to_vector_and_back():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = parameters_to_vector(m.parameters())
    assert vec.shape == (11,)
    np.testing.assert_array_equal(vec.numpy()[:6], m[0].weight.numpy().reshape(-1))
    vec.sum().backward()  # differentiable
    assert all(np.all(p.grad.numpy() == 1) for p in m.parameters())
    new = minigrad.arange(11, dtype=minigrad.float32)
    params = list(m.parameters())
    vector_to_parameters(new, m.parameters())
    assert all(a is b for a, b in zip(params, m.parameters()))
    np.testing.assert_array_equal(m[0].bias.numpy(), [6.0, 7.0])
    np.testing.assert_array_equal(m[1].weight.numpy(), [[8.0, 9.0]])
    with pytest.raises(RuntimeError):
        vector_to_parameters(minigrad.zeros(3), m.parameters())
    with pytest.raises(TypeError):
        vector_to_parameters([1.0], m.parameters())
