"""``repr`` of tensors in PyTorch's style."""

from __future__ import annotations

from . import backend as B
from . import dtypes as D

xp = B.xp


def _format_array(arr) -> str:
    if arr.dtype.kind == "f":
        finite = arr[xp.isfinite(arr)]
        if finite.size and (xp.abs(finite).max() >= 1e8 or (xp.abs(finite[finite != 0]).min(initial=1) < 1e-4)):
            fmt = {"float_kind": lambda v: f"{v:.4e}"}
        elif finite.size and xp.all(finite == xp.round(finite)):
            fmt = {"float_kind": lambda v: f"{v:.0f}."}
        else:
            fmt = {"float_kind": lambda v: f"{v:.4f}"}
        return xp.array2string(arr, separator=", ", formatter=fmt, prefix="tensor(", threshold=1000, edgeitems=3)
    if arr.dtype.kind == "b":
        return xp.array2string(arr, separator=", ", prefix="tensor(", formatter={"bool": lambda v: str(bool(v))},
                               threshold=1000, edgeitems=3)
    return xp.array2string(arr, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)


def tensor_repr(t) -> str:
    arr = t._data
    body = _format_array(arr)
    extras = []
    if arr.size == 0:
        extras.append(f"size={tuple(arr.shape)}")
    default = D.get_default_dtype()
    if not ((arr.dtype == default) or arr.dtype == B.int64 or arr.dtype == B.bool_):
        extras.append(f"dtype=minigrad.{arr.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"
