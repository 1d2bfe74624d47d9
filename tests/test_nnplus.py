"""Dropout1d/2d/3d, pixel shuffle, histogram/histc and PyTorch's module paths (values from
tests/fixtures/nnplus.npz, made by tests/fixtures/gen_nnplus.py with PyTorch)."""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import gradcheck
from minigrad.nn import functional as F

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "nnplus.npz"), allow_pickle=False)


def _cases(section: str) -> list[str]:
    return sorted({k.split("/")[1] for k in FIX.files if k.startswith(section + "/")})


def _f(section: str, case: str, name: str):
    return FIX[f"{section}/{case}/{name}"]


# ---------------------------------------------------------------------------
# Module paths.

SUBMODULES = {
    "module": ["Module"],
    "linear": ["Linear", "Identity", "Bilinear"],
    "conv": ["Conv1d", "Conv2d", "ConvTranspose2d"],
    "activation": ["ReLU", "GELU", "Softmax", "MultiheadAttention"],
    "loss": ["CrossEntropyLoss", "MSELoss", "NLLLoss"],
    "container": ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"],
    "dropout": ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"],
    "normalization": ["LayerNorm", "GroupNorm"],
    "batchnorm": ["BatchNorm1d", "BatchNorm2d"],
    "rnn": ["RNN", "LSTM", "GRU", "LSTMCell", "RNNBase"],
    "pooling": ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"],
    "sparse": ["Embedding"],
    "flatten": ["Flatten", "Unflatten"],
    "distance": ["PairwiseDistance", "CosineSimilarity"],
    "pixelshuffle": ["PixelShuffle", "PixelUnshuffle"],
}


@pytest.mark.parametrize("sub", sorted(SUBMODULES))
def test_nn_modules_paths_reexport_the_same_classes(sub):
    mod = importlib.import_module(f"minigrad.nn.modules.{sub}")
    for name in SUBMODULES[sub]:
        assert getattr(mod, name) is getattr(nn, name), (sub, name)
        assert getattr(nn.modules, name) is getattr(nn, name)


def test_pytorch_style_imports():
    from minigrad.nn.modules.module import Module
    from minigrad.nn.parameter import Parameter
    from minigrad.serialization import load, save

    assert Module is nn.Module and Parameter is nn.Parameter
    assert save is mg.save and load is mg.load


def test_nn_modules_utils_helpers():
    from minigrad.nn.modules.utils import (
        _pair,
        _reverse_repeat_tuple,
        _single,
        _triple,
        consume_prefix_in_state_dict_if_present,
    )

    assert _pair(3) == (3, 3) and _pair((1, 2)) == (1, 2) and _single(4) == (4,) and _triple(0) == (0, 0, 0)
    assert _pair.__name__ == "_pair"
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    sd = {"module.a": 1, "b": 2, "module.c.d": 3}
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd.items()) == [("b", 2), ("a", 1), ("c.d", 3)]


def test_add_safe_globals_is_accepted_and_recorded():
    from minigrad import serialization

    class Config:
        pass

    before = serialization.get_safe_globals()
    try:
        serialization.add_safe_globals([Config])
        assert serialization.get_safe_globals()[-1] is Config
        with serialization.safe_globals([int]):
            assert serialization.get_safe_globals()[-1] is int
        assert serialization.get_safe_globals()[-1] is Config
        with pytest.raises(TypeError, match="list of globals"):
            serialization.add_safe_globals(Config)
    finally:
        serialization.clear_safe_globals()
        serialization.add_safe_globals(before)


# ---------------------------------------------------------------------------
# Channel dropout.

def _channels_kept(y: np.ndarray, x: np.ndarray, scale: float, axes: tuple) -> np.ndarray:
    """Check each slice over ``axes`` is all zero or all x*scale; return which were kept."""
    kept = np.all(np.isclose(y, x * scale), axis=axes)
    dropped = np.all(y == 0, axis=axes)
    assert np.all(kept ^ dropped), "a channel was partly dropped"
    return kept


def test_dropout2d_4d_drops_whole_channels():
    mg.manual_seed(0)
    x = mg.rand(6, 20, 3, 4, dtype=mg.float64) + 1.0
    y = F.dropout2d(x, 0.4, True)
    kept = _channels_kept(y.numpy(), x.numpy(), 1 / 0.6, (2, 3))
    assert kept.shape == (6, 20) and 0 < kept.sum() < kept.size
    m = nn.Dropout2d(0.4)
    m.eval()
    assert m(x) is x


def test_dropout2d_2d_input_warns_and_runs_elementwise():
    x = mg.ones(50, 40, dtype=mg.float64)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d, which is deprecated"):
        y = nn.Dropout2d(0.5)(x)
    v = y.numpy()
    assert set(np.unique(v)) <= {0.0, 2.0}
    # (N, C) is read as N samples of C channels with no spatial dims: each element on its own
    assert len({tuple(r) for r in (v != 0)}) > 1 and not np.all((v != 0) == (v != 0)[:, :1])


def test_dropout2d_3d_input_is_read_as_n_c_l_with_a_warning():
    x = mg.ones(8, 30, 5, dtype=mg.float64)
    with pytest.warns(UserWarning, match=r"interpreted as shape \(N, C, L\)"):
        y = F.dropout2d(x, 0.5, True)
    kept = _channels_kept(y.numpy(), x.numpy(), 2.0, (2,))
    assert kept.shape == (8, 30)
    assert not np.all(kept == kept[:1])  # the mask varies along dim 0 (PyTorch's N), not shared


def test_dropout2d_1d_input_warns_then_fails_in_training_only():
    x = mg.ones(5)
    with pytest.warns(UserWarning, match="1-D input to dropout2d"):
        assert F.dropout2d(x, 0.5, False) is x
    with pytest.warns(UserWarning, match="1-D input to dropout2d"), \
            pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
        F.dropout2d(x, 0.5, True)


def test_dropout1d_and_3d_shapes():
    x = mg.ones(4, 25, 6, dtype=mg.float64)
    _channels_kept(F.dropout1d(x, 0.5).numpy(), x.numpy(), 2.0, (2,))
    xu = mg.ones(25, 6, dtype=mg.float64)  # unbatched (C, L)
    _channels_kept(F.dropout1d(xu, 0.5).numpy(), xu.numpy(), 2.0, (1,))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(mg.ones(1, 2, 3, 4))
    x5 = mg.ones(3, 20, 2, 2, 2, dtype=mg.float64)
    kept = _channels_kept(nn.Dropout3d(0.5)(x5).numpy(), x5.numpy(), 2.0, (2, 3, 4))
    assert kept.shape == (3, 20)
    x4 = mg.ones(20, 2, 2, 2, dtype=mg.float64)  # unbatched (C, D, H, W)
    kept = _channels_kept(F.dropout3d(x4, 0.5).numpy(), x4.numpy(), 2.0, (1, 2, 3))
    assert kept.shape == (20,)
    with pytest.warns(UserWarning, match="3-D input to dropout3d"):
        F.dropout3d(mg.ones(3, 4, 5), 0.5)


def test_feature_dropout_gradient_inplace_and_p_edges():
    mg.manual_seed(3)
    x = mg.rand(4, 6, 3, dtype=mg.float64, requires_grad=True)
    y = F.dropout1d(x, 0.3)
    y.sum().backward()
    mask = y.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), mask)
    z = x.detach().clone()
    out = F.dropout2d(z.unsqueeze(-1), 1.0, True)
    assert np.all(out.numpy() == 0)
    w = mg.ones(2, 3, 4, 4)
    assert F.dropout2d(w, 0.5, True, inplace=True) is w
    assert set(np.unique(w.numpy())) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout3d(1.5)


# ---------------------------------------------------------------------------
# Pixel shuffle.

@pytest.mark.parametrize("case", _cases("pixel_shuffle"))
def test_pixel_shuffle_matches_pytorch(case):
    r = int(_f("pixel_shuffle", case, "r"))
    x = mg.tensor(_f("pixel_shuffle", case, "x"), requires_grad=True)
    y = nn.PixelShuffle(r)(x)
    np.testing.assert_array_equal(y.detach().numpy(), _f("pixel_shuffle", case, "y"))
    y.backward(mg.tensor(_f("pixel_shuffle", case, "g")))
    np.testing.assert_array_equal(x.grad.numpy(), _f("pixel_shuffle", case, "dx"))
    z = nn.PixelUnshuffle(r)(y.detach())
    np.testing.assert_array_equal(z.numpy(), _f("pixel_shuffle", case, "unshuffled"))
    np.testing.assert_array_equal(z.numpy(), _f("pixel_shuffle", case, "x"))


def test_pixel_shuffle_gradcheck_and_errors():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 8, 2, 3)), requires_grad=True)
    gradcheck(lambda t: F.pixel_shuffle(t, 2), (x,))
    x2 = mg.tensor(rng.standard_normal((1, 2, 4, 6)), requires_grad=True)
    gradcheck(lambda t: F.pixel_unshuffle(t, 2), (x2,))
    with pytest.raises(RuntimeError, match=r"input.size\(-3\)=7 is not divisible by 4"):
        F.pixel_shuffle(mg.zeros(2, 7, 3, 3), 2)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        F.pixel_shuffle(mg.zeros(7, 3), 2)
    with pytest.raises(RuntimeError, match=r"height to be divisible by downscale_factor, but input.size\(-2\)=3"):
        F.pixel_unshuffle(mg.zeros(2, 4, 3, 4), 2)
    with pytest.raises(RuntimeError, match=r"width to be divisible by downscale_factor, but input.size\(-1\)=3"):
        F.pixel_unshuffle(mg.zeros(2, 4, 4, 3), 2)
    with pytest.raises(RuntimeError, match="positive upscale_factor, but got 0"):
        F.pixel_shuffle(mg.zeros(2, 4, 3, 3), 0)
    with pytest.raises(TypeError, match="must be int, not float"):
        F.pixel_shuffle(mg.zeros(2, 4, 3, 3), 2.0)
    assert repr(nn.PixelUnshuffle(3)) == "PixelUnshuffle(downscale_factor=3)"


# ---------------------------------------------------------------------------
# histogram / histc.

@pytest.mark.parametrize("case", _cases("histogram"))
def test_histogram_matches_pytorch(case):
    x = _f("histogram", case, "x")
    bins = _f("histogram", case, "bins")
    rng = _f("histogram", case, "range")
    w = _f("histogram", case, "weight")
    kw = {"density": bool(_f("histogram", case, "density"))}
    if rng.size:
        kw["range"] = tuple(rng)
    if w.size:
        kw["weight"] = mg.from_numpy(w)
    b = mg.from_numpy(bins) if bins.ndim else int(bins)
    res = mg.histogram(mg.from_numpy(x), b, **kw)
    hist, edges = res
    np.testing.assert_array_equal(mg.from_numpy(x).histogram(b, **kw).hist.numpy(), hist.numpy())
    assert res.hist is hist and res.bin_edges is edges
    want_hist, want_edges = _f("histogram", case, "hist"), _f("histogram", case, "edges")
    assert hist.dtype == mg.from_numpy(x).dtype and edges.dtype == hist.dtype
    np.testing.assert_array_equal(edges.numpy(), want_edges)
    if kw["density"] and w.size:
        # divided by a weight total that PyTorch sums in its own (vectorised) order
        np.testing.assert_allclose(hist.numpy(), want_hist, rtol=4 * np.finfo(x.dtype).eps)
    else:
        np.testing.assert_array_equal(hist.numpy(), want_hist)


@pytest.mark.parametrize("case", _cases("histc"))
def test_histc_matches_pytorch(case):
    x = _f("histc", case, "x")
    bins, lo, hi = _f("histc", case, "args")
    got = mg.histc(mg.from_numpy(x), int(bins), lo, hi)
    np.testing.assert_array_equal(got.numpy(), _f("histc", case, "hist"))
    np.testing.assert_array_equal(mg.from_numpy(x).histc(int(bins), lo, hi).numpy(), got.numpy())


def test_histogram_edges_and_errors():
    x = mg.tensor([0.0, 1.0, 2.0, 3.0, 4.0])
    # the last bin includes its right edge; the others only their left one
    np.testing.assert_array_equal(mg.histogram(x, 4).hist.numpy(), [1, 1, 1, 2])
    np.testing.assert_array_equal(mg.histogram(x, mg.tensor([1.0, 2.0, 3.0])).hist.numpy(), [1, 2])
    with pytest.raises(RuntimeError, match="floating point"):
        mg.histogram(mg.tensor([1, 2, 3]), 3)
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        mg.histogram(x, 0)
    with pytest.raises(RuntimeError, match="min should not exceed max"):
        mg.histogram(x, 3, range=(2.0, 1.0))
    with pytest.raises(RuntimeError, match="is not finite"):
        mg.histogram(mg.tensor([1.0, float("nan")]), 3)
    with pytest.raises(RuntimeError, match="same dtype"):
        mg.histogram(x, mg.tensor([0.0, 1.0], dtype=mg.float64))
    with pytest.raises(RuntimeError, match="same shape"):
        mg.histogram(x, 3, weight=mg.ones(4))
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        mg.histc(x, 3, 2.0, 1.0)


# ---------------------------------------------------------------------------
# Channel-dropout masks against PyTorch's, draw for draw (the same bernoulli_ and div_ calls as ATen).

DROPOUT_CASES = {  # as gen_nnplus.DROPOUT_CASES: function, input shape, dtype, p, seed
    "d2_4d": ("dropout2d", (3, 5, 2, 2), "float32", 0.4, 0),
    "d2_4d_f64": ("dropout2d", (2, 6, 1, 3), "float64", 0.25, 1),
    "d2_2d": ("dropout2d", (4, 7), "float32", 0.5, 2),
    "d2_3d": ("dropout2d", (3, 4, 5), "float64", 0.3, 3),
    "d1_unbatched": ("dropout1d", (6, 4), "float32", 0.5, 4),
    "d3_5d": ("dropout3d", (2, 3, 2, 2, 2), "float32", 0.6, 5),
    "d3_4d": ("dropout3d", (5, 2, 2, 2), "float64", 0.5, 6),
    "d3_2d": ("dropout3d", (4, 6), "float32", 0.5, 7),
}


@pytest.mark.parametrize("name", sorted(DROPOUT_CASES))
def test_feature_dropout_masks_are_pytorchs(name):
    fn, shape, dt, p, seed = DROPOUT_CASES[name]
    x = mg.ones(*shape, dtype=getattr(mg, dt))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rank notices, tested above
        mg.manual_seed(seed)
        y = getattr(F, fn)(x, p, True)
    want = FIX[f"dropout/{name}"]
    assert y.shape == want.shape and y.dtype == x.dtype
    # values are 0 or 1/(1-p) in the input's dtype
    assert set(np.unique(y.numpy())) <= {0.0, np.float32(1 / (1 - p)) if dt == "float32" else 1 / (1 - p)}
    np.testing.assert_array_equal(y.numpy(), want)  # draw for draw: minigrad's generator is PyTorch's
