"""Tensor factories, as PyTorch names them."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from . import backend as B
from . import dtypes as D
from . import random as R
from .ops.registry import is_tensor, make_tensor

if TYPE_CHECKING:
    from .tensor import Tensor

# Every factory builds its array on the host (numpy, as PyTorch's CPU kernels would: the same
# values and random streams) and ``_finish`` moves it to the device asked for.
xp = B.xp
_ndarray = B.ndarray


def _is_python_data(data) -> bool:
    if isinstance(data, (list, tuple)):
        return all(_is_python_data(d) for d in data)
    return isinstance(data, (bool, int, float))


def as_array(data, dtype=None):
    """The ndarray ``tensor(data, dtype=dtype)`` holds (always a fresh copy)."""
    dtype = D.as_dtype(dtype)
    if is_tensor(data):
        arr = data._data
        return arr.astype(dtype) if dtype is not None else arr.copy()
    if isinstance(data, _ndarray):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"tensor(): can't convert np.ndarray of type {data.dtype}; "
                            "supported: bool, integer and floating types")
        return data.astype(dtype) if dtype is not None else data.copy()
    if isinstance(data, str) or isinstance(data, bytes):
        raise TypeError(f"tensor(): new(): invalid data type 'str' (got {data!r})")
    python = _is_python_data(data)
    try:
        arr = xp.array(data)
    except ValueError as e:
        raise ValueError(f"tensor(): {_ragged(data) or 'expected a rectangular (non-ragged) nested sequence'} "
                         f"({e})") from None
    if arr.dtype.kind not in "biuf":
        kind = "'str'" if arr.dtype.kind in "US" else str(arr.dtype)
        raise TypeError(f"tensor(): new(): invalid data type {kind} (data must be numbers or bools)")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if python and arr.dtype.kind == "f":
        return arr.astype(D.default_float(), copy=False)
    if arr.dtype.kind in "iu" and python:
        return arr.astype(B.int64, copy=False)
    return arr


def _ragged(data, dim: int = 0):
    """PyTorch's description of where a nested list is ragged, or None."""
    if not isinstance(data, (list, tuple)) or not data:
        return None
    lens = [len(d) if isinstance(d, (list, tuple)) else None for d in data]
    for m in lens[1:]:
        if m != lens[0]:
            return f"expected sequence of length {lens[0]} at dim {dim + 1} (got {m})"
    for d in data:
        r = _ragged(d, dim + 1)
        if r:
            return r
    return None


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, B.generic)) or isinstance(s, bool):
            raise TypeError(f"size must be a tuple of ints, got {size!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _finish(arr, requires_grad: bool, device, like=None) -> Tensor:
    """The tensor of the host array ``arr`` on ``device`` (None: ``like``'s device, or the CPU)."""
    if device is not None or like is None:
        bk = B.backend_for(device)
    else:
        bk = B.backend_of(like._data)
    t = make_tensor(B.to_backend(arr, bk), False, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, ndarray or Tensor)."""
    return _finish(as_array(data, dtype), requires_grad, device, data if is_tensor(data) else None)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares a numpy array's memory when no cast is needed."""
    if is_tensor(data) and (dtype is None or D.as_dtype(dtype) == data._data.dtype):
        return data if device is None else data.to(device)
    if isinstance(data, B.ndarray) and (dtype is None or D.as_dtype(dtype) == data.dtype):
        return _finish(data, False, device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory."""
    if not isinstance(array, B.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    return make_tensor(array, False, None)


def _float_dtype(dtype):
    d = D.as_dtype(dtype)
    return D.default_float() if d is None else d


def _sizes(sizes: tuple, size, name: str) -> tuple:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))``."""
    if size is not None:
        if sizes:
            raise TypeError(f"{name}() got the size both as positional arguments {sizes} and as size={size}")
        sizes = (size,) if isinstance(size, int) else (tuple(size),)
    return _size(sizes)


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size (``zeros(2, 3)``, ``zeros((2, 3))``, ``zeros(size=(2, 3))``)."""
    shape = _sizes(sizes, size, "zeros")
    return _finish(xp.zeros(shape, dtype=_float_dtype(dtype)), requires_grad, device)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size."""
    shape = _sizes(sizes, size, "ones")
    return _finish(xp.ones(shape, dtype=_float_dtype(dtype)), requires_grad, device)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given size (minigrad fills it with zeros)."""
    shape = _sizes(sizes, size, "empty")
    return _finish(xp.zeros(shape, dtype=_float_dtype(dtype)), requires_grad, device)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given size filled with ``fill_value`` (its dtype inferred as PyTorch does)."""
    d = D.as_dtype(dtype)
    if d is None:
        d = D.scalar_dtype(fill_value.item() if is_tensor(fill_value) else fill_value)
    return _finish(xp.full(_size((size,) if isinstance(size, int) else (tuple(size),)), fill_value, dtype=d),
                   requires_grad, device)


def _host(t: Tensor):
    """``t``'s data as a host (numpy) array."""
    return B.backend_of(t._data).to_host(t._data)


def _like(x, dtype):
    return x._data.dtype if dtype is None else D.as_dtype(dtype)


def zeros_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _finish(xp.zeros(x.shape, dtype=_like(x, dtype)), requires_grad, device, x)


def ones_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return _finish(xp.ones(x.shape, dtype=_like(x, dtype)), requires_grad, device, x)


def empty_like(x, *, dtype=None, device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    return zeros_like(x, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    return _finish(xp.full(x.shape, fill_value, dtype=_like(x, dtype)), requires_grad, device, x)


# -- random factories: each draws from ``generator`` (default: minigrad's default generator)
#    exactly as PyTorch's CPU kernels draw, so a seed gives PyTorch's numbers.

def _dev_type(device) -> str:
    """The device type (``'cpu'``, ``'cuda'``) whose default generator a draw for ``device`` uses."""
    return B.backend_for(device).device_type


def _random_float_dtype(dtype, name: str):
    d = _float_dtype(dtype)
    if d.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point dtype, got {d}")
    return d


def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) (PyTorch's stream: ``torch.rand``)."""
    shape = _sizes(sizes, size, "rand")
    d = _random_float_dtype(dtype, "rand")
    return _finish(R.uniform(R._gen(generator, _dev_type(device)), shape, d), requires_grad, device)


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples (PyTorch's stream: ``torch.randn``)."""
    shape = _sizes(sizes, size, "randn")
    d = _random_float_dtype(dtype, "randn")
    return _finish(R.normal(R._gen(generator, _dev_type(device)), shape, d), requires_grad, device)


def rand_like(x, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    """``rand`` with the shape (and, by default, dtype) of ``x``."""
    return rand(x.shape, generator=generator, dtype=_like(x, dtype), device=device or x.device,
                requires_grad=requires_grad)


def randn_like(x, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    """``randn`` with the shape (and, by default, dtype) of ``x``."""
    return randn(x.shape, generator=generator, dtype=_like(x, dtype), device=device or x.device,
                requires_grad=requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (PyTorch's stream: ``word % (high - low) + low``)."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    d = D.as_dtype(dtype) or B.int64
    shape = _size((tuple(size),) if isinstance(size, (tuple, list)) else (size,))
    gen = R._gen(generator, _dev_type(device))
    return _finish(R.random_from_to(gen, shape, d, int(low), int(high)), requires_grad, device)


def randint_like(x, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad: bool = False, memory_format=None) -> Tensor:
    """``randint`` with the shape (and, by default, dtype) of ``x``: ``randint_like(x, high)``
    or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, x.shape, generator=generator, dtype=_like(x, dtype), device=device or x.device,
                   requires_grad=requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """A random permutation of 0..n-1 (PyTorch's CPU Fisher-Yates on the same stream)."""
    perm = R.randperm(R._gen(generator, _dev_type(device)), int(n))
    return _finish(perm.astype(D.as_dtype(dtype) or B.int64, copy=False), requires_grad, device)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples: ``normal(mean, std)`` with tensors (broadcast) or numbers, or
    ``normal(mean, std, size)`` with numbers (PyTorch's stream and arithmetic)."""
    mt, st = is_tensor(mean), is_tensor(std)
    like = mean if mt else std if st else None
    if device is None and like is not None:
        device = like.device
    gen = R._gen(generator, _dev_type(device))
    if not (mt or st):
        if size is None:
            raise TypeError("normal(mean, std) with numbers needs a size")
        shape = _size((tuple(size),) if isinstance(size, (tuple, list)) else (size,))
        d = _random_float_dtype(dtype, "normal")
        return _finish(R.normal(gen, shape, d, float(mean), float(std)), requires_grad, device)
    if st and bool((std._data < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if mt and not st:  # ATen: normal_(0, std), then + mean
        m = _host(mean)
        out = R.normal(gen, m.shape, m.dtype, 0.0, float(std)) + m
    else:
        s = _host(std)
        m = _host(mean) if mt else xp.asarray(mean, dtype=s.dtype)
        shape = xp.broadcast_shapes(m.shape, s.shape)
        dt = m.dtype if mt else s.dtype
        out = (R.normal(gen, shape, dt) * s).astype(dt, copy=False) + m  # normal_(0, 1) * std + mean
    return _finish(out.astype(out.dtype if not mt else mean.dtype, copy=False), requires_grad, device)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 samples: with probability ``input`` elementwise, or with the number ``p``."""
    gen = R._gen(generator, input.device.type)
    a = _host(input)
    if p is None:
        return _finish(R.bernoulli_tensor(gen, a.shape, a.dtype, a), False, None, input)
    return _finish(R.bernoulli_scalar(gen, a.shape, a.dtype, float(p)), False, None, input)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless a float is given."""
    if end is None:
        start, end = 0, start
    d = D.as_dtype(dtype)
    if d is None:
        is_int = all(isinstance(v, (int, B.generic)) and not isinstance(v, (float,)) and
                     (not isinstance(v, B.generic) or v.dtype.kind in "iu") for v in (start, end, step))
        d = B.int64 if is_int else D.default_float()
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


def multinomial(probs, num_samples, replacement=False, *, generator=None):
    """Indices sampled from the rows of ``probs`` (weights, not necessarily normalised), drawn
    as PyTorch's CPU kernel: without replacement (or for one sample) the exponential trick,
    ``argmax``/``topk`` of ``probs / q`` with ``q ~ Exp(1)``; with replacement a search of
    each row's normalised running sums for float64 uniforms."""
    p = _host(probs)  # (drawn on the host, as every random factory)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {tuple(probs.shape)}")
    if p.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got {p.dtype}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > p.shape[-1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement ({num_samples} > {p.shape[-1]})")
    if (p < 0).any() or not xp.isfinite(p).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    gen = R._gen(generator, probs.device.type)
    if not replacement or num_samples == 1:
        tok = B.fp_var_set(B.FP_IGNORE)  # a zero weight over q gives 0, never a warning
        try:
            q = rows / R.exponential(gen, rows.shape, rows.dtype)
        finally:
            B.fp_var_reset(tok)
        if num_samples == 1:
            result = q.argmax(-1)[:, None]
        else:
            result = xp.argsort(-q, axis=-1, kind="stable")[:, :num_samples]
    else:
        result = R.multinomial_with_replacement(gen, rows, num_samples)
    return _finish(result.astype(B.int64).reshape(p.shape[:-1] + (num_samples,)), False, None, probs)
