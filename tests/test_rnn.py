"""RNN / LSTM / GRU: outputs and gradients (input, initial state, every parameter) against PyTorch
modules with the same weights (fixtures from tests/fixtures/gen_conv.py), plus cells, shapes,
initialisation, dropout and errors."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
from minigrad.autograd import gradcheck

HERE = os.path.dirname(os.path.abspath(__file__))
REF = np.load(os.path.join(HERE, "fixtures", "rnn.npz"))

# Mirrors RNNS in tests/fixtures/gen_conv.py.
CASES = [
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)),
    ("RNN", dict(input_size=3, hidden_size=4, nonlinearity="relu", batch_first=True, bias=False)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(input_size=2, hidden_size=3)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2)),
    ("GRU", dict(input_size=3, hidden_size=4, bidirectional=True)),
]


def _load(i, kind, kw):
    key = f"rnn{i}"
    mod = getattr(nn, kind)(**kw).double()
    state = {k[len(key) + 3:]: REF[k] for k in REF.files if k.startswith(f"{key}/p_")}
    missing, unexpected = mod.load_state_dict({k: minigrad.tensor(v) for k, v in state.items()})
    assert not missing and not unexpected
    return key, mod


@pytest.mark.parametrize("i", range(len(CASES)))
def test_matches_torch_values_and_gradients(i):
    kind, kw = CASES[i]
    key, mod = _load(i, kind, kw)
    x = minigrad.tensor(REF[f"{key}/x"], requires_grad=True)
    leaves = {"x": x}
    hx = None
    if f"{key}/h0" in REF.files:
        leaves["h0"] = hx = minigrad.tensor(REF[f"{key}/h0"], requires_grad=True)
        if kind == "LSTM":
            leaves["c0"] = minigrad.tensor(REF[f"{key}/c0"], requires_grad=True)
            hx = (leaves["h0"], leaves["c0"])
    y, hn = mod(x, hx)
    cn = None
    if kind == "LSTM":
        hn, cn = hn
    np.testing.assert_allclose(y.numpy(), REF[f"{key}/out"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(hn.numpy(), REF[f"{key}/hn"], rtol=1e-9, atol=1e-11)
    total = (y * minigrad.tensor(REF[f"{key}/gy"])).sum() + (hn * minigrad.tensor(REF[f"{key}/gh"])).sum()
    if cn is not None:
        np.testing.assert_allclose(cn.numpy(), REF[f"{key}/cn"], rtol=1e-9, atol=1e-11)
        total = total + (cn * minigrad.tensor(REF[f"{key}/gc"])).sum()
    total.backward()
    for name, t in leaves.items():
        np.testing.assert_allclose(t.grad.numpy(), REF[f"{key}/g_{name}"], rtol=1e-8, atol=1e-10, err_msg=name)
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{key}/g_p_{name}"], rtol=1e-8, atol=1e-10, err_msg=name)


def test_parameter_names_shapes_and_init_are_pytorchs():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert len(names) == 16
    sd = lstm.state_dict()
    assert sd["weight_ih_l0"].shape == (20, 3) and sd["weight_ih_l1"].shape == (20, 10)
    assert sd["weight_hh_l1_reverse"].shape == (20, 5)
    bound = 1 / math.sqrt(5)
    for p in lstm.parameters():
        assert np.abs(p.numpy()).max() <= bound and p.dtype == minigrad.float32
    assert nn.GRU(2, 3).weight_ih_l0.shape == (9, 2)
    assert [n for n, _ in nn.RNN(2, 3, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert repr(nn.LSTM(3, 5, num_layers=2, batch_first=True)) == "LSTM(3, 5, num_layers=2, batch_first=True)"


def test_shapes_batch_first_unbatched_and_default_state():
    gru = nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    y, h = gru(minigrad.randn(2, 7, 3))
    assert y.shape == (2, 7, 8) and h.shape == (4, 2, 4)
    y, h = gru(minigrad.randn(7, 3))
    assert y.shape == (7, 8) and h.shape == (4, 4)
    lstm = nn.LSTM(3, 4)
    y, (h, c) = lstm(minigrad.randn(6, 2, 3))
    assert y.shape == (6, 2, 4) and h.shape == c.shape == (1, 2, 4)
    np.testing.assert_allclose(y[-1].numpy(), h[0].numpy())


def test_dropout_between_layers_only_in_training():
    minigrad.manual_seed(0)
    rnn = nn.RNN(3, 8, num_layers=2, dropout=0.5)
    x = minigrad.randn(4, 2, 3)
    rnn.eval()
    a = rnn(x)[0].numpy().copy()
    np.testing.assert_allclose(rnn(x)[0].numpy(), a)
    rnn.train()
    assert not np.allclose(rnn(x)[0].numpy(), a)
    single = nn.RNN(3, 8, dropout=0.0)
    assert np.allclose(single(x)[0].numpy(), single.eval()(x)[0].numpy())


def test_cells_match_one_step_of_the_layer():
    minigrad.manual_seed(1)
    for layer_cls, cell_cls in ((nn.RNN, nn.RNNCell), (nn.LSTM, nn.LSTMCell), (nn.GRU, nn.GRUCell)):
        layer = layer_cls(3, 4).double()
        cell = cell_cls(3, 4).double()
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        x = minigrad.randn(1, 2, 3, dtype=minigrad.float64)
        y, _ = layer(x)
        h = cell(x[0])
        h = h[0] if isinstance(h, tuple) else h
        np.testing.assert_allclose(h.numpy(), y[0].numpy(), rtol=1e-12)


def test_gru_cell_gradcheck():
    minigrad.manual_seed(2)
    cell = nn.GRUCell(2, 3).double()
    x = minigrad.randn(2, 2, dtype=minigrad.float64, requires_grad=True)
    h = minigrad.randn(2, 3, dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(lambda a, b: cell(a, b), (x, h))


def test_errors():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        lstm(minigrad.randn(5, 2, 2))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        lstm(minigrad.randn(5, 2, 3), (minigrad.zeros(1, 3, 4), minigrad.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.GRU(3, 4)(minigrad.randn(1, 5, 2, 3))
