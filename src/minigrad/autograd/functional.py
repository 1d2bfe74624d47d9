"""Higher-level autodiff on functions: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``."""

from __future__ import annotations

from .. import backend as B

xp = B.xp




def _prep(inputs, create_graph):
    from ..tensor import Tensor

    single = isinstance(inputs, Tensor)
    xs = (inputs,) if single else tuple(inputs)
    prepared = tuple(x if (create_graph and x.requires_grad) else x.detach().requires_grad_(True) for x in xs)
    return prepared, single


def _outs(out):
    from ..tensor import Tensor

    return ((out,), True) if isinstance(out, Tensor) else (tuple(out), False)


def _grads(outputs, xs, vs, create_graph):
    from ..factories import zeros_like
    from .engine import grad

    pairs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(x) for x in xs)
    gs = grad([o for o, _ in pairs], xs, [v for _, v in pairs], create_graph=create_graph,
              retain_graph=True, allow_unused=True)
    return tuple(zeros_like(x) if g is None else g for x, g in zip(xs, gs))


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    from ..autograd.graph import enable_grad

    with enable_grad():
        xs, single = _prep(inputs, create_graph)
        outs, single_out = _outs(func(*xs))
        if v is None:
            if any(o.numel() != 1 for o in outs):
                raise RuntimeError("vjp: v can only be None if the output of func is a single-element Tensor")
            from ..factories import ones_like

            vs = tuple(ones_like(o) for o in outs)
        else:
            vs, _ = _outs(v)
        gs = _grads(outs, xs, vs, create_graph)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    gs = tuple(g if create_graph else g.detach() for g in gs)
    return (outs[0] if single_out else outs), (gs[0] if single else gs)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    from ..autograd.graph import enable_grad
    from ..factories import ones_like, zeros_like
    from .engine import grad

    with enable_grad():
        xs, single = _prep(inputs, create_graph)
        outs, single_out = _outs(func(*xs))
        if v is None:
            if any(x.numel() != 1 for x in xs):
                raise RuntimeError("jvp: v can only be None if the input to func is a single-element Tensor")
            vs = tuple(ones_like(x) for x in xs)
        else:
            vs = (v,) if single else tuple(v)
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        gs = _grads(outs, xs, us, create_graph=True)
        pairs = [(g, w) for g, w in zip(gs, vs) if g.requires_grad]
        if pairs:
            jv = grad([g for g, _ in pairs], us, [w for _, w in pairs], create_graph=create_graph,
                      allow_unused=True)
            jv = tuple(zeros_like(o) if j is None else j for o, j in zip(outs, jv))
        else:
            jv = tuple(zeros_like(o) for o in outs)
    outs = tuple(o if create_graph else o.detach() for o in outs)
    jv = tuple(j if create_graph else j.detach() for j in jv)
    return (outs[0] if single_out else outs), (jv[0] if single_out else jv)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
             strategy: str = "reverse-mode"):
    """d func / d inputs, shaped ``out.shape + in.shape`` (tuples as in PyTorch)."""
    from ..autograd.graph import enable_grad
    from ..ops.movement import stack
    from ..ops.registry import constant

    with enable_grad():
        xs, single = _prep(inputs, create_graph)
        outs, single_out = _outs(func(*xs))
        result = []
        for o in outs:
            rows = [[] for _ in xs]
            for k in range(o.numel()):
                seed = xp.zeros(o.numel(), dtype=o._data.dtype)
                seed[k] = 1
                gs = _grads([o], xs, [constant(seed.reshape(o.shape))], create_graph)
                for i, g in enumerate(gs):
                    rows[i].append(g)
            per_input = []
            for i, x in enumerate(xs):
                if rows[i]:
                    j = stack(rows[i]).reshape(o.shape + x.shape)
                else:
                    j = constant(xp.zeros(o.shape + x.shape, dtype=x._data.dtype))
                per_input.append(j if create_graph else j.detach())
            result.append(per_input[0] if single else tuple(per_input))
    return result[0] if single_out else tuple(result)


def hessian(func, inputs, create_graph: bool = False, strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """Second derivatives of a scalar ``func``, shaped ``in.shape + in.shape``."""
    from ..tensor import Tensor

    single = isinstance(inputs, Tensor)

    def gradient(*xs):
        from .engine import grad

        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError(f"hessian: func must return a single-element Tensor, got shape {tuple(out.shape)}")
        gs = grad(out, xs, create_graph=True, allow_unused=True, materialize_grads=True)
        return gs[0] if single else gs

    return jacobian(gradient, inputs, create_graph=create_graph)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v) for a scalar ``func``."""
    from ..autograd.graph import enable_grad
    from .engine import grad

    with enable_grad():
        xs, single = _prep(inputs, True)
        xs = tuple(x.detach().requires_grad_(True) if not create_graph else x for x in xs)
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError(f"hvp: func must return a single-element Tensor, got shape {tuple(out.shape)}")
        gs = grad(out, xs, create_graph=True, allow_unused=True, materialize_grads=True)
        vs = (v,) if single else tuple(v)
        pairs = [(g, w) for g, w in zip(gs, vs) if g.requires_grad]
        from ..factories import zeros_like

        if pairs:
            hv = grad([g for g, _ in pairs], xs, [w for _, w in pairs], create_graph=create_graph,
                      allow_unused=True, materialize_grads=True)
        else:
            hv = tuple(zeros_like(x) for x in xs)
    out = out if create_graph else out.detach()
    hv = tuple(h if create_graph else h.detach() for h in hv)
    return out, (hv[0] if single else hv)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """v^T H (equal to H v for the symmetric Hessian)."""
    return hvp(func, inputs, v, create_graph, strict)
