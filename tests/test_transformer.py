"""nn.Transformer and its encoder/decoder layers against PyTorch (tests/fixtures/nnplus.npz, made by
gen_nnplus.py): the same weights loaded through a PyTorch state dict, the same inputs and masks,
float64 outputs and parameter gradients."""

from __future__ import annotations

import importlib.util
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

HERE = os.path.dirname(__file__)
FIX = np.load(os.path.join(HERE, "fixtures", "nnplus.npz"), allow_pickle=False)
_spec = importlib.util.spec_from_file_location("gen_nnplus", os.path.join(HERE, "fixtures", "gen_nnplus.py"))
GEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GEN)  # numpy only at import: the case table and the model builder


def _arrays(prefix: str) -> dict:
    return {k[len(prefix):]: FIX[k] for k in FIX.files if k.startswith(prefix)}


def _build(name: str):
    kind, kw, recipe = GEN.TRANSFORMER_CASES[name]
    mg.set_default_dtype(mg.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the nested-tensor notice; tested on its own below
        model = GEN.transformer_build(nn, kind, kw)
    sd = {k: mg.tensor(v) for k, v in _arrays(f"transformer/{name}/sd/").items()}
    missing, unexpected = model.load_state_dict(sd, strict=True)
    assert not missing and not unexpected
    assert set(model.state_dict()) == set(sd)
    return model, recipe


@pytest.mark.parametrize("name", sorted(GEN.TRANSFORMER_CASES))
def test_transformer_matches_pytorch(name):
    model, recipe = _build(name)
    args = {k: mg.tensor(v) for k, v in _arrays(f"transformer/{name}/in/").items()}
    if "tgt_is_causal" in recipe:
        args["tgt_is_causal"] = recipe["tgt_is_causal"]
    grads = recipe.get("grads", False)
    model.train(grads)
    if grads:
        for p in model.parameters():
            p.requires_grad_(True)
    with warnings.catch_warnings():
        # PyTorch warns for a bool key padding mask beside a float attention mask; so do we
        warnings.filterwarnings("ignore", "Support for mismatched")
        if recipe.get("no_grad"):
            with mg.no_grad():
                y = model(**args)
        else:
            y = model(**args)
    want = FIX[f"transformer/{name}/out"]
    # PyTorch's eval path fuses the layer (other summation orders): equal to rounding in float64
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-10, atol=1e-12)
    if name == "encoder_nested":  # padded positions are exactly the final norm of 0, as PyTorch's nested path
        pad = FIX[f"transformer/{name}/in/src_key_padding_mask"]
        np.testing.assert_array_equal(y.numpy()[pad], np.broadcast_to(model.norm.bias.detach().numpy(),
                                                                      y.numpy()[pad].shape))
    if grads:
        y.backward(mg.tensor(FIX[f"transformer/{name}/g"]))
        for k, p in model.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), FIX[f"transformer/{name}/grad/{k}"], rtol=1e-9,
                                       atol=1e-11, err_msg=k)


def test_nested_tensor_warning_and_attributes():
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False "
                                         "because encoder_layer.self_attn.batch_first was not True"):
        enc = nn.TransformerEncoder(layer, 2)
    assert enc.enable_nested_tensor and not enc.use_nested_tensor
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)  # no warning
    assert len(enc.layers) == 2 and enc.layers[0] is not layer and enc.layers[0] is not enc.layers[1]
    odd = nn.TransformerEncoderLayer(9, 3, 16, batch_first=True)
    with pytest.warns(UserWarning, match="num_heads is odd"):
        nn.TransformerEncoder(odd, 1)
    with pytest.warns(UserWarning, match="norm_first was True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, batch_first=True, norm_first=True), 1)
    with pytest.warns(UserWarning, match="batch_first was not True"):
        t = nn.Transformer(8, 2, 1, 1, 16)
    assert t.d_model == 8 and t.nhead == 2 and not t.batch_first
    assert nn.TransformerEncoderLayer(8, 2, activation="gelu").activation_relu_or_gelu == 2
    assert nn.TransformerEncoderLayer(8, 2, activation=nn.ReLU()).activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(8, 2, activation=mg.tanh).activation_relu_or_gelu == 0


def test_parameter_shapes_are_pytorchs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = nn.Transformer(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32)
    shapes = {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert shapes["encoder.layers.0.self_attn.in_proj_weight"] == (48, 16)
    assert shapes["encoder.layers.0.linear1.weight"] == (32, 16)
    assert shapes["encoder.layers.0.linear2.weight"] == (16, 32)
    assert shapes["decoder.layers.0.multihead_attn.out_proj.weight"] == (16, 16)
    assert shapes["decoder.layers.0.norm3.bias"] == (16,)
    assert shapes["encoder.norm.weight"] == (16,) and shapes["decoder.norm.bias"] == (16,)
    assert len(shapes) == 34
    nb = nn.TransformerDecoderLayer(8, 2, 16, bias=False)
    assert not any(k.endswith("bias") for k in nb.state_dict())


def test_square_subsequent_mask_and_causal_detection():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    assert m.dtype == mg.get_default_dtype()
    want = np.triu(np.full((4, 4), -np.inf), 1)
    np.testing.assert_array_equal(m.numpy(), want)
    m64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=mg.float64)
    assert m64.dtype == mg.float64
    from minigrad.nn.transformer import _detect_is_causal_mask

    assert _detect_is_causal_mask(m) and not _detect_is_causal_mask(mg.zeros(4, 4))
    assert _detect_is_causal_mask(None, True) and not _detect_is_causal_mask(m, False)


def test_mask_rules_and_errors():
    mg.set_default_dtype(mg.float64)
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    layer.eval()
    x = mg.randn(4, 2, 8)
    causal = nn.Transformer.generate_square_subsequent_mask(4, dtype=mg.float64)
    kpm = mg.tensor([[False, False, True, True], [False, False, False, True]])
    with pytest.warns(UserWarning, match="Support for mismatched src_key_padding_mask and src_mask is deprecated"):
        a = layer(x, src_mask=causal, src_key_padding_mask=kpm)
    kpm_f = mg.tensor(np.where(kpm.numpy(), -np.inf, 0.0))
    b = layer(x, src_mask=causal, src_key_padding_mask=kpm_f)  # same types: no warning, same values
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = layer(x, src_mask=causal.numpy() != 0)  # a bool mask: True = not allowed
    np.testing.assert_allclose(c.numpy(), layer(x, src_mask=causal).numpy(), rtol=1e-14)
    with pytest.raises(AssertionError, match="only bool and floating types of src_mask are supported"):
        layer(x, src_mask=mg.zeros(4, 4, dtype=mg.int64))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        layer(x, is_causal=True)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        t(mg.randn(5, 2, 8), mg.randn(4, 3, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        t(mg.randn(5, 2, 8), mg.randn(4, 2, 6))


def test_transformer_trains():
    """A tiny sequence-copy task: the loss falls under Adam (gradients reach every parameter)."""
    mg.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 32, dropout=0.0, batch_first=True)
    emb = nn.Embedding(6, 16)
    head = nn.Linear(16, 6)
    params = list(model.parameters()) + list(emb.parameters()) + list(head.parameters())
    opt = mg.optim.Adam(params, lr=1e-2)
    src = mg.randint(0, 6, (8, 5))
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    losses = []
    for _ in range(30):
        out = head(model(emb(src), emb(src), tgt_mask=mask))
        loss = nn.functional.cross_entropy(out.reshape(-1, 6), src.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.torch
def test_nnplus_fixture_is_what_the_generator_writes():
    """tests/fixtures/nnplus.npz is reproducible from gen_nnplus.py (needs PyTorch)."""
    torch = pytest.importorskip("torch")
    default = torch.get_default_dtype()
    out: dict = {}
    try:
        for section in GEN.SECTIONS:
            section(out, torch)
    finally:
        torch.set_default_dtype(default)
    assert sorted(out) == sorted(FIX.files)
    for k in FIX.files:
        np.testing.assert_array_equal(out[k], FIX[k], err_msg=k)


@pytest.mark.parametrize("name", ["transformer", "enc_layer", "dec_layer_bf"])
def test_seeded_initialisation_is_pytorchs(name):
    """``manual_seed(s)`` then the constructor gives PyTorch's weights, draw for draw (float32)."""
    seed, build = {"transformer": (0, lambda: nn.Transformer(8, 2, 2, 1, 16)),
                   "enc_layer": (1, lambda: nn.TransformerEncoderLayer(8, 2, 16)),
                   "dec_layer_bf": (2, lambda: nn.TransformerDecoderLayer(8, 2, 16, batch_first=True))}[name]
    want = _arrays(f"transformer_init/{name}/")
    mg.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the nested-tensor notice
        model = build()
    got = model.state_dict()
    assert list(got) == [k for k in got if k in want] and set(got) == set(want)
    for k, v in got.items():
        np.testing.assert_array_equal(v.numpy(), want[k], err_msg=k)


def test_training_mode_dropout_is_pytorchs():
    """A seeded encoder layer with dropout 0.2 in training mode: PyTorch's input, masks and output."""
    mg.manual_seed(3)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2)
    x = mg.randn(5, 3, 8)
    np.testing.assert_array_equal(x.numpy(), FIX["transformer_train/x"])
    y = layer(x)
    # float32 arithmetic in another order; a different dropout mask would differ by O(1)
    np.testing.assert_allclose(y.detach().numpy(), FIX["transformer_train/y"], rtol=1e-5, atol=1e-5)
