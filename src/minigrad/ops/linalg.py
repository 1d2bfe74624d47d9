"""Linear algebra: matmul and einsum rows, then composites (outer, dot, mm, bmm ...)."""

from __future__ import annotations

import string

from .. import backend as B
from .registry import _TENSOR_CLASSES, constant, defbinary, defop, is_tensor

xp = B.xp  # the host's module (shape arithmetic)
_XP = B.XP  # array class -> its array module, per call


def _einsum_vjp(g, out, inputs, params, mask):
    """Gradient of operand i: an einsum of g with the other operands into i's subscripts.

    Letters repeated within operand i (diagonals) or appearing nowhere else
    (summed out) are handled with constant identity / ones operands.
    """
    _, (in_subs, out_sub) = params
    grads = []
    for i, needed in enumerate(mask):
        if not needed:
            grads.append(None)
            continue
        target = in_subs[i]
        operands = [g]
        subs = [out_sub]
        for j, t in enumerate(inputs):
            if j != i:
                operands.append(t)
                subs.append(in_subs[j])
        present = set("".join(subs))
        sizes = {}
        for sub, t in zip(in_subs, inputs):
            for letter, n in zip(sub, t.shape):
                sizes[letter] = n
        free = iter(c for c in string.ascii_letters if c not in "".join(in_subs) + out_sub)
        result_sub = []
        seen = {}
        for letter in target:
            if letter in seen:
                # Repeated letter: route through an identity matrix onto a fresh letter.
                fresh = next(free)
                operands.append(constant(_XP[g._data.__class__].eye(sizes[letter], dtype=g._data.dtype)))
                subs.append(letter + fresh)
                result_sub.append(fresh)
                continue
            seen[letter] = True
            if letter not in present:
                operands.append(constant(_XP[g._data.__class__].ones(sizes[letter], dtype=g._data.dtype)))
                subs.append(letter)
                present.add(letter)
            result_sub.append(letter)
        eq = ",".join(subs) + "->" + "".join(result_sub)
        grads.append(einsum_(operands, eq, (tuple(subs), "".join(result_sub))))
    return grads


def _linear_fwd(arrs):
    x, w = arrs[0], arrs[1]
    out = _XP[x.__class__].matmul(x, w.T)
    if len(arrs) == 3:
        out += arrs[2]
    return out


def _linear_vjp(g, out, inputs, params, mask):
    """x: g @ w; w: g^T x over all batch rows, made in w's own (out, in) layout; bias: g
    (the engine sums it over the batch dims)."""
    x, w = inputs[0], inputs[1]
    gx = g @ w if mask[0] else None
    gw = None
    if mask[1]:
        rows_g = g.reshape(-1, g.shape[-1])
        rows_x = x.reshape(-1, x.shape[-1])
        gw = rows_g.mT @ rows_x
    gb = g if len(inputs) == 3 and mask[2] else None
    return (gx, gw, gb) if len(inputs) == 3 else (gx, gw)


# fmt: off
#          maker       name       forward                                        VJPs
matmul_  = defbinary("matmul",   "matmul",                                 lambda g, out, a, b: g @ b.mT,
                                                                                lambda g, out, a, b: a.mT @ g, save="inputs", array_safe=True)
einsum_  = defop("einsum",       lambda arrs, eq, parsed: _XP[arrs[0].__class__].einsum(eq, *arrs, optimize=len(arrs) > 2),
                 _einsum_vjp, save="inputs", dtype_rule="promote")
# Fused x @ w.T + b (as PyTorch's addmm): one node instead of three, and w's gradient
# comes out contiguous in w's layout (a transposed view would slow every optimizer step).
linear_  = defop("linear",       _linear_fwd, _linear_vjp, save="inputs", array_safe=True)
# fmt: on




def linear(x, weight, bias=None):
    """``x @ weight.T + bias``: (*, in) x (out, in) [+ (out,)] -> (*, out)."""
    if x._data.dtype != weight._data.dtype or (bias is not None and bias._data.dtype != weight._data.dtype):
        raise RuntimeError(
            f"linear: expected input, weight and bias of the same dtype, got {x.dtype}, {weight.dtype}"
            + ("" if bias is None else f" and {bias.dtype}")
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(
            f"linear: bias of shape {tuple(bias.shape)} does not match weight of shape {tuple(weight.shape)}"
        )
    return linear_((x, weight) if bias is None else (x, weight, bias))


def matmul(a, b):
    """numpy's matmul shape rules: 1-D, 2-D and batched N-D with broadcast batch dims.

    Operand dtypes must match (as PyTorch: float32 @ float64 raises).
    """
    if a.__class__ in _TENSOR_CLASSES and b.__class__ in _TENSOR_CLASSES:
        ad = a._data
        bd = b._data
        if ad.ndim == 2 and bd.ndim == 2 and ad.dtype is bd.dtype and ad.shape[1] == bd.shape[0]:
            return matmul_(a, b)  # the common case, with nothing left to check or reshape
    if not is_tensor(a):
        a = constant(xp.asarray(a))
    if not is_tensor(b):
        b = constant(xp.asarray(b))
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"matmul: expected both operands to have the same dtype, but got {a.dtype} and {b.dtype}"
        )
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied ({k_a} != {k_b})"
        )
    try:
        if a.ndim > 2 or b.ndim > 2:
            xp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise RuntimeError(
            f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} are not broadcastable"
        ) from None
    squeeze = []
    if a.ndim == 1:
        a = a.unsqueeze(0)
        squeeze.append(-2)
    if b.ndim == 1:
        b = b.unsqueeze(-1)
        squeeze.append(-1)
    out = matmul_(a, b)
    if squeeze:
        out = out.squeeze(tuple(squeeze) if len(squeeze) > 1 else squeeze[0])
    return out


def _parse_einsum(equation: str, shapes):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs, rhs = eq, None
    subs = lhs.split(",")
    if len(subs) != len(shapes):
        raise RuntimeError(f"einsum(): {len(subs)} operands in the equation but {len(shapes)} given")
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in string.ascii_letters if c not in used]
    ell_len = 0
    for s, shape in zip(subs, shapes):
        if "..." in s:
            ell_len = max(ell_len, len(shape) - (len(s) - 3))
    ell = "".join(spare[:ell_len])
    out_subs = []
    for s, shape in zip(subs, shapes):
        if "..." in s:
            n = len(shape) - (len(s) - 3)
            s = s.replace("...", ell[ell_len - n:] if n else "")
        if len(s) != len(shape):
            raise RuntimeError(f"einsum(): subscripts {s!r} do not match operand of shape {tuple(shape)}")
        out_subs.append(s)
    if rhs is None:
        counts = {}
        for c in "".join(out_subs):
            counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return tuple(out_subs), rhs


def einsum(equation: str, *operands):
    """Einstein summation (numpy's notation, ellipsis included); differentiable in every operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = tuple(t if is_tensor(t) else constant(xp.asarray(t)) for t in operands)
    subs, rhs = _parse_einsum(equation, [t.shape for t in operands])
    sizes = {}
    for sub, t in zip(subs, operands):
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise RuntimeError(
                    f"einsum(): operands do not broadcast for subscript {c!r}: sizes {sizes[c]} and {n} "
                    f"(equation {equation!r}, shapes {[tuple(t.shape) for t in operands]})"
                )
    eq = ",".join(subs) + "->" + rhs
    return einsum_(operands, eq, (subs, rhs))


def outer(a, b):
    """Outer product of two 1-D tensors."""
    return a.reshape(-1, 1) * b.reshape(1, -1)


def dot(a, b):
    """Inner product of two 1-D tensors."""
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


def mm(a, b):
    """Matrix product of two 2-D tensors."""
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    """Batched matrix product of two 3-D tensors."""
    if a.ndim != 3 or b.ndim != 3:
        raise RuntimeError(f"bmm: expected 3D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    """Matrix-vector product."""
    return matmul(a, v)
