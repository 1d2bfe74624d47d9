"""backend.py: the array-module helpers the hot paths lean on."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend as B


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_surely_finite_says_no_for_any_nonfinite_element(dtype, bad):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 53)).astype(dtype)
    assert B.surely_finite(a)
    for where in [(0, 0), (36, 52), (17, 3)]:
        b = a.copy()
        b[where] = bad
        assert not B.surely_finite(b)
        assert not B.surely_finite(b.T)  # Fortran order: a view is tested, not a copy
        seen = where[1] % 2 == 0
        assert B.surely_finite(b[:, ::2]) is not seen  # strided: only the elements in the view count


def test_surely_finite_edge_shapes_and_huge_values():
    assert B.surely_finite(np.zeros((0, 3), np.float32))
    assert B.surely_finite(np.float32(2.5) * np.ones((), np.float32))
    assert not B.surely_finite(np.array(np.nan, np.float64))
    # Huge finite values may make the test's sum of squares overflow ("not sure" is then allowed:
    # callers take their exact path), but a non-finite element among them is never missed.
    big = np.full(1000, 3e38, np.float32)
    for bad in (np.nan, np.inf, -np.inf):
        b = big.copy()
        b[500] = bad
        assert not B.surely_finite(b)


@pytest.mark.parametrize("n", [64, 70_000])  # the where() path and the multiply-and-check path
def test_relu_backward_masks_nonfinite_and_huge_gradients_like_torch(n):
    """inf, nan and huge finite gradients where relu's output is 0 become 0 (PyTorch's
    threshold_backward selects, never multiplies), and pass unchanged where it is positive."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    specials = rng.integers(0, n, size=12)
    g[specials[:4]] = np.inf
    g[specials[4:8]] = np.nan
    g[specials[8:]] = 1e30  # finite, but the finiteness test's squares overflow
    xt = mg.tensor(x, requires_grad=True)
    xt.relu().backward(mg.tensor(g))
    expected = np.where(x > 0, g, np.float32(0))
    np.testing.assert_array_equal(xt.grad.numpy(), expected)
