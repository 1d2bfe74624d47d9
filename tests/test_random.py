"""minigrad's random numbers are PyTorch's CPU random numbers, bit for bit.

The reference arrays come from tests/fixtures/gen_random.py run against PyTorch: the same case
code runs here against minigrad and must give exactly the stored arrays. The rest checks the
Generator's API and the exact-arithmetic helpers against independent computations.
"""

from __future__ import annotations

import importlib.util
import math
import os
from fractions import Fraction

import numpy as np
import pytest

import minigrad
from minigrad import random as R

_DIR = os.path.join(os.path.dirname(__file__), "fixtures")
_spec = importlib.util.spec_from_file_location("gen_random", os.path.join(_DIR, "gen_random.py"))
gen_random = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_random)
REF = np.load(os.path.join(_DIR, "random.npz"))
INEXACT = {"init_orthogonal"}  # the QR is LAPACK's, equal to rounding only
KEYS = [k for k in REF.files if k != "torch_version" and k not in INEXACT]


@pytest.fixture(scope="module")
def ours():
    state = minigrad.get_rng_state()
    try:
        return gen_random.cases(minigrad)
    finally:
        minigrad.set_rng_state(state)


@pytest.mark.parametrize("key", KEYS)
def test_same_numbers_as_pytorch(ours, key):
    assert ours[key].shape == REF[key].shape
    np.testing.assert_array_equal(ours[key], REF[key])
    # bit for bit, not just ==: -0.0 and 0.0 differ here
    assert ours[key].astype(REF[key].dtype).tobytes() == REF[key].tobytes()


def test_the_c_library_path_gives_the_same_numbers(monkeypatch):
    # Where numpy runs its own AVX-512 float64 log/sin/cos (not the C library's, which ATen
    # calls), minigrad calls Python's math module per element instead: exercise that path here.
    monkeypatch.setattr(R, "_NUMPY_IS_LIBM", False)
    state = minigrad.get_rng_state()
    try:
        got = gen_random.cases(minigrad)
    finally:
        minigrad.set_rng_state(state)
    for key in KEYS:
        np.testing.assert_array_equal(got[key], REF[key], err_msg=key)


def test_orthogonal_init_draws_pytorchs_gaussians(ours):
    np.testing.assert_allclose(ours["init_orthogonal"], REF["init_orthogonal"], rtol=1e-5, atol=2e-6)
    q = ours["init_orthogonal"].astype(np.float64)
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-5)


def test_the_fixture_covers_every_listed_function():
    names = " ".join(REF.files)
    for fn in ("randn", "rand_", "normal_", "uniform_", "randint", "randperm", "multinomial", "bernoulli",
               "exponential", "geometric", "cauchy", "log_normal", "dropout", "init", "layer_", "dataloader",
               "state_seed", "interleaved", "generators_independent"):
        assert fn in names, fn


# -- the Mersenne Twister, against the C++ standard's check value --------------------------------------------


def test_mt19937_10000th_word_is_the_standards():
    # [rand.predef]: the 10000th consecutive invocation of a default-constructed std::mt19937
    # (seed 5489) produces 4123659995.
    g = minigrad.Generator().manual_seed(5489)
    words = g._u32(10000)
    assert int(words[-1]) == 4123659995
    assert int(words[0]) == 3499211612


def test_seed_uses_its_low_32_bits_for_the_twister_but_keeps_all_64():
    a = minigrad.Generator().manual_seed(2**40 + 5)
    b = minigrad.Generator().manual_seed(5)
    assert a.initial_seed() == 2**40 + 5
    np.testing.assert_array_equal(a._u32(10), b._u32(10))
    assert minigrad.Generator().manual_seed(-1).initial_seed() == 2**64 - 1


# -- the Generator's API -------------------------------------------------------------------------------------


def test_a_state_saved_by_pytorch_loads_and_continues_its_stream():
    # gen_random's "interleaved" case: after seed 7 and seven draws, the state (with a cached
    # Box-Muller sample) was saved, then randn(5, float64) and randint(0, 100, (4,)) drawn.
    g = minigrad.Generator().set_state(minigrad.tensor(REF["state_with_cached_normal"]))
    tail = np.concatenate([minigrad.randn(5, dtype=minigrad.float64, generator=g).numpy(),
                           minigrad.randint(0, 100, (4,), generator=g).numpy().astype(np.float64)])
    np.testing.assert_array_equal(tail, REF["interleaved"][-9:])
    np.testing.assert_array_equal(minigrad.Generator().set_state(minigrad.tensor(REF["state_seed_42"]))
                                  .get_state().numpy(), REF["state_seed_42"])


def test_generator_api():
    g = minigrad.Generator()
    assert g.initial_seed() == 67280421310721 and str(g.device) == "cpu"
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    s = g.seed()
    assert g.initial_seed() == s and 0 <= s < 2**64
    state = g.get_state()
    assert state.dtype == minigrad.uint8 and state.shape == (5056,)
    a = minigrad.randn(20, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(minigrad.randn(20, generator=g).numpy(), a.numpy())
    with pytest.raises(RuntimeError, match="size 5056"):
        g.set_state(minigrad.zeros(10, dtype=minigrad.uint8))
    with pytest.raises(TypeError, match="uint8"):
        g.set_state(minigrad.zeros(5056))
    with pytest.raises(RuntimeError, match="Invalid mt19937 state"):
        g.set_state(minigrad.zeros(5056, dtype=minigrad.uint8))
    for bad in (1.5, True, "3"):
        with pytest.raises(RuntimeError, match="expected a long"):
            g.manual_seed(bad)
    with pytest.raises(ValueError, match="64-bit"):
        g.manual_seed(2**64)
    with pytest.raises(TypeError, match="minigrad.Generator"):
        minigrad.randn(3, generator=np.random.default_rng(0))


def test_module_level_seeding_returns_and_uses_the_default_generator():
    state = minigrad.get_rng_state()
    try:
        assert minigrad.manual_seed(4) is minigrad.default_generator
        assert minigrad.initial_seed() == 4
        a = minigrad.rand(5).numpy()
        minigrad.manual_seed("4")  # torch.manual_seed calls int() on its argument
        np.testing.assert_array_equal(minigrad.rand(5).numpy(), a)
        s = minigrad.seed()
        assert minigrad.initial_seed() == s
    finally:
        minigrad.set_rng_state(state)


def test_fork_rng_restores_the_default_state():
    minigrad.manual_seed(12)
    with minigrad.random.fork_rng():
        inside = minigrad.randn(5).numpy()
    np.testing.assert_array_equal(minigrad.randn(5).numpy(), inside)
    with minigrad.random.fork_rng(enabled=False):
        minigrad.randn(5)
    assert not np.array_equal(minigrad.randn(5).numpy(), inside)


def test_size_keyword_on_factories():
    assert minigrad.empty(size=(2, 3)).shape == (2, 3)
    assert minigrad.zeros(size=[4]).shape == (4,)
    assert minigrad.ones(size=(1, 2)).shape == (1, 2)
    g1, g2 = minigrad.Generator().manual_seed(0), minigrad.Generator().manual_seed(0)
    np.testing.assert_array_equal(minigrad.randn(size=(2, 3), generator=g1).numpy(),
                                  minigrad.randn(2, 3, generator=g2).numpy())
    with pytest.raises(TypeError, match="both"):
        minigrad.zeros(2, size=(2,))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        minigrad.randint(5, 5, (3,))
    with pytest.raises(RuntimeError, match="std >= 0"):
        minigrad.empty(3).normal_(0, -1)
    with pytest.raises(RuntimeError, match=r"p to be in \[0, 1\]"):
        minigrad.empty(3).bernoulli_(1.5)
    with pytest.raises(RuntimeError, match=r"\[from, to\) range"):
        minigrad.empty(3).uniform_(1, 0)
    with pytest.raises(RuntimeError, match="lambda > 0"):
        minigrad.empty(3).exponential_(0)
    with pytest.raises(RuntimeError, match="sum of probabilities"):
        minigrad.multinomial(minigrad.zeros(3), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        minigrad.multinomial(minigrad.ones(3), 4)
    with pytest.raises(RuntimeError, match="floating point dtype"):
        minigrad.randn(3, dtype=minigrad.int64)


def test_dropout_mask_is_zero_or_the_scale():
    out = minigrad.nn.functional.dropout(minigrad.ones(1000), 0.25).numpy()
    assert set(np.unique(out).tolist()) <= {0.0, float(np.float32(1) / np.float32(0.75))}


# -- the exact arithmetic, against Fractions ------------------------------------------------------------------


def _exact_round(x: Fraction, dt) -> float:
    """Round the exact rational x to the nearest float of dtype dt (ties to even)."""
    f = float(x)  # nearest float64
    if dt == np.float64:
        return f
    cand = np.float32(f)
    best = None
    for c in (cand, np.nextafter(cand, np.float32(np.inf)), np.nextafter(cand, np.float32(-np.inf))):
        err = abs(Fraction(float(c)) - x)
        if best is None or err < best[0] or (err == best[0] and int(c.view(np.int32)) % 2 == 0):
            best = (err, c)
    return float(best[1])


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_fused_multiply_add_rounds_once(dt):
    rng = np.random.default_rng(0)
    n = 300
    a = rng.standard_normal(n).astype(dt)
    b = rng.standard_normal(n).astype(dt)
    c = (-(a.astype(np.float64) * b) * (1 + rng.standard_normal(n) * 1e-7)).astype(dt)  # heavy cancellation
    # exact halfway cases for float32: a*b + c lands exactly between two float32s after float64 rounding
    a[:3] = np.float32(1 + 2**-12)
    b[:3] = np.float32(1 + 2**-12)
    c[:3] = np.array([2**-48, -(2**-48), 2**-60], dtype=dt) if dt == np.float32 else c[:3]
    fma = R._fma32 if dt == np.float32 else R._fma64
    got = fma(a, b, c)
    want = [_exact_round(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)), dt) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(got.astype(np.float64), np.array(want))


def test_avx2_log_and_sincos_are_within_a_few_ulp_of_the_truth():
    u = np.linspace(2**-24, 1, 100001, dtype=np.float32)
    lg = R._log_avx2(u).astype(np.float64)
    np.testing.assert_allclose(lg, np.log(u.astype(np.float64)), rtol=5e-7, atol=1e-7)
    x = np.linspace(0, 2 * math.pi, 100001, dtype=np.float32)
    s, c = R._sincos_avx2(x)
    np.testing.assert_allclose(s, np.sin(x.astype(np.float64)), atol=3e-7)
    np.testing.assert_allclose(c, np.cos(x.astype(np.float64)), atol=3e-7)


# -- against PyTorch itself, when it is installed -------------------------------------------------------------


@pytest.mark.torch
def test_fixture_is_what_the_generator_writes():
    torch = pytest.importorskip("torch")
    if REF["torch_version"].item() != torch.__version__:
        pytest.skip(f"fixture made with torch {REF['torch_version']}, this is {torch.__version__}")
    state = torch.get_rng_state()
    try:
        fresh = gen_random.cases(torch)
    finally:
        torch.set_rng_state(state)
    for key in KEYS:
        np.testing.assert_array_equal(fresh[key], REF[key], err_msg=key)


@pytest.mark.torch
@pytest.mark.parametrize("seed", [3, 99, 123456789])
def test_large_draws_match_pytorch_live(seed):
    torch = pytest.importorskip("torch")
    n = 100_003
    for tdt, mdt in ((torch.float32, minigrad.float32), (torch.float64, minigrad.float64)):
        g, G = torch.Generator().manual_seed(seed), minigrad.Generator().manual_seed(seed)
        pairs = [(torch.randn(n, generator=g, dtype=tdt), minigrad.randn(n, generator=G, dtype=mdt)),
                 (torch.empty(n, dtype=tdt).normal_(-1.5, 0.3, generator=g),
                  minigrad.empty(n, dtype=mdt).normal_(-1.5, 0.3, generator=G)),
                 (torch.empty(n, dtype=tdt).uniform_(-0.7, 3.1, generator=g),
                  minigrad.empty(n, dtype=mdt).uniform_(-0.7, 3.1, generator=G))]
        for a, b in pairs:
            assert a.numpy().tobytes() == b.numpy().tobytes()
