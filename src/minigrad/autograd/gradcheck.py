"""``gradcheck`` and ``gradgradcheck``: analytic gradients against central finite differences."""

from __future__ import annotations

from typing import Callable

from .. import backend as B

xp = B.xp


class GradcheckError(RuntimeError):
    """Raised when analytic and numerical gradients disagree."""


def _as_tuple(x):
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _outputs(fn, inputs):
    from ..tensor import Tensor

    out = fn(*inputs)
    if isinstance(out, Tensor):
        return (out,)
    return tuple(o for o in out if isinstance(o, Tensor))


def _host(a):
    """The array ``a`` as a float64 host (numpy) array: Jacobians are assembled on the host."""
    return B.backend_of(a).to_host(a).astype(xp.float64)


def _diff_outputs(outs):
    return [o for o in outs if o._data.dtype.kind == "f"]


def numerical_jacobian(fn, inputs, eps: float):
    """Per differentiable input, an array (n_out_total, n_in) of central differences."""
    from .graph import no_grad

    jacs = []
    for t in inputs:
        if not t.requires_grad:
            continue
        flat = t._data.reshape(-1)
        cols = []
        for j in range(flat.size):
            orig = flat[j]
            with no_grad():
                flat[j] = orig + eps
                plus = [_host(o._data).ravel() for o in _diff_outputs(_outputs(fn, inputs))]
                flat[j] = orig - eps
                minus = [_host(o._data).ravel() for o in _diff_outputs(_outputs(fn, inputs))]
                flat[j] = orig
            cols.append(xp.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
                        if plus else xp.zeros(0))
        if not cols:  # an empty input: a (n_out, 0) Jacobian, matching the analytical one
            with no_grad():
                n_out = sum(o._data.size for o in _diff_outputs(_outputs(fn, inputs)))
            jacs.append(xp.zeros((n_out, 0)))
            continue
        jacs.append(xp.stack(cols, axis=1))
    return jacs


def analytical_jacobian(fn, inputs):
    """Per differentiable input, an array (n_out_total, n_in) from backward passes."""
    from .engine import grad

    diff_inputs = [t for t in inputs if t.requires_grad]
    outs = _diff_outputs(_outputs(fn, inputs))
    n_out = sum(o._data.size for o in outs)
    jacs = [xp.zeros((n_out, t._data.size)) for t in diff_inputs]
    row = 0
    for o in outs:
        for k in range(o._data.size):
            if o.requires_grad:
                seed = xp.zeros(o._data.size, dtype=o._data.dtype)
                seed[k] = 1.0
                from ..ops.registry import constant_like

                gs = grad([o], diff_inputs, [constant_like(seed.reshape(o.shape), o)], retain_graph=True,
                          allow_unused=True)
                for i, g in enumerate(gs):
                    if g is not None:
                        jacs[i][row] = _host(g._data).ravel()
            row += 1
    return jacs


def gradcheck(fn: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check ``fn``'s gradients w.r.t. its float64 inputs that require grad.

    Raises ``GradcheckError`` naming the input and the worst element on mismatch.
    """
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if hasattr(t, "requires_grad") and t.requires_grad and t._data.dtype != B.float64:
            raise GradcheckError(
                f"gradcheck: input {i} has dtype {t.dtype}; finite differences need float64 inputs"
            )
    if not any(getattr(t, "requires_grad", False) for t in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    numeric = numerical_jacobian(fn, inputs, eps)
    analytic = analytical_jacobian(fn, inputs)
    diff_index = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if a.shape != n.shape:
            raise GradcheckError(f"gradcheck: Jacobian shapes differ for input {diff_index[k]}: {tuple(a.shape)} vs {tuple(n.shape)}")
        bad = ~(xp.abs(a - n) <= atol + rtol * xp.abs(n))
        bad |= xp.isnan(a) != xp.isnan(n)
        if bad.any():
            err = xp.where(bad, xp.abs(a - n), 0)
            out_i, in_j = xp.unravel_index(int(xp.nanargmax(err) if not xp.isnan(err).all() else 0), a.shape)
            msg = (
                f"Jacobian mismatch for output element {out_i} with respect to input {diff_index[k]} "
                f"(shape {tuple(inputs[diff_index[k]].shape)}), element {in_j}: analytical "
                f"{a[out_i, in_j]!r} vs numerical {n[out_i, in_j]!r} (atol={atol}, rtol={rtol}).\n"
                f"analytical:\n{a}\nnumerical:\n{n}"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, v) -> vjp(fn, inputs, v)`` built with create_graph."""
    from ..tensor import Tensor
    from .engine import grad

    inputs = _as_tuple(inputs)
    outs = _diff_outputs(_outputs(fn, inputs))
    if grad_outputs is None:
        rng = xp.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._make(B.to_backend(rng.standard_normal(o.shape), B.backend_of(o._data)), False,
                         None).requires_grad_() for o in outs
        )
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_inputs_idx = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]

    def first_order(*args):
        from .graph import enable_grad

        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # finite differences call this under no_grad
            o = [q for q in _diff_outputs(_outputs(fn, xs))]
            pairs = [(q, v) for q, v in zip(o, vs) if q.requires_grad]
            if not pairs:
                return ()
            gs = grad([q for q, _ in pairs], [xs[i] for i in diff_inputs_idx], [v for _, v in pairs],
                      create_graph=True, allow_unused=True, materialize_grads=True)
        return tuple(gs)

    return gradcheck(first_order, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
