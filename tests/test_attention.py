"""scaled_dot_product_attention and MultiheadAttention: values and gradients against PyTorch with
copied weights (fixtures from tests/fixtures/gen_conv.py), masks, shapes, init and errors."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck

HERE = os.path.dirname(os.path.abspath(__file__))
REF = np.load(os.path.join(HERE, "fixtures", "attention.npz"))

# Mirrors SDPA and MHA in tests/fixtures/gen_conv.py.
SDPA = [(False, None), (False, None), (False, None), (True, None), (True, 0.3)]
MHA = [
    (dict(embed_dim=8, num_heads=2), True),
    (dict(embed_dim=6, num_heads=3, kdim=4, vdim=5, batch_first=True, bias=False), False),
    (dict(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True), True),
    (dict(embed_dim=4, num_heads=1), True),
]


def _leaf(key, name):
    return minigrad.tensor(REF[f"{key}/{name}"], requires_grad=True)


@pytest.mark.parametrize("i", range(len(SDPA)))
def test_sdpa_matches_torch(i):
    key = f"sdpa{i}"
    causal, scale = SDPA[i]
    q, k, v = _leaf(key, "q"), _leaf(key, "k"), _leaf(key, "v")
    mask = REF[f"{key}/mask"] if f"{key}/mask" in REF.files else None
    mask = None if mask is None else minigrad.tensor(mask)
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)
    np.testing.assert_allclose(y.numpy(), REF[f"{key}/out"], rtol=1e-9, atol=1e-12)
    y.backward(minigrad.tensor(REF[f"{key}/gy"]))
    for name, t in (("q", q), ("k", k), ("v", v)):
        np.testing.assert_allclose(t.grad.numpy(), REF[f"{key}/g_{name}"], rtol=1e-8, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("i", range(len(MHA)))
def test_multihead_attention_matches_torch(i):
    key = f"mha{i}"
    kw, avg = MHA[i]
    mod = nn.MultiheadAttention(**kw).double()
    state = {k[len(key) + 3:]: minigrad.tensor(REF[k]) for k in REF.files if k.startswith(f"{key}/p_")}
    missing, unexpected = mod.load_state_dict(state)
    assert not missing and not unexpected
    q, k, v = _leaf(key, "q"), _leaf(key, "k"), _leaf(key, "v")
    kpm = minigrad.tensor(REF[f"{key}/kpm"]) if f"{key}/kpm" in REF.files else None
    am = minigrad.tensor(REF[f"{key}/am"]) if f"{key}/am" in REF.files else None
    y, w = mod(q, k, v, key_padding_mask=kpm, attn_mask=am, average_attn_weights=avg)
    np.testing.assert_allclose(y.numpy(), REF[f"{key}/out"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), REF[f"{key}/w"], rtol=1e-9, atol=1e-12)
    total = (y * minigrad.tensor(REF[f"{key}/gy"])).sum() + (w * minigrad.tensor(REF[f"{key}/gw"])).sum()
    total.backward()
    for name, t in (("q", q), ("k", k), ("v", v)):
        np.testing.assert_allclose(t.grad.numpy(), REF[f"{key}/g_{name}"], rtol=1e-8, atol=1e-11, err_msg=name)
    for name, p in mod.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), REF[f"{key}/g_p_{name}"], rtol=1e-8, atol=1e-11, err_msg=name)


def test_parameters_and_init_follow_pytorch():
    m = nn.MultiheadAttention(8, 2)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                    "out_proj.bias"]
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    assert np.abs(m.in_proj_weight.numpy()).max() <= math.sqrt(6 / (8 + 24))
    m2 = nn.MultiheadAttention(6, 3, kdim=4, vdim=5, add_bias_kv=True)
    assert [n for n, _ in m2.named_parameters()] == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                                     "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                                                     "out_proj.bias"]
    assert m2.k_proj_weight.shape == (6, 4) and m2.bias_k.shape == (1, 1, 6)
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(7, 2)


def test_need_weights_false_and_dropout_only_in_training():
    minigrad.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = minigrad.randn(2, 5, 8)
    out, w = m(x, x, x, need_weights=False)
    assert w is None and out.shape == (2, 5, 8)
    m.eval()
    a = m(x, x, x)[0].numpy().copy()
    np.testing.assert_allclose(m(x, x, x)[0].numpy(), a)
    m.train()
    assert not np.allclose(m(x, x, x)[0].numpy(), a)
    _, w = m.eval()(x, x, x, average_attn_weights=False)
    assert w.shape == (2, 2, 5, 5)
    np.testing.assert_allclose(w.numpy().sum(-1), 1.0, rtol=1e-5)


def test_sdpa_fully_masked_row_is_zero_and_gradcheck():
    rng = np.random.default_rng(0)
    q = minigrad.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = minigrad.tensor(rng.standard_normal((2, 5, 4)), requires_grad=True)
    v = minigrad.tensor(rng.standard_normal((2, 5, 2)), requires_grad=True)
    mask = np.ones((3, 5), dtype=bool)
    mask[0] = False
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=minigrad.tensor(mask))
    assert np.all(y.numpy()[:, 0] == 0) and np.isfinite(y.numpy()).all()
    fmask = minigrad.tensor(rng.standard_normal((3, 5)))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=fmask), (q, k, v))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.5), (q, k, v))


def test_sdpa_dropout_and_errors():
    minigrad.manual_seed(0)
    q = minigrad.randn(2, 4, 8)
    y0 = F.scaled_dot_product_attention(q, q, q)
    y1 = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert y0.shape == y1.shape and not np.allclose(y0.numpy(), y1.numpy())
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=minigrad.ones(4, 4, dtype=minigrad.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="do not fit"):
        F.scaled_dot_product_attention(q, minigrad.randn(2, 4, 7), q)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(RuntimeError, match="is_causal"):
        m(q.transpose(0, 1), q.transpose(0, 1), q.transpose(0, 1), is_causal=True)
    with pytest.raises(AssertionError, match="key_padding_mask"):
        x = minigrad.randn(4, 2, 8)
        m(x, x, x, key_padding_mask=minigrad.zeros(2, 3, dtype=minigrad.bool))
