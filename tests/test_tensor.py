"""Tensor construction, factories, attributes, methods, operators, views, in-place ops and errors (SPEC "Tensor")."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

# ---------------------------------------------------------------------------
# Construction.


def test_construction_from_numbers_lists_arrays_and_tensors():
    assert mg.tensor(3).shape == () and mg.tensor(3).item() == 3
    assert mg.tensor([[1, 2], [3, 4]]).shape == (2, 2)
    a = np.arange(6.0).reshape(2, 3)
    t = mg.tensor(a)
    assert t.dtype == mg.float64 and t.shape == (2, 3)
    a[0, 0] = 100.0
    assert t[0, 0].item() == 0.0  # tensor() copies
    u = mg.tensor(t)
    assert not np.shares_memory(u.numpy(), t.numpy())
    assert mg.tensor([]).shape == (0,)


def test_Tensor_is_pytorchs_legacy_constructor():
    t = mg.Tensor([1.0, 2.0])
    assert t.shape == (2,) and not t.requires_grad and t.dtype == mg.float32
    assert mg.Tensor(3).shape == (3,)  # sizes, as PyTorch (SPEC difference 2 is withdrawn)
    with pytest.raises(TypeError):
        mg.Tensor([1.0], mg.float64)
    with pytest.raises(TypeError, match="minigrad.tensor"):
        mg.Tensor([1.0], requires_grad=True)  # PyTorch's legacy constructor takes no requires_grad


def test_from_numpy_and_as_tensor_share_memory():
    a = np.zeros(3)
    t = mg.from_numpy(a)
    a[1] = 5.0
    assert t[1].item() == 5.0
    assert np.shares_memory(mg.as_tensor(a).numpy(), a)


def test_device_argument():
    t = mg.tensor([1.0], device="cpu")
    assert str(t.device) == "cpu" and t.device == mg.device("cpu")
    assert mg.zeros(2, device=mg.device("cpu")).device.type == "cpu"
    assert t.to("cpu") is not None and t.cpu().shape == (1,)
    with pytest.raises((RuntimeError, ValueError)):
        mg.tensor([1.0], device="cuda:7")


# ---------------------------------------------------------------------------
# Factories and seeding.


@pytest.mark.parametrize("make,shape,dtype", [
    (lambda: mg.zeros(2, 3), (2, 3), mg.float32),
    (lambda: mg.zeros((2, 3), dtype=mg.float64), (2, 3), mg.float64),
    (lambda: mg.ones(4), (4,), mg.float32),
    (lambda: mg.full((2,), 7), (2,), mg.int64),
    (lambda: mg.full((2, 2), 0.5), (2, 2), mg.float32),
    (lambda: mg.empty(3, 1), (3, 1), mg.float32),
    (lambda: mg.zeros_like(mg.ones(2, dtype=mg.int64)), (2,), mg.int64),
    (lambda: mg.ones_like(mg.ones(2, 2), dtype=mg.float64), (2, 2), mg.float64),
    (lambda: mg.full_like(mg.ones(3), 2.0), (3,), mg.float32),
    (lambda: mg.rand(2, 2), (2, 2), mg.float32),
    (lambda: mg.randn(3, dtype=mg.float64), (3,), mg.float64),
    (lambda: mg.randint(0, 5, (4,)), (4,), mg.int64),
    (lambda: mg.arange(5), (5,), mg.int64),
    (lambda: mg.arange(0, 1, 0.25), (4,), mg.float32),
    (lambda: mg.linspace(0, 1, 5), (5,), mg.float32),
    (lambda: mg.eye(3), (3, 3), mg.float32),
    (lambda: mg.eye(2, 3, dtype=mg.float64), (2, 3), mg.float64),
])
def test_factories(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype
    assert not t.requires_grad and t.is_leaf


def test_factory_values():
    np.testing.assert_array_equal(mg.arange(1, 7, 2).numpy(), [1, 3, 5])
    np.testing.assert_allclose(mg.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(mg.eye(2).numpy(), np.eye(2))
    np.testing.assert_array_equal(mg.full((2,), 3.0).numpy(), [3.0, 3.0])
    r = mg.randint(2, 4, (200,)).numpy()
    assert r.min() >= 2 and r.max() <= 3
    u = mg.rand(1000).numpy()
    assert 0 <= u.min() and u.max() < 1


def test_factories_take_requires_grad():
    t = mg.zeros(2, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert mg.randn(2, requires_grad=True).requires_grad


def test_manual_seed_reproducibility():
    mg.manual_seed(123)
    a = (mg.rand(3), mg.randn(2), mg.randint(0, 100, (3,)), mg.randperm(5), mg.empty(3).uniform_(), mg.empty(2).normal_())
    mg.manual_seed(123)
    b = (mg.rand(3), mg.randn(2), mg.randint(0, 100, (3,)), mg.randperm(5), mg.empty(3).uniform_(), mg.empty(2).normal_())
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    mg.manual_seed(124)
    assert not np.array_equal(mg.rand(3).numpy(), a[0].numpy())


# ---------------------------------------------------------------------------
# Attributes.


def test_data_is_a_detached_tensor_sharing_memory():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert isinstance(d, mg.Tensor) and not d.requires_grad
    d[0] = 5.0
    assert x[0].item() == 5.0
    x.data = mg.tensor([7.0, 8.0])
    np.testing.assert_array_equal(x.numpy(), [7.0, 8.0])
    assert x.requires_grad


def test_grad_is_a_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad is None
    (x * 2).sum().backward()
    assert isinstance(x.grad, mg.Tensor) and x.grad.shape == x.shape


def test_shape_attributes():
    x = mg.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and len(x) == 2
    assert x.T.shape == (4, 3, 2) or x.ndim != 2
    assert x.mT.shape == (2, 4, 3)
    m = mg.zeros(2, 3)
    assert m.T.shape == (3, 2)
    with pytest.raises(IndexError):
        x.size(3)


def test_is_leaf_and_grad_fn():
    x = mg.tensor([1.0], requires_grad=True)
    c = mg.tensor([1.0])
    assert x.is_leaf and c.is_leaf and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None
    assert (c * 2).is_leaf


# ---------------------------------------------------------------------------
# Methods.


def test_item_and_tolist():
    assert mg.tensor([[2.5]]).item() == 2.5 and isinstance(mg.tensor(3).item(), int)
    assert mg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mg.tensor(1.5).tolist() == 1.5
    with pytest.raises(RuntimeError):
        mg.tensor([1.0, 2.0]).item()


def test_numpy_shares_memory_even_with_requires_grad():
    # SPEC difference 3: shared memory, read-only while the tensor requires grad.
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    a = x.numpy()
    assert np.shares_memory(a, x.detach().numpy())
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 9.0
    assert np.shares_memory(np.asarray(x), a)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    p = mg.tensor([1.0, 2.0])
    p.numpy()[0] = 9.0  # a plain tensor's array is writable, as PyTorch's
    assert p[0].item() == 9.0


def test_conversions_truncate_and_copy():
    x = mg.tensor([-1.7, 1.7, 2.5])
    np.testing.assert_array_equal(x.long().numpy(), [-1, 1, 2])
    assert x.long().dtype == mg.int64
    assert x.double().dtype == mg.float64 and x.double().float().dtype == mg.float32
    assert x.to(mg.int32).dtype == mg.int32
    y = mg.tensor([1.0], dtype=mg.float64)
    assert y.to(mg.float64) is y  # as PyTorch: no copy when nothing changes


def test_clone_copies_and_is_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy())
    assert c.grad_fn is not None
    (c * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_differentiable_casts():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.dtype == mg.float64
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    assert not x.long().requires_grad


def test_repr_shows_values_dtype_requires_grad_grad_fn():
    x = mg.tensor([1.5, 2.0], requires_grad=True)
    r = repr(x)
    assert "tensor(" in r and "1.5" in r and "requires_grad=True" in r
    y = x * 2
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert "dtype=minigrad.float64" in repr(mg.tensor([1.0], dtype=mg.float64)) or "float64" in repr(
        mg.tensor([1.0], dtype=mg.float64))
    assert "float32" not in repr(mg.tensor([1.0]))  # the default dtype is not shown, as PyTorch
    assert "int64" not in repr(mg.tensor([1]))
    repr(mg.zeros(100, 100))  # large tensors summarise without error
    assert len(repr(mg.zeros(1001))) < 400  # summarised past 1000 elements, as PyTorch


def test_array_protocol():
    x = mg.tensor([[1.0, 2.0]])
    assert np.asarray(x).shape == (1, 2)
    assert np.sum(np.asarray(x)) == 3.0


def test_bool_float_int_conversions():
    assert bool(mg.tensor([1.0])) and not bool(mg.tensor(0))
    with pytest.raises(RuntimeError):
        bool(mg.tensor([1.0, 2.0]))
    assert float(mg.tensor(2.5)) == 2.5 and int(mg.tensor(3.9)) == 3
    assert [1, 2, 3][mg.tensor(1)] == 2


def test_iteration_yields_rows():
    rows = list(mg.tensor([[1, 2], [3, 4]]))
    assert len(rows) == 2 and rows[1].tolist() == [3, 4]
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))


# ---------------------------------------------------------------------------
# Operators.


def test_operators_with_numbers_on_both_sides():
    x = mg.tensor([1.0, 2.0, 4.0])
    cases = {
        "add": (x + 1, 1 + x, np.array([2.0, 3.0, 5.0])),
        "sub": (x - 1, 1 - x, None),
        "mul": (x * 2, 2 * x, np.array([2.0, 4.0, 8.0])),
        "div": (x / 2, 2 / x, None),
        "floordiv": (x // 3, 3 // x, None),
        "mod": (x % 3, 3 % x, None),
        "pow": (x ** 2, 2 ** x, None),
    }
    xv = np.array([1.0, 2.0, 4.0])
    np_ops = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "floordiv": np.floor_divide,
              "mod": np.mod, "pow": np.power}
    for name, (fwd, rev, _) in cases.items():
        op = np_ops[name]
        a = 2 if name in ("mul", "div", "pow") else (3 if name in ("floordiv", "mod") else 1)
        np.testing.assert_allclose(fwd.numpy(), op(xv, a), err_msg=name)
        np.testing.assert_allclose(rev.numpy(), op(a, xv), err_msg=name)
        assert isinstance(rev, mg.Tensor)
    np.testing.assert_allclose((-x).numpy(), -xv)
    np.testing.assert_allclose(abs(mg.tensor([-1.0, 2.0])).numpy(), [1.0, 2.0])


def test_operators_with_numpy_arrays_on_both_sides_stay_on_graph():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    a = np.array([3.0, 4.0])
    outs = [a + x, x + a, a - x, x - a, a * x, x * a, a / x, x / a, a ** x, x ** a]
    for o in outs:
        assert isinstance(o, mg.Tensor) and o.requires_grad
    sum(o.sum() for o in outs).backward()
    xv = np.array([1.0, 2.0])
    want = 1 + 1 - 1 + 1 + 2 * a - a / xv ** 2 + 1 / a + a ** xv * np.log(a) + a * xv ** (a - 1)
    np.testing.assert_allclose(x.grad.numpy(), want)
    m = np.eye(2)
    assert isinstance(m @ x, mg.Tensor) and isinstance(x @ m, mg.Tensor)


def test_matmul_operator_and_shape_errors():
    a = mg.ones(2, 3)
    assert (a @ mg.ones(3)).shape == (2,)
    with pytest.raises(RuntimeError, match="matmul"):
        a @ mg.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)|\(4,\).*\(2, 3\)"):
        a + mg.ones(4)


def test_comparisons_give_bool_and_are_not_differentiable():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x == 2, x != 2, x < 2, x <= 2, x > 2, x >= 2, x.eq(2), x.ne(x), x.lt(x), x.le(2), x.gt(1), x.ge(3),
              2 < x, np.array([1.0, 1.0, 1.0]) == x):
        assert r.dtype == mg.bool and not r.requires_grad and r.grad_fn is None
    np.testing.assert_array_equal((x > 1.5).numpy(), [False, True, True])
    np.testing.assert_array_equal((2 >= x).numpy(), [True, True, False])
    assert (x == None) is False and (x != None) is True  # noqa: E711 - as PyTorch


# ---------------------------------------------------------------------------
# Views, version counters and in-place ops.


@pytest.mark.parametrize("make_view", [
    lambda t: t[0], lambda t: t[:, 1:], lambda t: t.view(6), lambda t: t.reshape(3, 2), lambda t: t.transpose(0, 1),
    lambda t: t.permute(1, 0), lambda t: t.unsqueeze(0), lambda t: t[None].squeeze(0), lambda t: t.T,
    lambda t: t.flatten(), lambda t: t.view_as(t), lambda t: t.detach(), lambda t: t[..., 0],
])
def test_views_share_memory_and_version_counter(make_view):
    base = mg.tensor(np.arange(6.0).reshape(2, 3))
    v = make_view(base)
    assert np.shares_memory(v.numpy(), base.numpy())
    before = base._version
    with mg.no_grad():
        v.add_(1.0)
    assert base._version > before and v._version == base._version
    assert base.numpy().sum() > 15.0  # the base sees the write


def test_expand_is_a_read_only_view():
    x = mg.tensor([[1.0], [2.0]])
    e = x.expand(2, 3)
    assert np.shares_memory(e.numpy(), x.numpy())
    with pytest.raises(RuntimeError):
        e.add_(1.0)


def test_advanced_indexing_copies():
    x = mg.tensor([1.0, 2.0, 3.0])
    y = x[[0, 1]]
    y[0] = 100.0
    assert x[0].item() == 1.0


INPLACE = [
    ("add_", lambda t: t.add_(2.0), lambda a: a + 2.0),
    ("add_alpha", lambda t: t.add_(mg.tensor([1.0, 1.0, 1.0]), alpha=3), lambda a: a + 3.0),
    ("sub_", lambda t: t.sub_(0.5), lambda a: a - 0.5),
    ("mul_", lambda t: t.mul_(3.0), lambda a: a * 3.0),
    ("div_", lambda t: t.div_(4.0), lambda a: a / 4.0),
    ("pow_", lambda t: t.pow_(2), lambda a: a ** 2),
    ("clamp_", lambda t: t.clamp_(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5)),
    ("zero_", lambda t: t.zero_(), lambda a: a * 0),
    ("fill_", lambda t: t.fill_(1.25), lambda a: np.full_like(a, 1.25)),
    ("copy_", lambda t: t.copy_(mg.tensor([7.0, 8.0, 9.0])), lambda a: np.array([7.0, 8.0, 9.0])),
    ("relu_", lambda t: t.relu_(), lambda a: np.maximum(a, 0)),
    ("sigmoid_", lambda t: t.sigmoid_(), lambda a: 1 / (1 + np.exp(-a))),
    ("tanh_", lambda t: t.tanh_(), np.tanh),
    ("exp_", lambda t: t.exp_(), np.exp),
    ("iadd", lambda t: t.__iadd__(1.0), lambda a: a + 1.0),
    ("isub", lambda t: t.__isub__(1.0), lambda a: a - 1.0),
    ("imul", lambda t: t.__imul__(2.0), lambda a: a * 2.0),
    ("itruediv", lambda t: t.__itruediv__(2.0), lambda a: a / 2.0),
    ("setitem", lambda t: t.__setitem__(1, 5.0) or t, lambda a: np.array([a[0], 5.0, a[2]])),
]


@pytest.mark.parametrize("name,op,ref", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_ops_mutate_and_bump_version(name, op, ref):
    av = np.array([-1.0, 0.25, 2.0])
    t = mg.tensor(av.copy())
    view = t[:]
    arr = t.numpy()
    v0 = t._version
    out = op(t)
    assert out is t or out is None
    assert t.numpy() is arr  # same buffer
    np.testing.assert_allclose(t.numpy(), ref(av))
    np.testing.assert_allclose(view.numpy(), ref(av))
    assert t._version > v0


@pytest.mark.parametrize("name,op,ref", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_ops_on_a_non_leaf_are_recorded(name, op, ref):
    av = np.array([-1.0, 0.25, 2.0])
    x = mg.tensor(av, dtype=mg.float64, requires_grad=True)
    y = x * 1.0
    op(y)
    np.testing.assert_allclose(y.numpy(), ref(av))
    assert y.requires_grad
    (y * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    # Gradient by finite differences of the same in-place program.
    eps = 1e-6
    want = np.zeros(3)
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        hi, lo = mg.tensor(av + d, dtype=mg.float64) * 1.0, mg.tensor(av - d, dtype=mg.float64) * 1.0
        op(hi)
        op(lo)
        want[i] = ((hi.numpy() - lo.numpy()) @ np.array([1.0, 2.0, 3.0])) / (2 * eps)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,op,ref", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_ops_on_leaf_requiring_grad_raise(name, op, ref):
    x = mg.tensor([-1.0, 0.25, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        op(x)
    with mg.no_grad():
        op(x)
    assert x.is_leaf and x.requires_grad


def test_uniform_and_normal_inplace():
    mg.manual_seed(0)
    t = mg.empty(1000)
    t.uniform_(-2.0, 3.0)
    a = t.numpy()
    assert a.min() >= -2.0 and a.max() < 3.0
    t.normal_(5.0, 0.1)
    assert abs(t.numpy().mean() - 5.0) < 0.05
    x = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.uniform_()
    with mg.no_grad():
        x.normal_()


def test_setitem_with_numpy_and_tensor_values_and_masks():
    x = mg.zeros(2, 3)
    x[0] = np.array([1.0, 2.0, 3.0])
    x[1, :2] = mg.tensor([4.0, 5.0])
    x[x > 4.5] = -1.0
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [4, -1, 0]])
    with pytest.raises(RuntimeError):
        x[0] = mg.ones(4)


def test_setitem_on_tensor_saved_for_backward_raises():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y
    y[0] = 3.0  # recorded in place, but mul saved the old y
    with pytest.raises(RuntimeError, match="inplace"):
        z.sum().backward()


# ---------------------------------------------------------------------------
# Indexing.


def test_indexing_kinds():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(a)
    for idx in [0, -1, (1, 2), slice(None, None, 2), (Ellipsis, 1), (None, 0), (0, None, slice(1, 3)),
                ([0, 1, 1],), (slice(None), [2, 0, 2]), (a[..., 0] > 5,), (np.array([1, 0]), np.array([0, 2]))]:
        np.testing.assert_array_equal(x[idx].numpy(), a[idx])
    np.testing.assert_array_equal(x[mg.tensor([1, 1])].numpy(), a[[1, 1]])
    np.testing.assert_array_equal(x[mg.tensor(1)].numpy(), a[1])


def test_repeated_integer_indices_accumulate_gradient():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


# ---------------------------------------------------------------------------
# Errors (SPEC "Errors"; PyTorch's exception classes).


def test_error_classes():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x[0, 5]
    with pytest.raises(IndexError):
        x.sum(2)
    with pytest.raises(IndexError):
        x.softmax(-3)
    with pytest.raises(IndexError):
        x.transpose(0, 2)
    with pytest.raises(IndexError):
        x.unsqueeze(3)
    with pytest.raises(RuntimeError):
        x.item()
    with pytest.raises(ValueError):
        mg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        mg.tensor("abc")
    with pytest.raises(TypeError):
        mg.tensor(["a", "b"])
    with pytest.raises(RuntimeError):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError):
        x.view(-1, -1)
    with pytest.raises(RuntimeError):
        mg.cat([mg.zeros(2, 3), mg.zeros(3, 2)], 0)
    with pytest.raises(RuntimeError):
        mg.stack([mg.zeros(2), mg.zeros(3)])
    with pytest.raises(TypeError):
        x + "a"


def test_error_messages_name_op_and_shapes():
    with pytest.raises(RuntimeError) as info:
        mg.zeros(2, 3) * mg.zeros(4, 5)
    msg = str(info.value)
    assert "mul" in msg and "(2, 3)" in msg and "(4, 5)" in msg
    with pytest.raises(RuntimeError) as info:
        mg.zeros(2, 3) @ mg.zeros(2, 3)
    assert "(2, 3)" in str(info.value)


# In-place ops through views while recording: the base's graph sees them (PyTorch's CopySlices);
# expected gradients are PyTorch's.
def _x():
    return mg.tensor([1.0, 2.0, 3.0, 4.0], dtype=mg.float64, requires_grad=True)


W4 = mg.tensor([1.0, 2.0, 3.0, 4.0], dtype=mg.float64)


def _view_mul_then_base(x):
    y = x * 1
    y.view(2, 2).mul_(2)
    return (y * 1).sum()


def _slice_mul(x):
    y = x * 1
    y[1:].mul_(2)
    return y.sum()


def _transposed_view(x):
    y = x * 1
    y.reshape(2, 2).t().mul_(3)
    return (y * W4).sum()


def _view_of_view(x):
    y = x * 1
    y.view(2, 2)[0].mul_(2)
    return y.sum()


def _sibling_view(x):
    y = x * 1
    v = y.view(2, 2)
    w = y.view(4)
    v.mul_(2)
    return (w * 1).sum()


def _root_inplace_then_view(x):
    y = x * 1
    v = y.view(2, 2)
    y.mul_(2)
    return v.sum()


def _constant_base_view_add(x):
    y = mg.zeros(4, dtype=mg.float64)
    y[1:3].add_(x[:2] * 2)
    return (y * W4).sum()


def _view_chain_setitem_relu(x):
    y = x * 1 - 2.5
    v = y.unsqueeze(0).transpose(0, 1).squeeze(1)
    v[0] = 7.0
    v.relu_()
    return (y * y).sum()


@pytest.mark.parametrize("fn,want", [
    (_view_mul_then_base, [2.0, 2.0, 2.0, 2.0]),
    (_slice_mul, [1.0, 2.0, 2.0, 2.0]),
    (_transposed_view, [3.0, 6.0, 9.0, 12.0]),
    (_view_of_view, [2.0, 2.0, 1.0, 1.0]),
    (_sibling_view, [2.0, 2.0, 2.0, 2.0]),
    (_root_inplace_then_view, [2.0, 2.0, 2.0, 2.0]),
    (_constant_base_view_add, [4.0, 6.0, 0.0, 0.0]),
    (_view_chain_setitem_relu, [0.0, 0.0, 1.0, 3.0]),
])
def test_inplace_through_views_while_recording(fn, want):
    x = _x()
    fn(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    x = _x()
    with pytest.raises(RuntimeError, match="leaf"):
        x[1:].mul_(2)
    with mg.no_grad():
        x[1:].mul_(2)
    np.testing.assert_allclose(x.numpy(), [1.0, 4.0, 6.0, 8.0])


def test_inplace_on_view_of_saved_output_raises():
    x = _x()
    y = x.exp()
    y[1:].mul_(2)
    with pytest.raises(RuntimeError, match="inplace"):
        y.sum().backward()
