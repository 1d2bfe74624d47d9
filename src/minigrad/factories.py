"""Tensor factories, as PyTorch names them."""

from __future__ import annotations

import builtins

from . import backend as B
from . import dtypes as D
from .tensor import Tensor, as_array, check_device

xp = B.xp


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, B.generic)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _finish(arr, requires_grad: bool, device) -> Tensor:
    check_device(device)
    t = Tensor._make(arr, False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, ndarray or Tensor)."""
    return _finish(as_array(data, dtype), requires_grad, device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares a numpy array's memory when no cast is needed."""
    if isinstance(data, Tensor) and (dtype is None or D.as_dtype(dtype) == data.dtype):
        return data
    if isinstance(data, B.ndarray) and (dtype is None or D.as_dtype(dtype) == data.dtype):
        return _finish(data, False, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory."""
    if not isinstance(array, B.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return Tensor._make(array, False, None)


def _float_dtype(dtype):
    d = D.as_dtype(dtype)
    return D.get_default_dtype() if d is None else d


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.ones(_size(size), dtype=_float_dtype(dtype)), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    d = D.as_dtype(dtype)
    if d is None:
        d = D.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _finish(xp.full(_size((size,) if isinstance(size, int) else (tuple(size),)), fill_value, dtype=d),
                   requires_grad, device)


def _like(x, dtype):
    return x.dtype if dtype is None else D.as_dtype(dtype)


def zeros_like(x, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.zeros(x.shape, dtype=_like(x, dtype)), requires_grad, device)


def ones_like(x, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.ones(x.shape, dtype=_like(x, dtype)), requires_grad, device)


def empty_like(x, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(x, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.full(x.shape, fill_value, dtype=_like(x, dtype)), requires_grad, device)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    d = _float_dtype(dtype)
    return _finish(B.rng().random(_size(size)).astype(d), requires_grad, device)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples."""
    d = _float_dtype(dtype)
    return _finish(B.rng().standard_normal(_size(size)).astype(d), requires_grad, device)


def rand_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(x.shape, dtype=_like(x, dtype), requires_grad=requires_grad)


def randn_like(x, *, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(x.shape, dtype=_like(x, dtype), requires_grad=requires_grad)


def randint(low, high=None, size=None, *, dtype=None, device=None, requires_grad: bool = False,
            generator=None) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    d = D.as_dtype(dtype) or B.int64
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _finish(B.rng().integers(low, high, _size((tuple(size),))).astype(d), requires_grad, device)


def randperm(n: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(B.rng().permutation(n).astype(D.as_dtype(dtype) or B.int64), requires_grad, device)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a float is given."""
    if end is None:
        start, end = 0, start
    d = D.as_dtype(dtype)
    if d is None:
        is_int = all(isinstance(v, (int, B.generic)) and not isinstance(v, (float,)) and
                     (not isinstance(v, B.generic) or v.dtype.kind in "iu") for v in (start, end, step))
        d = B.int64 if is_int else D.get_default_dtype()
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    n = builtins.max(0, int(-(-(end - start) // step)))
    arr = (xp.arange(n, dtype=B.float64) * step + start).astype(d)
    return _finish(arr, requires_grad, device)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    return _finish(xp.logspace(start, end, steps, base=base).astype(_float_dtype(dtype)), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _finish(xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad, device)
