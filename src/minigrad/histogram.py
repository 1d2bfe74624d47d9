"""``histogram`` and ``histc``: counts of values in bins, with PyTorch's CPU rules.

Neither is differentiable (PyTorch has no gradient for them either); the results are plain
tensors of the input's floating dtype. The rules, as ATen's CPU kernel:

- every bin includes its left edge and excludes its right one, except the last, which
  includes both; values outside ``[first edge, last edge]`` and NaN are not counted;
- an integer ``bins`` gives equal-width edges by ``linspace`` over ``range`` (default: the
  input's min and max; ``[0, 1]`` for an empty input; a zero-width range is widened by 0.5
  on each side); values are placed by linear interpolation and then checked against the
  neighbouring edges, so a count always agrees with the edges returned;
- a tensor ``bins`` gives the edges themselves (increasing), searched by bisection;
- ``density=True`` divides by the total weight and by each bin's width.

Counts and edges are PyTorch's to the bit. Float weights are summed in element order; PyTorch
splits inputs over 200 elements between threads, and sums a density's total in its own order,
so weighted results can differ from it in the last bits.

``histc(input, bins=100, min=0, max=0)`` is the legacy form: ``min == max`` means the data's
range (widened by 1 on each side if that is empty too), values are placed by linear
interpolation alone, and only the counts are returned.
"""

from __future__ import annotations

import math
from collections import namedtuple
from fractions import Fraction
from typing import TYPE_CHECKING

from . import backend as B
from .ops.registry import is_tensor, make_tensor

if TYPE_CHECKING:
    from .tensor import Tensor

xp = B.xp

histogram_result = namedtuple("histogram", ["hist", "bin_edges"])


def _float_input(input, name: str):
    if not is_tensor(input):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    arr = input._data
    if arr.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got dtype {input.dtype} "
                           f"(\"{name}_cpu\" not implemented for it)")
    return arr


def _fused(a: float, b: float, c: float, dt):
    """``a * b + c`` rounded once to ``dt``, as a fused multiply-add does (exact rational arithmetic).

    For float32 the double is rounded to odd first, so the second rounding cannot go wrong.
    """
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    d = float(exact)
    if dt == xp.float32 and Fraction(d) != exact and int(xp.float64(d).view(xp.int64)) % 2 == 0:
        d = float(xp.nextafter(d, math.inf if exact > d else -math.inf))
    return dt.type(d)


def _linspace(start: float, end: float, steps: int, dt):
    """``steps`` equal steps from ``start`` to ``end`` in ``dt``, as PyTorch's CPU ``linspace`` writes
    them: the first half ``start + step * i``, the second ``end - step * (steps - 1 - i)``, each a
    fused multiply-add (the AVX2 build contracts them), so the edges are PyTorch's to the bit.
    """
    start, end = dt.type(start), dt.type(end)
    if steps == 1:
        return xp.asarray([start], dtype=dt)
    step = (end - start) / dt.type(steps - 1)
    half = steps // 2
    vals = [_fused(float(step), i, float(start), dt) if i < half
            else _fused(-float(step), steps - 1 - i, float(end), dt) for i in range(steps)]
    return xp.asarray(vals, dtype=dt)


def _outer_edges(arr, range) -> tuple[float, float]:
    if range is not None:
        if len(range) != 2:
            raise RuntimeError(f"torch.histogramdd: for a 1-dimensional histogram range should have 2 elements, "
                               f"but got {len(range)}")
        lo, hi = float(range[0]), float(range[1])
    elif arr.size:
        lo, hi = float(arr.min()), float(arr.max())
    else:
        lo, hi = 0.0, 1.0  # numpy.histogram's default for empty input
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension 0's range [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo} max {hi} for dimension 0")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _linear_positions(x, edges, local_search: bool):
    """Bin index of each in-range value of ``x`` for equal-width ``edges`` (in ``x``'s dtype)."""
    dt = x.dtype
    n_edges = edges.shape[0]
    left, right = edges[0], edges[-1]
    pos = ((x - left) * dt.type(n_edges - 1) / (right - left)).astype(xp.int64)
    if local_search:
        # The first edge greater than x among edges[pos-1 : pos+2] decides (ATen's upper_bound).
        lo = xp.maximum(pos - 1, 0)
        hi = xp.minimum(pos + 2, n_edges)
        count = xp.zeros_like(pos)
        for k in (pos - 1, pos, pos + 1):
            inside = (k >= lo) & (k < hi)
            count += inside & (edges[xp.clip(k, 0, n_edges - 1)] <= x)
        pos = lo + count - 1
    return pos


def _count(x, pos, weight, n_bins: int, dt):
    hist = xp.zeros(n_bins, dtype=dt)
    pos = xp.where(pos == n_bins, n_bins - 1, pos)  # the last bin includes its right edge
    xp.add.at(hist, pos, dt.type(1) if weight is None else weight)
    return hist


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None,
              density: bool = False) -> histogram_result:
    """Histogram of ``input``'s values: ``(hist, bin_edges)``.

    ``bins``: an int (that many equal-width bins over ``range``, default the data's min to max)
    or a 1-D tensor of increasing edges. ``weight``: one weight per element (default 1).
    ``density``: divide by the total weight and the bin widths, so the histogram integrates to 1.
    """
    arr = _float_input(input, "histogram")
    dt = arr.dtype
    x = arr.reshape(-1)
    w = None
    if weight is not None:
        wa = weight._data if is_tensor(weight) else xp.asarray(weight)
        if wa.dtype != dt:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                               f"should have the same dtype, but got input({input.dtype}), and weight({wa.dtype})")
        if wa.shape != arr.shape and not (wa.size == arr.size == 1):
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as "
                               f"the input tensor, but got input with shape {list(arr.shape)} and weight with shape "
                               f"{list(wa.shape)}")
        w = wa.reshape(-1)
    if is_tensor(bins):
        edges = bins._data
        if edges.dtype != dt:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                               f"input with dtype {input.dtype} and bins for dimension 0 with dtype {bins.dtype}")
        if edges.ndim != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {edges.ndim} "
                               "dimensions in the bins tensor for dimension 0")
        if edges.shape[0] < 1:
            raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got 0 elements "
                               "in the bins tensor for dimension 0")
        if edges.shape[0] < 2:
            raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension 0")
        edges = edges.copy()
        keep = (x >= edges[0]) & (x <= edges[-1])
        xk = x[keep]
        pos = xp.searchsorted(edges, xk, side="right") - 1
    else:
        if not isinstance(bins, int) or isinstance(bins, bool):
            raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
        lo, hi = _outer_edges(arr, range)
        edges = _linspace(lo, hi, bins + 1, dt)
        keep = (x >= edges[0]) & (x <= edges[-1])
        xk = x[keep]
        pos = _linear_positions(xk, edges, local_search=True)
    hist = _count(xk, pos, None if w is None else w[keep], edges.shape[0] - 1, dt)
    if density:
        hist = hist / dt.type(hist.sum())
        hist = hist / xp.diff(edges)
    return histogram_result(make_tensor(hist, False, None), make_tensor(edges, False, None))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of ``input``'s values in ``bins`` equal-width bins over ``[min, max]`` (legacy form of
    ``histogram``); ``min == max`` (the default) uses the data's own min and max."""
    arr = _float_input(input, "histc")
    dt = arr.dtype
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo == hi and arr.size:
        lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if not lo < hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    edges = _linspace(lo, hi, bins + 1, dt)
    x = arr.reshape(-1)
    xk = x[(x >= edges[0]) & (x <= edges[-1])]
    pos = _linear_positions(xk, edges, local_search=False)
    return make_tensor(_count(xk, pos, None, bins, dt), False, None)
