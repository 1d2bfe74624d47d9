"""Sparse COO tensors: sparse_coo_tensor, to_sparse/to_dense, coalesce, sparse.mm with gradients to the
values and the dense operand (PyTorch fixtures from gen_nnplus.py; gradcheck in float64)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "nnplus.npz"), allow_pickle=False)


def _f(case: str, name: str):
    return FIX[f"sparse/{case}/{name}"]


@pytest.mark.parametrize("case", ["f64", "f32"])
def test_graph_convolution_step_matches_pytorch(case):
    idx, w, x, W, g = (_f(case, k) for k in ("idx", "w", "x", "W", "g"))
    n = x.shape[0]
    tw, tx, tW = (mg.tensor(a, requires_grad=True) for a in (w, x, W))
    a = mg.sparse_coo_tensor(mg.tensor(idx), tw, (n, n))
    assert a.is_sparse and a.layout is mg.sparse_coo and a.requires_grad and not a.is_coalesced()
    y = mg.sparse.mm(a, tx @ tW)
    rtol = 1e-14 if case == "f64" else 1e-6
    np.testing.assert_allclose(y.detach().numpy(), _f(case, "y"), rtol=rtol, atol=rtol)
    y.backward(mg.tensor(g))
    for t, k in ((tw, "dw"), (tx, "dx"), (tW, "dW")):
        assert t.grad.dtype == t.dtype
        np.testing.assert_allclose(t.grad.numpy(), _f(case, k), rtol=rtol, atol=rtol, err_msg=k)
    # the other spellings give the same product
    for other in (mg.spmm(a, tx @ tW), mg.mm(a, tx @ tW), a @ (tx @ tW), a.mm(tx @ tW)):
        np.testing.assert_array_equal(other.detach().numpy(), y.detach().numpy())


@pytest.mark.parametrize("case", ["f64", "f32"])
def test_coalesce_to_dense_to_sparse_match_pytorch(case):
    idx, w, x = (_f(case, k) for k in ("idx", "w", "x"))
    n = x.shape[0]
    a = mg.sparse_coo_tensor(idx, mg.tensor(w), (n, n))
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced tensor"):
        a.indices()
    assert a._indices().shape == (2, idx.shape[1]) and a._nnz() == idx.shape[1]
    c = a.coalesce()
    assert c.is_coalesced() and c.coalesce() is c
    np.testing.assert_array_equal(c.indices().numpy(), _f(case, "coalesced_idx"))
    np.testing.assert_array_equal(c.values().numpy(), _f(case, "coalesced_vals"))
    np.testing.assert_array_equal(a.to_dense().numpy(), _f(case, "dense"))
    np.testing.assert_allclose(mg.mm(mg.tensor(x.T.copy()), a).numpy(), _f(case, "dense_at_sparse"),
                               rtol=1e-6 if case == "f32" else 1e-14)
    sp = mg.tensor(_f(case, "to_sparse_in")).to_sparse()
    assert sp.is_coalesced() and sp.shape == x.shape
    np.testing.assert_array_equal(sp.indices().numpy(), _f(case, "to_sparse_idx"))
    np.testing.assert_array_equal(sp.values().numpy(), _f(case, "to_sparse_vals"))
    np.testing.assert_array_equal(sp.to_dense().numpy(), _f(case, "to_sparse_in"))


def test_gradcheck_values_and_dense():
    rng = np.random.default_rng(0)
    idx = mg.tensor([[0, 1, 1, 3, 2, 0], [2, 0, 0, 1, 3, 2]])
    vals = mg.tensor(rng.standard_normal(6), requires_grad=True)
    dense = mg.tensor(rng.standard_normal((4, 3)), requires_grad=True)

    def f(v, d):
        return mg.sparse.mm(mg.sparse_coo_tensor(idx, v, (4, 4)), d).tanh()

    gradcheck(f, (vals, dense))
    gradcheck(lambda v: mg.sparse_coo_tensor(idx, v, (4, 4)).coalesce().values() ** 2, (vals,))
    gradcheck(lambda v: mg.sparse_coo_tensor(idx, v, (4, 4)).to_dense().sin(), (vals,))
    gradcheck(lambda d: mg.mm(d.t(), mg.sparse_coo_tensor(idx, vals.detach(), (4, 4))), (dense,))
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)  # no zeros: the pattern is stable under eps
    gradcheck(lambda t: t.to_sparse().to_dense() * 2, (x,))
    # with zeros, only the stored entries get a gradient (PyTorch's to_dense backward masks it the same way)
    z = mg.tensor([[0.0, 1.5], [-2.0, 0.0]], requires_grad=True)
    (z.to_sparse().to_dense() * 2).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [[0.0, 2.0], [2.0, 0.0]])


def test_leaf_sparse_grad_hybrid_and_size_inference():
    i = mg.tensor([[0, 2], [1, 0]])
    s = mg.sparse_coo_tensor(i, [1.0, 2.0], requires_grad=True)
    assert s.shape == (3, 2) and s.is_leaf and s.grad is None and s.dtype == mg.float32
    assert isinstance(s.shape, mg.Size) and s.size() == mg.Size([3, 2]) and s.size(1) == 2
    d = mg.ones(2, 5)
    mg.sparse.mm(s, d).sum().backward()
    assert s.grad.is_sparse
    np.testing.assert_array_equal(s.grad._values().numpy(), [5.0, 5.0])
    s.grad = None
    assert s.grad is None
    # with a duplicate position: PyTorch's gradient is coalesced, one derivative per position
    u = mg.sparse_coo_tensor(mg.tensor([[0, 1, 1, 2], [2, 0, 0, 1]]), [1.0, 2.0, 3.0, 4.0], (3, 3),
                             requires_grad=True)
    dd = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    mg.sparse.mm(u, dd).sum().backward()
    assert u.grad.is_coalesced()
    np.testing.assert_array_equal(u.grad.indices().numpy(), [[0, 1, 2], [2, 0, 1]])
    np.testing.assert_array_equal(u.grad.values().numpy(), [11.0, 3.0, 7.0])  # row sums of dd at cols 2, 0, 1
    # hybrid: one sparse dim, values of shape (nnz, 3)
    h = mg.sparse_coo_tensor(mg.tensor([[1, 3, 1]]), mg.arange(9.0).reshape(3, 3), (4, 3))
    assert h.sparse_dim() == 1 and h.dense_dim() == 1
    np.testing.assert_array_equal(h.to_dense().numpy(), [[0, 0, 0], [6, 8, 10], [0, 0, 0], [3, 4, 5]])
    sum_ = (h + h).coalesce()
    np.testing.assert_array_equal(sum_.to_dense().numpy(), 2 * h.to_dense().numpy())
    np.testing.assert_array_equal((h * 3).to_dense().numpy(), 3 * h.to_dense().numpy())
    np.testing.assert_array_equal(mg.sparse.sum(h).numpy(), 36.0)
    empty = mg.sparse_coo_tensor(mg.zeros(2, 0, dtype=mg.int64), mg.zeros(0), (3, 3))
    np.testing.assert_array_equal(empty.to_dense().numpy(), np.zeros((3, 3)))
    assert mg.tensor([1.0]).is_sparse is False and mg.tensor([1.0]).layout is mg.strided
    assert "layout=minigrad.sparse_coo" in repr(h) and "nnz=3" in repr(h)


def test_sparse_errors_are_clear():
    i = mg.tensor([[0, 1], [1, 0]])
    s = mg.sparse_coo_tensor(i, mg.tensor([1.0, 2.0]), (2, 2))
    with pytest.raises(RuntimeError, match="index 5 at entry 1 of dim 0 is out of bounds for size 2"):
        mg.sparse_coo_tensor(mg.tensor([[0, 5], [0, 0]]), mg.tensor([1.0, 2.0]), (2, 2))
    with pytest.raises(RuntimeError, match="indices have 2 entries"):
        mg.sparse_coo_tensor(i, mg.tensor([1.0, 2.0, 3.0]), (2, 2))
    with pytest.raises(RuntimeError, match="indices must be an int64 tensor"):
        mg.sparse_coo_tensor(mg.tensor([[0.0, 1.0]]), mg.tensor([1.0, 2.0]), (2,))
    with pytest.raises(RuntimeError, match=r"shapes cannot be multiplied \(2x2 and 3x1\)"):
        mg.sparse.mm(s, mg.ones(3, 1))
    with pytest.raises(RuntimeError, match="same dtype"):
        mg.sparse.mm(s, mg.ones(2, 1, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="sparse @ sparse is not supported"):
        mg.sparse.mm(s, s)
    with pytest.raises(RuntimeError, match="'exp' is not supported on minigrad sparse COO tensors"):
        s.exp()
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        s + mg.ones(2, 2)
    with pytest.raises(TypeError, match="call .to_dense"):
        np.asarray(s)
    with pytest.raises(RuntimeError, match="Cannot get values on an uncoalesced tensor"):
        (s + s).values()
