"""autograd.functional (vjp, jvp, jacobian, hessian, hvp) and minigrad.func against analytic answers."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import func
from minigrad.autograd import functional as AF

XV = np.array([0.3, -0.7, 1.1])
YV = np.array([0.5, 2.0])


def t(v, requires_grad=False):
    return mg.tensor(np.asarray(v, dtype=np.float64), requires_grad=requires_grad)


def f_vec(x):  # R^3 -> R^2
    return mg.stack([x[0] * x[1], (x[2] ** 2).sin()])


def J_vec(x):
    return np.array([[x[1], x[0], 0.0], [0.0, 0.0, 2 * x[2] * np.cos(x[2] ** 2)]])


def f_scalar(x):  # R^3 -> R
    return (x.exp() * x).sum() + x[0] * x[1] * x[2]


def grad_scalar(x):
    return np.exp(x) * (1 + x) + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])


def H_scalar(x):
    return np.diag(np.exp(x) * (2 + x)) + np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]])


def test_vjp():
    v = np.array([1.5, -2.0])
    out, g = AF.vjp(f_vec, t(XV), t(v))
    np.testing.assert_allclose(out.numpy(), [XV[0] * XV[1], np.sin(XV[2] ** 2)])
    np.testing.assert_allclose(g.numpy(), v @ J_vec(XV), rtol=1e-12)
    assert not g.requires_grad and not out.requires_grad


def test_vjp_scalar_output_default_v_and_tuple_inputs():
    out, (gx, gy) = AF.vjp(lambda x, y: (x * x).sum() * y.sum(), (t(XV), t(YV)))
    np.testing.assert_allclose(gx.numpy(), 2 * XV * YV.sum())
    np.testing.assert_allclose(gy.numpy(), np.full(2, (XV ** 2).sum()))
    with pytest.raises(RuntimeError):
        AF.vjp(f_vec, t(XV))  # v needed for a non-scalar output


def test_jvp():
    v = np.array([0.5, 1.0, -1.0])
    out, jv = AF.jvp(f_vec, t(XV), t(v))
    np.testing.assert_allclose(jv.numpy(), J_vec(XV) @ v, rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), f_vec(t(XV)).numpy())


def test_jacobian_single_and_tuple():
    J = AF.jacobian(f_vec, t(XV))
    assert J.shape == (2, 3)
    np.testing.assert_allclose(J.numpy(), J_vec(XV), rtol=1e-12)
    Jx, Jy = AF.jacobian(lambda x, y: x[:2] * y, (t(XV), t(YV)))
    assert Jx.shape == (2, 3) and Jy.shape == (2, 2)
    np.testing.assert_allclose(Jx.numpy(), [[YV[0], 0, 0], [0, YV[1], 0]])
    np.testing.assert_allclose(Jy.numpy(), np.diag(XV[:2]))


def test_jacobian_of_matrix_function_shape():
    A = np.arange(6.0).reshape(2, 3)
    J = AF.jacobian(lambda x: x @ t(A).T, t(np.ones((4, 3))))
    assert J.shape == (4, 2, 4, 3)
    want = np.einsum("ac,bd->abcd", np.eye(4), A)
    np.testing.assert_allclose(J.numpy(), want)


def test_jacobian_create_graph_is_differentiable():
    x = t(XV)
    J = AF.jacobian(lambda z: z ** 3, x, create_graph=True)
    assert J.requires_grad
    x2 = t(XV, requires_grad=True)
    J2 = AF.jacobian(lambda z: z ** 3, x2, create_graph=True)
    J2.sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), 6 * XV)


def test_hessian():
    H = AF.hessian(f_scalar, t(XV))
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H.numpy(), H_scalar(XV), rtol=1e-12)


def test_hessian_tuple_inputs():
    # f(x, y) = sum(x)^2 * y0 ; H[x][x] = 2 y0, H[x][y0] = 2 sum(x), H[y][y] = 0
    H = AF.hessian(lambda x, y: x.sum() ** 2 * y[0], (t(XV), t(YV)))
    s = XV.sum()
    np.testing.assert_allclose(H[0][0].numpy(), np.full((3, 3), 2 * YV[0]))
    np.testing.assert_allclose(H[0][1].numpy(), np.stack([[2 * s, 0.0]] * 3))
    np.testing.assert_allclose(H[1][0].numpy(), np.stack([[2 * s] * 3, [0.0] * 3]))
    np.testing.assert_allclose(H[1][1].numpy(), np.zeros((2, 2)))


def test_hvp_and_vhp():
    v = np.array([1.0, -0.5, 2.0])
    out, hv = AF.hvp(f_scalar, t(XV), t(v))
    np.testing.assert_allclose(hv.numpy(), H_scalar(XV) @ v, rtol=1e-12)
    np.testing.assert_allclose(out.item(), f_scalar(t(XV)).item())
    _, vh = AF.vhp(f_scalar, t(XV), t(v))
    np.testing.assert_allclose(vh.numpy(), v @ H_scalar(XV), rtol=1e-12)


def test_functional_leaves_inputs_untouched():
    x = t(XV, requires_grad=True)
    AF.jacobian(f_vec, x)
    AF.hessian(f_scalar, x)
    assert x.grad is None


def test_func_grad():
    g = func.grad(f_scalar)(t(XV))
    np.testing.assert_allclose(g.numpy(), grad_scalar(XV), rtol=1e-12)
    assert not g.requires_grad


def test_func_grad_argnums_and_has_aux():
    def f(x, y):
        return (x * y).sum(), "aux"
    (gx, gy), aux = func.grad(f, argnums=(0, 1), has_aux=True)(t(XV[:2]), t(YV))
    np.testing.assert_allclose(gx.numpy(), YV)
    np.testing.assert_allclose(gy.numpy(), XV[:2])
    assert aux == "aux"
    gy_only = func.grad(lambda x, y: (x * y).sum(), argnums=1)(t(XV[:2]), t(YV))
    np.testing.assert_allclose(gy_only.numpy(), XV[:2])


def test_func_grad_and_value():
    g, v = func.grad_and_value(f_scalar)(t(XV))
    np.testing.assert_allclose(g.numpy(), grad_scalar(XV), rtol=1e-12)
    np.testing.assert_allclose(v.item(), f_scalar(t(XV)).item())


def test_func_grad_nested_gives_second_derivative():
    f = lambda x: (x ** 3).sum()
    d2 = func.grad(lambda x: func.grad(f)(x).sum())(t(XV))
    np.testing.assert_allclose(d2.numpy(), 6 * XV)


def test_func_grad_rejects_non_scalar():
    with pytest.raises(RuntimeError):
        func.grad(lambda x: x * 2)(t(XV))


def test_func_vjp():
    out, vjp_fn = func.vjp(f_vec, t(XV))
    np.testing.assert_allclose(out.numpy(), f_vec(t(XV)).numpy())
    v = np.array([1.0, 3.0])
    (g,) = vjp_fn(t(v))
    np.testing.assert_allclose(g.numpy(), v @ J_vec(XV), rtol=1e-12)
    (g2,) = vjp_fn(t(-v))  # callable more than once
    np.testing.assert_allclose(g2.numpy(), -(v @ J_vec(XV)), rtol=1e-12)


def test_func_vjp_several_primals():
    out, vjp_fn = func.vjp(lambda x, y: x[:2] * y, t(XV), t(YV))
    gx, gy = vjp_fn(t(np.ones(2)))
    np.testing.assert_allclose(gx.numpy(), [YV[0], YV[1], 0.0])
    np.testing.assert_allclose(gy.numpy(), XV[:2])
