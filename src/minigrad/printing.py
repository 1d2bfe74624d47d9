"""``repr`` of tensors, laid out as PyTorch lays them out.

One width for every element of a tensor, so columns line up: a negative number's sign
widens the width and the positive numbers are padded by a space. The notation is chosen
once per tensor from its nonzero finite values:

- all integral (floats): ``1.``, ``-3.`` (scientific if they span more than 1000x or exceed 1e8);
- scientific ``1.2346e+05`` when the values span more than 1000x, exceed 1e8, or go below 1e-4;
- otherwise fixed with 4 decimals.

Past 1000 elements only the first and last 3 items of each dimension are shown, with ``...``
between (the notation is chosen from those shown). Rows wrap at 80 characters.
"""

from __future__ import annotations

import math

from . import backend as B
from . import dtypes as D

xp = B.xp

PRECISION = 4
THRESHOLD = 1000  # more elements than this: summarise
EDGEITEMS = 3
LINEWIDTH = 80


def _summarized(arr):
    """The elements a summarised print shows (the first and last EDGEITEMS along every dim)."""
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * EDGEITEMS:
        arr = xp.concatenate([arr[:EDGEITEMS], arr[-EDGEITEMS:]])
    if arr.ndim == 1:
        return arr
    return xp.stack([_summarized(a) for a in arr])


class _Formatter:
    """Chooses the notation and the common width of a tensor's elements."""

    def __init__(self, arr) -> None:
        self.floating = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = arr.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        vals = flat[xp.isfinite(flat) & (flat != 0)].astype(xp.float64)
        if vals.size == 0:
            return
        mags = xp.abs(vals)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(xp.all(vals == xp.ceil(vals)))
        if self.int_mode:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
            texts = (self._sci(v) for v in vals.tolist()) if self.sci_mode else \
                (f"{v:.0f}." for v in vals.tolist())
        else:
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
            texts = ((self._sci(v) if self.sci_mode else f"{v:.{PRECISION}f}") for v in vals.tolist())
        self.width = max([self.width] + [len(t) for t in texts])

    @staticmethod
    def _sci(v: float) -> str:
        return f"{v:.{PRECISION}e}"

    def format(self, v) -> str:
        if not self.floating:
            text = str(v)
        elif self.sci_mode:
            text = self._sci(v)
        elif self.int_mode:
            text = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            text = f"{v:.{PRECISION}f}"
        return text.rjust(self.width)


def _vector(arr, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))  # ", " between elements
    if summarize and arr.shape[0] > 2 * EDGEITEMS:
        items = [fmt.format(v) for v in arr[:EDGEITEMS].tolist()] + [" ..."] + \
            [fmt.format(v) for v in arr[-EDGEITEMS:].tolist()]
    else:
        items = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(arr, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector(arr, indent, summarize, fmt)
    n = arr.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = [_nested(arr[i], indent + 1, summarize, fmt) for i in range(EDGEITEMS)] + ["..."] + \
            [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n - EDGEITEMS, n)]
    else:
        rows = [_nested(arr[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_array(arr, indent: int = 7) -> str:
    """The bracketed body of a tensor's repr (``indent``: the columns before it, ``tensor(``)."""
    if (arr.dtype.kind == "f" and arr.dtype.itemsize < 4) or arr.dtype.name == "bfloat16":
        arr = arr.astype(xp.float32)  # half precision is printed through float32, as PyTorch does
    summarize = arr.size > THRESHOLD
    fmt = _Formatter(_summarized(arr) if summarize else arr)
    return _nested(arr, indent, summarize, fmt)


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    """Append ``, suffix`` items, starting a new line where the line would pass LINEWIDTH."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            parts.append(", " + s)
            last += len(s) + 2
    return "".join(parts) + ")"


def tensor_repr(t) -> str:
    """``repr(t)``: ``tensor([...], dtype=..., grad_fn=<...>)`` as PyTorch writes it."""
    arr = t._data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if arr.__class__ is not B.ndarray:  # printed from a host copy; the device named first, as PyTorch
        suffixes.append(f"device='{t.device}'")
        arr = B.backend_of(arr).to_host(arr)
    dtype_text = f"dtype=minigrad.{xp.dtype(arr.dtype).name}"
    default = arr.dtype == D.default_float()
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if not default:  # no element shows whether it is an integer
            suffixes.append(dtype_text)
        body = "[]"
    else:
        if not (default or arr.dtype == B.int64 or arr.dtype == B.bool_):
            suffixes.append(dtype_text)
        body = format_array(arr, indent)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
