"""Function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``."""

from __future__ import annotations

from typing import Callable

from .autograd.graph import enable_grad


def _prepare(args, argnums):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    nested = False
    for n in nums:
        x = args[n]
        nested = nested or x.requires_grad
        # Keep the caller's graph (for nested transforms); otherwise a fresh leaf.
        args[n] = x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)
    return args, nums, nested


def _detach_tree(obj):
    """``obj`` with every Tensor in it (through tuples, lists and dicts) detached."""
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        return obj.detach()
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return type(obj)(*(_detach_tree(o) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_detach_tree(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _detach_tree(v) for k, v in obj.items()}
    return obj


def grad_and_value(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of ``func`` w.r.t. ``argnums``, ``func``'s value)."""

    def wrapper(*args, **kwargs):
        from .autograd import grad as _grad

        with enable_grad():
            xs, nums, nested = _prepare(args, argnums)
            out = func(*xs, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError("grad_and_value(f)(*args): output of function f should be a tuple: "
                                       "(output, aux) if has_aux is True")
                out, aux = out
            if out.numel() != 1:
                raise RuntimeError(f"grad: func must return a single-element Tensor, got shape {tuple(out.shape)}")
            gs = _grad(out, [xs[n] for n in nums], create_graph=nested, allow_unused=True,
                       materialize_grads=True)
        if not nested:  # the results leave the transform: cut off its private graph (aux too, as torch.func)
            gs = tuple(g.detach() for g in gs)
            out = out.detach()
            aux = _detach_tree(aux)
        g = gs[0] if isinstance(argnums, int) else tuple(gs)
        return (g, (out, aux)) if has_aux else (g, out)

    return wrapper


def grad(func: Callable, argnums=0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar ``func`` w.r.t. argument(s) ``argnums``."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn): ``vjp_fn(cotangent)`` returns one gradient per primal."""
    from .autograd import grad as _grad
    from .factories import zeros_like
    from .tensor import Tensor

    with enable_grad():
        xs, nums, nested = _prepare(primals, tuple(range(len(primals))))
        out = func(*xs)
        aux = None
        if has_aux:
            out, aux = out
    outs = (out,) if isinstance(out, Tensor) else tuple(out)

    def vjp_fn(cotangents):
        cts = (cotangents,) if isinstance(cotangents, Tensor) else tuple(cotangents)
        with enable_grad():
            pairs = [(o, c) for o, c in zip(outs, cts) if o.requires_grad]
            if not pairs:
                return tuple(zeros_like(x) for x in xs)
            gs = _grad([o for o, _ in pairs], xs, [c for _, c in pairs], retain_graph=True,
                       create_graph=nested, allow_unused=True, materialize_grads=True)
        return tuple(g if nested else g.detach() for g in gs)

    shown = out if nested else (out.detach() if isinstance(out, Tensor) else tuple(o.detach() for o in out))
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)
