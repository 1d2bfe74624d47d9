"""PyTorch's CPU random stream, bit for bit.

A ``Generator`` is a Mersenne Twister (mt19937, seeded with the classic ``init_genrand``)
plus the one cached Box-Muller sample that PyTorch's CPU generator keeps. The samplers below
turn its 32-bit words into numbers exactly as ATen's CPU kernels do (the same words, in the
same order, through the same float32/float64 arithmetic), so ``manual_seed(0); randn(3)``
prints what PyTorch prints. Every sampler draws its words in bulk and transforms them as
array arithmetic.

Where ATen's arithmetic is not plain numpy arithmetic, the helpers here reproduce it:

- ATen's x86-64 kernels are compiled with contraction to fused multiply-add, so
  ``x * (b - a) + a`` rounds once: ``_fma32``/``_fma64`` give a correctly rounded
  ``a * b + c`` (round-to-odd of an exact sum, then one rounding; Boldo & Melquiond).
- ``randn``/``normal_`` on 16 or more contiguous float32 values run ATen's AVX2 Box-Muller,
  whose log/sin/cos are Cephes polynomials (``avx_mathfun.h``): ``_log_avx2`` and
  ``_sincos_avx2`` evaluate the same polynomials in float32 with the same fused steps.

Matched against PyTorch 2.x on x86-64 with AVX2 (the wheels' normal build). Two places
where PyTorch itself gives other numbers on other machines: ``bernoulli_(p)`` with a float
``p`` (and so dropout masks) on Intel CPUs with MKL, which draws from MKL's own stream
seeded by one word of this one; and float32 ``normal_`` on builds without AVX2 (e.g. ARM).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings

from . import backend as B
from .backend import _CPU, check_device, device
from .ops.registry import make_tensor

np = B.xp  # the CPU generator always works on host arrays

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "fork_rng"]

_N = 624  # words of Mersenne Twister state
_DEFAULT_SEED = 67280421310721  # what a fresh torch.Generator() starts from
_U64 = np.uint64
_MASK24 = _U64((1 << 24) - 1)
_MASK53 = _U64((1 << 53) - 1)
_SHIFT32 = _U64(32)

# torch.Generator.get_state()'s bytes: ATen's CPUGeneratorImplState, a C struct kept for
# old checkpoints (the state words are stored widened to 64 bits).
_STATE = np.dtype({
    "names": ["seed", "left", "seeded", "next", "state", "normal_x", "normal_y", "normal_rho",
              "normal_is_valid", "next_float", "next_float_valid"],
    "formats": ["<u8", "<i4", "<i4", "<u8", ("<u8", _N), "<f8", "<f8", "<f8", "<i4", "<f4", "u1"],
    "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
    "itemsize": 5056,
})
STATE_SIZE = _STATE.itemsize


def _init_genrand(seed32: int) -> list:
    """The classic mt19937 seeding (Matsumoto & Nishimura's init_genrand)."""
    key = [seed32]
    for i in range(1, _N):
        prev = key[-1]
        key.append((1812433253 * (prev ^ (prev >> 30)) + i) & 0xFFFFFFFF)
    return key


def _as_seed(seed, name: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, B.generic)) or \
            (isinstance(seed, B.generic) and seed.dtype.kind not in "iu"):
        raise RuntimeError(f"{name} expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError(f"{name}: seed {seed} is outside the 64-bit range [-2**63, 2**64)")
    return seed & 0xFFFFFFFFFFFFFFFF  # negative seeds wrap, as PyTorch's uint64 does


class Generator:
    """A random number generator with PyTorch's CPU stream (``torch.Generator``).

    ``Generator(device='cpu')`` starts from seed 67280421310721, as PyTorch's does. Pass it as
    ``generator=`` to any random function to draw from it instead of the default generator.

    Examples:
        >>> g = minigrad.Generator().manual_seed(2147483647)
        >>> minigrad.randn(3, generator=g)      # PyTorch's numbers for that seed
        tensor([-0.9800, -1.6578, -0.0572])
    """

    __slots__ = ("_bits", "_seed", "_fresh", "_next_double", "_next_float", "_device")

    def __init__(self, device="cpu") -> None:
        self._device = check_device(device).device_type  # a 'cuda' generator needs CUDA, as PyTorch's
        self._bits = np.random.MT19937(0)  # state overwritten just below
        self.manual_seed(_DEFAULT_SEED)

    @property
    def device(self):
        """The device this generator draws for. A ``'cuda'`` generator runs the same stream on
        the host and its numbers are copied to the GPU (PyTorch's CUDA Philox stream is not
        reproduced): after the same seed, CPU and CUDA draws agree."""
        return _CPU if self._device == "cpu" else device("cuda", 0)

    def manual_seed(self, seed: int) -> Generator:
        """Seed this generator (the low 32 bits seed the twister, as in PyTorch); returns it."""
        seed = _as_seed(seed, "manual_seed")
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": np.array(_init_genrand(seed & 0xFFFFFFFF), dtype=np.uint32),
                                      "pos": _N}}
        self._seed = seed
        self._fresh = True
        self._next_double = None
        self._next_float = None
        return self

    def seed(self) -> int:
        """Seed from a nondeterministic source; returns the seed used."""
        s = int.from_bytes(os.urandom(8), "little") & ((1 << 53) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def get_state(self):
        """The whole state as a uint8 tensor, in PyTorch's byte layout (5056 bytes)."""
        st = self._bits.state["state"]
        pos = int(st["pos"])
        rec = np.zeros((), dtype=_STATE)
        rec["seed"] = self._seed
        rec["left"] = 1 if pos == _N else _N + 1 - pos
        rec["seeded"] = 1
        rec["next"] = 0 if self._fresh else pos
        rec["state"] = st["key"].astype(np.uint64)
        if self._next_double is not None:
            rec["normal_y"], rec["normal_is_valid"] = self._next_double, 1
        if self._next_float is not None:
            rec["next_float"], rec["next_float_valid"] = self._next_float, 1
        return make_tensor(np.frombuffer(rec.tobytes(), dtype=np.uint8).copy(), False, None)

    def set_state(self, new_state) -> Generator:
        """Restore a state from ``get_state`` (this generator's, another's, or PyTorch's)."""
        arr = getattr(new_state, "_data", new_state)
        if not isinstance(arr, B.ndarray) or arr.dtype != B.uint8:
            raise TypeError(f"RNG state must be a uint8 tensor, got {type(new_state).__name__}"
                            + (f" of dtype {arr.dtype}" if isinstance(arr, B.ndarray) else ""))
        if arr.size != STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_SIZE} but found "
                               f"the input RNG state size to be {arr.size}")
        rec = np.frombuffer(np.ascontiguousarray(arr).reshape(-1).tobytes(), dtype=_STATE)[0]
        left, nxt = int(rec["left"]), int(rec["next"])
        if not (rec["seeded"] and 0 < left <= _N and nxt <= _N):
            raise RuntimeError("Invalid mt19937 state")
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": rec["state"].astype(np.uint32), "pos": _N if left == 1 else nxt}}
        self._seed = int(rec["seed"])
        self._fresh = left == 1 and nxt == 0
        self._next_double = float(rec["normal_y"]) if rec["normal_is_valid"] else None
        self._next_float = float(rec["next_float"]) if rec["next_float_valid"] else None
        return self

    def __repr__(self) -> str:
        return f"<minigrad.Generator object at {id(self):#x}>"

    # -- raw words -------------------------------------------------------------------
    def _u32(self, n: int):
        """``n`` words of the stream (ATen's ``random()``), as uint64."""
        if n <= 0:
            return np.zeros(0, dtype=np.uint64)
        self._fresh = False
        return self._bits.random_raw(n)

    def _u64(self, n: int):
        """``n`` 64-bit draws (ATen's ``random64()``: first word high, second low)."""
        w = self._u32(2 * n)
        return (w[0::2] << _SHIFT32) | w[1::2]


default_generator = Generator()
default_generator.seed()


_cuda: list = [None, None]  # [the CUDA default generator once made, a seed waiting for it]


def cuda_default_generator() -> Generator:
    """The CUDA device's default generator, made on first use (seeded by the last
    ``manual_seed``, or nondeterministically, as PyTorch's)."""
    if _cuda[0] is None:
        g = Generator("cuda")
        if _cuda[1] is None:
            g.seed()
        else:
            g.manual_seed(_cuda[1])
        _cuda[0] = g
    return _cuda[0]


def seed_cuda(seed: int | None) -> None:
    """Seed the CUDA default generator (``None``: nondeterministically); queued until it exists."""
    if _cuda[0] is not None:
        _cuda[0].seed() if seed is None else _cuda[0].manual_seed(seed)
    else:
        _cuda[1] = None if seed is None else _as_seed(seed, "manual_seed")


def _gen(generator, device_type: str = "cpu") -> Generator:
    """The generator to draw from for a tensor on ``device_type``: ``generator``, or that device's default."""
    if generator is None:
        return default_generator if device_type == "cpu" else cuda_default_generator()
    if not isinstance(generator, Generator):
        kind = type(generator)
        raise TypeError(f"generator must be a minigrad.Generator, got {kind.__module__}.{kind.__qualname__}")
    if generator._device != device_type:
        raise RuntimeError(f"Expected a '{device_type}' device type for generator but found '{generator._device}'")
    return generator


def manual_seed(seed) -> Generator:
    """Seed the default generator, and the CUDA one (``torch.manual_seed``); returns the CPU's."""
    if isinstance(seed, str):
        seed = int(seed)  # torch.manual_seed calls int() first, so '3' and 3.7 are accepted
    elif isinstance(seed, float):
        seed = int(seed)
    gen = default_generator.manual_seed(seed)
    seed_cuda(seed)
    return gen


def seed() -> int:
    """Seed the default generator nondeterministically; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's last seed."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a uint8 tensor, PyTorch's layout)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from ``get_rng_state``."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: str = "cuda"):
    """Run the block with the default generator's state saved, and restored after
    (``torch.random.fork_rng``; there are no CUDA generators to fork here)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


# ---------------------------------------------------------------------------------------
# float64 log/sin/cos/... as ATen calls them: the C library's (std::log, ::sin, ...)
# ---------------------------------------------------------------------------------------

def _numpy_float64_math_is_libm() -> bool:
    """numpy calls the C library for float64 log/sin/cos/... except where it dispatches its own
    AVX-512 kernels, which can differ from it in the last bit."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # pragma: no cover - other numpy layouts: take the safe path
        return False
    return not any(features.get(k) for k in ("AVX512F", "AVX512_SKX"))


_NUMPY_IS_LIBM = _numpy_float64_math_is_libm()


def _libm(name: str, x):
    """``math.<name>`` (the C library, as ATen) over a float64 array: numpy's ufunc where that
    is the same function, else one call per element."""
    if _NUMPY_IS_LIBM:
        return getattr(np, name)(x)
    x = np.asarray(x, dtype=np.float64)
    fn = getattr(math, name)
    return np.fromiter(map(fn, x.ravel().tolist()), dtype=np.float64, count=x.size).reshape(x.shape)


# ---------------------------------------------------------------------------------------
# Exact arithmetic helpers
# ---------------------------------------------------------------------------------------

def _round_odd_sum(a, b):
    """a + b rounded to odd (float64): exact sums stay, inexact ones take the odd neighbour."""
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)  # Knuth's TwoSum: a + b == s + err exactly
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s[fix] = np.nextafter(s[fix], np.where(err[fix] > 0, np.inf, -np.inf))
    return s


_LOW29 = np.int64((1 << 29) - 1)  # the float64 mantissa bits below float32's
_MID29 = np.int64(1 << 28)


def _fma32(a, b, c):
    """float32 ``a * b + c`` with one rounding. The product is exact in float64, so the float64
    sum is off only by its own rounding, which can mislead the final rounding to float32 just
    where that sum lands exactly halfway between two float32s: those few are redone exactly."""
    p = np.multiply(a, b, dtype=np.float64)
    s = p + c
    out = s.astype(np.float32)
    tie = (s.view(np.int64) & _LOW29) == _MID29
    if tie.any():
        idx = np.nonzero(tie)
        p = np.broadcast_to(p, s.shape)[idx]
        cc = np.broadcast_to(np.asarray(c, dtype=np.float64), s.shape)[idx]
        out[idx] = _round_odd_sum(p, cc).astype(np.float32)
    return out


_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitter


def _fma64(a, b, c):
    """float64 ``a * b + c`` with one rounding (Boldo & Melquiond's emulated FMA)."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                  np.asarray(c, np.float64))
    p = a * b
    t = _SPLIT * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLIT * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + e exactly
    hi = c + p
    bb = hi - c
    lo = (c - (hi - bb)) + (p - bb)
    return hi + _round_odd_sum(lo, e)


# ---------------------------------------------------------------------------------------
# Uniform floats (ATen's uniform_real_distribution)
# ---------------------------------------------------------------------------------------

_DIGITS = {B.float64: 53, B.float32: 24, B.float16: 11}


def _unit(gen: Generator, n: int, dt):
    """``n`` uniforms in [0, 1) as ATen makes them for dtype ``dt``: float64 takes 53 bits of
    a 64-bit draw; float32 (and float16) take the low 24 (11) bits of one 32-bit word."""
    if dt == B.float64:
        return (gen._u64(n) & _MASK53).astype(np.float64) * 2.0 ** -53
    digits = _DIGITS.get(dt, 24)
    return (gen._u32(n) & _U64((1 << digits) - 1)).astype(np.float32) * np.float32(2.0 ** -digits)


def uniform(gen: Generator, shape: tuple, dt, a: float = 0.0, b: float = 1.0):
    """``Tensor.uniform_(a, b)``: ``u * (b - a) + a`` in the dtype (float32 arithmetic for
    float32 and float16), fused as ATen's kernel is."""
    dt = np.dtype(dt)
    n = math.prod(shape)
    if dt not in _DIGITS:
        raise RuntimeError(f"uniform_ not implemented for '{dt}'")
    if not a <= b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    u = _unit(gen, n, dt)
    if dt == B.float64:
        out = u if (a, b) == (0.0, 1.0) else _fma64(u, b - a, a)
    else:
        fa, fb = np.float32(a), np.float32(b)
        out = u if (a, b) == (0.0, 1.0) else _fma32(u, fb - fa, fa)
    return out.astype(dt, copy=False).reshape(shape)


# ---------------------------------------------------------------------------------------
# Normal (ATen's normal_kernel: three paths)
# ---------------------------------------------------------------------------------------

def _normal_scalar(gen: Generator, n: int, mean: float, std: float):
    """ATen's ``normal_distribution<double>``: Box-Muller on two float64 uniforms, the sine
    cached in the generator for the next call; ``sample * std + mean`` fused."""
    out = np.empty(n, dtype=np.float64)
    start = 0
    if n and gen._next_double is not None:
        out[0] = gen._next_double
        gen._next_double = None
        start = 1
    pairs = (n - start + 1) // 2
    if pairs:
        u = _unit(gen, 2 * pairs, B.float64)
        u1, u2 = u[0::2], u[1::2]
        r = np.sqrt(-2.0 * _libm("log1p", -u2))
        theta = 2.0 * math.pi * u1
        both = np.empty(2 * pairs, dtype=np.float64)
        both[0::2] = r * _libm("cos", theta)
        both[1::2] = r * _libm("sin", theta)
        out[start:] = both[: n - start]
        if (n - start) % 2:
            gen._next_double = float(both[-1])
    return _fma64(out, std, mean) if (mean, std) != (0.0, 1.0) else out


def _fill16_double(blocks, mean: float, std: float) -> None:
    """ATen's ``normal_fill_16`` in float64 on rows of 16: Box-Muller of the first 8 (as
    ``1 - u``) with the last 8, cosines to the first half, sines to the second."""
    r = np.sqrt(-2.0 * _libm("log", 1.0 - blocks[:, :8]))
    theta = 2.0 * math.pi * blocks[:, 8:]
    blocks[:, :8] = _affine64(r * _libm("cos", theta), mean, std)
    blocks[:, 8:] = _affine64(r * _libm("sin", theta), mean, std)


def _affine64(x, mean: float, std: float):
    """``x * std + mean`` as one fused operation (x * 1 is exact: a plain add then)."""
    return x + mean if std == 1.0 else _fma64(x, std, mean)


_F = np.float32
_LOG_P = [_F(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                          3.3333331174e-1)]
_LOG_Q1, _LOG_Q2, _SQRTHF = _F(-2.12194440e-4), _F(0.693359375), _F(0.707106781186547524)
_DP = [_F(-0.78515625), _F(-2.4187564849853515625e-4), _F(-3.77489497744594108e-8)]
_SIN_P = [_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1)]
_COS_P = [_F(2.443315711809948e-5), _F(-1.388731625493765e-3), _F(4.166664568298827e-2)]
_FOPI = _F(1.27323954473516)  # 4 / pi
_HALF_BITS = int(np.array(0.5, dtype=np.float32).view(np.int32))


def _log_avx2(x):
    """Cephes' logf as ``avx_mathfun.h``'s log256_ps computes it (x in (0, 1] here)."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 127).astype(np.float32) + _F(1)
    x = ((bits & ~0x7F800000) | _HALF_BITS).view(np.float32)  # mantissa, scaled to [0.5, 1)
    small = x < _SQRTHF
    x = (x - _F(1)) + np.where(small, x, _F(0))
    e = e - np.where(small, _F(1), _F(0))
    z = x * x
    y = _fma32(_LOG_P[0], x, _LOG_P[1])
    for p in _LOG_P[2:]:
        y = _fma32(y, x, p)
    y = y * x
    y = _fma32(y, z, e * _LOG_Q1)
    y = _fma32(-z, _F(0.5), y)
    return _fma32(e, _LOG_Q2, x + y)


def _sincos_avx2(x):
    """Cephes' sinf/cosf as ``avx_mathfun.h``'s sincos256_ps computes them (x >= 0 here)."""
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    for dp in _DP:  # extended-precision reduction: x - j * pi / 4
        x = _fma32(y, dp, x)
    z = x * x
    c = _fma32(_COS_P[0], z, _COS_P[1])
    c = _fma32(c, z, _COS_P[2])
    c = _fma32(c * z, z, -(z * _F(0.5))) + _F(1)
    s = _fma32(_SIN_P[0], z, _SIN_P[1])
    s = _fma32(s, z, _SIN_P[2])
    s = _fma32(s * z, x, x)
    first = (j & 2) == 0  # which polynomial is the sine
    sin = np.where(first, s, c)
    cos = np.where(first, c, s)
    sin = np.where((j & 4) != 0, -sin, sin)
    cos = np.where((~(j - 2) & 4) != 0, -cos, cos)
    return sin, cos


_TWO_PI_F = _F(2.0 * math.pi)


def _fill16_float(blocks, mean: float, std: float) -> None:
    """ATen's ``normal_fill_16_AVX2`` on float32 rows of 16."""
    r = np.sqrt(_F(-2) * _log_avx2(_F(1) - blocks[:, :8]))
    sin, cos = _sincos_avx2(_TWO_PI_F * blocks[:, 8:])
    m, sd = _F(mean), _F(std)
    blocks[:, :8] = r * cos + m if sd == 1 else _fma32(r * cos, sd, m)
    blocks[:, 8:] = r * sin + m if sd == 1 else _fma32(r * sin, sd, m)


def normal(gen: Generator, shape: tuple, dt, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True):
    """``Tensor.normal_(mean, std)`` as ATen's CPU kernel: for 16 or more contiguous values,
    all uniforms first, Box-Muller on blocks of 16 (the last block redrawn when the size is
    not a multiple of 16); otherwise one cached Box-Muller sample at a time."""
    dt = np.dtype(dt)
    if dt not in _DIGITS:
        raise RuntimeError(f"normal_ not implemented for '{dt}'")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    n = math.prod(shape)
    if n < 16 or not contiguous or dt == B.float16:
        return _normal_scalar(gen, n, mean, std).astype(dt).reshape(shape)
    d = _unit(gen, n, dt)
    fill = _fill16_float if dt == B.float32 else _fill16_double
    whole = n - n % 16
    fill(d[:whole].reshape(-1, 16), mean, std)
    if n % 16:  # ATen redraws the last 16 values (overlapping the last whole block) and redoes them
        d[n - 16:] = _unit(gen, 16, dt)
        fill(d[n - 16:].reshape(1, 16), mean, std)
    return d.reshape(shape)


# ---------------------------------------------------------------------------------------
# Integers, permutations
# ---------------------------------------------------------------------------------------

# random_(from, to) takes 64-bit draws from this range up (measured on PyTorch 2.13: 2**28,
# for every dtype; older ATen sources say 2**32 and only int64/float dtypes)
_WIDE_RANGE = 1 << 28


def _float_bounds(dt, low: int, high: int) -> tuple[int, int]:
    """ATen's ``update_from``/``update_to``: for a float dtype, move ``low`` up and ``high``
    down past values the dtype cannot hold (so every sample is representable)."""
    digits = _DIGITS[dt]
    up = int(dt.type(low + 1))
    if up < low:
        low = up + (1 << (abs(low + 1).bit_length() - 1 - digits + 1))
    down = int(dt.type(high - 1))
    if down >= high:
        high = down - (1 << (abs(high - 1).bit_length() - 1 - digits + 1))
    return low, high


def _check_in_range(dt, low: int, high_inc: int) -> None:
    if dt.kind == "f":
        lim = 1 << _DIGITS[dt]
        for name, v in (("from", low), ("to - 1", high_inc)):
            if not -lim <= v <= lim:
                warnings.warn(f"{name} is out of bounds [-(2^{_DIGITS[dt]}), 2^{_DIGITS[dt]}]. Due to precision "
                              f"limitations {dt} can support discrete uniform distribution only within this "
                              "range.", UserWarning, stacklevel=4)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        for name, v in (("from", low), ("to - 1", high_inc)):
            if not info.min <= v <= info.max:
                raise RuntimeError(f"random_ expects '{name}' ({v}) to be within [{info.min}, {info.max}] "
                                   f"for dtype {dt}")


def random_from_to(gen: Generator, shape: tuple, dt, low: int, high: int | None):
    """``Tensor.random_(low, high)``: ``word % (high - low) + low``, the word 64-bit for
    ranges of 2**28 or more, else 32-bit. ``high=None`` means up to the
    dtype's largest value (2**mantissa for floats)."""
    dt = np.dtype(dt)
    if high is None:
        if dt.kind == "f":
            high = (1 << _DIGITS[dt]) + 1
            low = _float_bounds(dt, low, high)[0]
        else:
            high = 2 if dt == B.bool_ else int(np.iinfo(dt).max) + 1
    else:
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        if dt.kind == "f":
            low, high = _float_bounds(dt, low, high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' casted to dtype to be less than 'to' casted to dtype, "
                           f"but got from={low} >= to={high}")
    _check_in_range(dt, low, high - 1)
    rng = high - low
    n = math.prod(shape)
    words = gen._u64(n) if rng >= _WIDE_RANGE else gen._u32(n)
    if rng < 1 << 63:
        vals = (words % _U64(rng)).astype(np.int64) + np.int64(low)
    else:  # ranges past int64: exact Python integers (as ATen's unsigned arithmetic wraps)
        vals = np.array([((int(w) % rng) + low + (1 << 63)) % (1 << 64) - (1 << 63) for w in words], dtype=np.int64)
    return vals.astype(dt).reshape(shape)


def random_full(gen: Generator, shape: tuple, dt):
    """``Tensor.random_()``: [0, 2**63) for int64, [0, max] for other integers,
    [0, 2**mantissa] for floats, a bit for bool."""
    dt = np.dtype(dt)
    n = math.prod(shape)
    if dt == B.bool_:
        return (gen._u32(n) & _U64(1)).astype(bool).reshape(shape)
    if dt in (B.int64, B.float64):
        words = gen._u64(n)
    else:
        words = gen._u32(n)
    if dt.kind == "f":
        mod = (1 << _DIGITS[dt]) + 1
    else:
        mod = int(np.iinfo(dt).max) + 1
    return (words % _U64(mod)).astype(dt).reshape(shape)


def randperm(gen: Generator, n: int):
    """ATen's CPU ``randperm``: a Fisher-Yates pass, position i swapped with i + word % (n - i)
    (very large n take 64-bit words in the inside-out variant, as ATen does)."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    if n < 0xFFFFFFFF // 20:
        z = (gen._u32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        perm = list(range(n))
        for i, k in enumerate(z):  # the swaps depend on each other: a plain loop
            j = i + k
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
    z = (gen._u64(n) % np.arange(1, n + 1, dtype=np.uint64)).tolist()
    perm = [0] * n
    for i, k in enumerate(z):
        perm[i] = perm[k]
        perm[k] = i
    return np.array(perm, dtype=np.int64)


# ---------------------------------------------------------------------------------------
# Other distributions (ATen's float64 transforms, then cast)
# ---------------------------------------------------------------------------------------

def bernoulli_scalar(gen: Generator, shape: tuple, dt, p: float):
    """``Tensor.bernoulli_(p)`` with a number ``p``: one float64 uniform per element, < p."""
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    n = math.prod(shape)
    return (_unit(gen, n, B.float64) < p).astype(dt).reshape(shape)


def bernoulli_tensor(gen: Generator, shape: tuple, dt, p):
    """``Tensor.bernoulli_(p)`` with an array ``p`` (broadcast to ``shape``): float64 uniforms
    for a float64 ``p``, float32 (24-bit) uniforms otherwise."""
    p = np.broadcast_to(p, shape)
    if p.dtype.kind != "f":
        raise RuntimeError(f"bernoulli: expected a floating point probability tensor, got {p.dtype}")
    if p.size and (p.min() < 0 or p.max() > 1) or np.isnan(p).any():
        raise RuntimeError("bernoulli_: all elements of p must be in [0, 1]")
    udt = B.float64 if p.dtype == B.float64 else B.float32
    u = _unit(gen, p.size, udt).reshape(shape)
    return (u < p.astype(udt, copy=False)).astype(dt)


def exponential(gen: Generator, shape: tuple, dt, lambd: float = 1.0):
    """``Tensor.exponential_(lambd)``: ``-1 / lambd * log1p(-u)`` in float64."""
    if lambd <= 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    u = _unit(gen, math.prod(shape), B.float64)
    return ((-1.0 / lambd) * _libm("log1p", -u)).astype(dt).reshape(shape)


def geometric(gen: Generator, shape: tuple, dt, p: float):
    """``Tensor.geometric_(p)``: ``ceil(log(u) / log1p(-p))`` in float64."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = _unit(gen, math.prod(shape), B.float64)
    tok = B.fp_var_set(B.FP_IGNORE)  # u == 0 gives log 0 = -inf, as in ATen
    try:
        logs = _libm("log", u) if _NUMPY_IS_LIBM else np.array([math.log(v) if v else -math.inf for v in u.tolist()])
    finally:
        B.fp_var_reset(tok)
    return np.ceil(logs / math.log1p(-p)).astype(dt).reshape(shape)


def cauchy(gen: Generator, shape: tuple, dt, median: float = 0.0, sigma: float = 1.0):
    """``Tensor.cauchy_(median, sigma)``: ``median + sigma * tan(pi * (u - 0.5))``, fused."""
    u = _unit(gen, math.prod(shape), B.float64)
    return _fma64(sigma, _libm("tan", math.pi * (u - 0.5)), median).astype(dt).reshape(shape)


def log_normal(gen: Generator, shape: tuple, dt, mean: float = 1.0, std: float = 2.0):
    """``Tensor.log_normal_(mean, std)``: exp of the cached float64 Box-Muller samples."""
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    tok = B.fp_var_set(B.FP_IGNORE)  # overflow to inf, as in ATen
    try:
        z = _normal_scalar(gen, math.prod(shape), mean, std)
        e = _libm("exp", z) if _NUMPY_IS_LIBM else np.array([math.exp(v) if v < 710 else math.inf for v in z.tolist()])
    finally:
        B.fp_var_reset(tok)
    return e.astype(dt).reshape(shape)


def multinomial_with_replacement(gen: Generator, probs, num_samples: int):
    """ATen's CPU sampler with replacement: per row, the running sums in the input's dtype
    divided by their total, the last set to 1; each sample is the first index whose value is
    not below a float64 uniform. ``probs`` is 2-D (rows of weights)."""
    dt = probs.dtype if probs.dtype in (B.float32, B.float64) else B.float32
    cum = np.cumsum(probs.astype(dt, copy=False), axis=-1, dtype=dt)  # sequential, as ATen's loop
    cum = (cum / cum[:, -1:]).astype(np.float64)
    cum[:, -1] = 1.0
    out = np.empty((probs.shape[0], num_samples), dtype=np.int64)
    for row in range(probs.shape[0]):
        u = _unit(gen, num_samples, B.float64)
        out[row] = np.searchsorted(cum[row], u, side="left")
    return out
