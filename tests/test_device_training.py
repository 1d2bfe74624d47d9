"""nn and optim on device "cuda" (the CuPy-shaped stand-in, tests/fakecuda.py) against the same run
on the CPU: every layer's output and gradients, every loss, every optimizer's parameters after a
few steps, compared through ``.cpu()``.

The stand-in computes with numpy underneath, so most results agree to the last bit; where the
device path sums differently (batch statistics), the tolerance says so.
"""

from __future__ import annotations

import numpy as np
import pytest
from devices import host

import minigrad as mg
from minigrad import nn, optim

F = nn.functional


def _run(make, inputs, device):
    """Output and gradients (of inputs and parameters) of ``make()`` applied to ``inputs`` on ``device``."""
    mg.manual_seed(0)
    module = make()
    module.to(device)
    xs = [mg.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in inputs]
    out = module(*xs)
    out = out[0] if isinstance(out, tuple) else out
    assert out.device.type == device
    (out.float() * mg.linspace(-1, 1, out.numel(), device=device).reshape(out.shape)).sum().backward()
    grads = [host(x.grad) for x in xs if x.requires_grad]
    grads += [host(p.grad) for p in module.parameters() if p.grad is not None]
    buffers = [host(b) for b in module.buffers()]
    return host(out), grads, buffers


rng = np.random.default_rng(0)
_X = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
_SEQ = rng.standard_normal((5, 2, 6)).astype(np.float32)

LAYERS = {
    "linear": (lambda: nn.Linear(6, 4), [_SEQ]),
    "conv2d": (lambda: nn.Conv2d(3, 5, 3, padding=1, stride=2), [_X]),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2), [_X]),
    "batchnorm2d": (lambda: nn.Sequential(nn.BatchNorm2d(3), nn.ReLU()), [_X]),
    "layernorm": (lambda: nn.LayerNorm(6), [_SEQ]),
    "groupnorm": (lambda: nn.GroupNorm(1, 3), [_X]),
    "maxpool": (lambda: nn.MaxPool2d(2), [_X]),
    "avgpool": (lambda: nn.AvgPool2d(3, stride=2, padding=1), [_X]),
    "adaptive_avgpool": (lambda: nn.AdaptiveAvgPool2d((3, 5)), [_X]),
    "embedding": (lambda: nn.Embedding(10, 4, padding_idx=0), [np.array([[1, 0, 9], [3, 3, 2]])]),
    "rnn": (lambda: nn.RNN(6, 4, num_layers=2), [_SEQ]),
    "lstm": (lambda: nn.LSTM(6, 4), [_SEQ]),
    "gru": (lambda: nn.GRU(6, 4, bidirectional=True), [_SEQ]),
    "attention": (lambda: _SelfAttention(), [_SEQ]),
    "transformer": (lambda: nn.TransformerEncoderLayer(6, 2, dim_feedforward=8, dropout=0.0), [_SEQ]),
    "activations": (lambda: nn.Sequential(nn.GELU(), nn.SiLU(), nn.ELU(), nn.Softplus(), nn.LeakyReLU(0.1),
                                          nn.Tanh(), nn.Sigmoid(), nn.Hardtanh(), nn.Mish()), [_SEQ]),
    "dropout_eval": (lambda: nn.Sequential(nn.Dropout(0.5), nn.Linear(6, 3)).eval(), [_SEQ]),
    "flatten_softmax": (lambda: nn.Sequential(nn.Flatten(), nn.LogSoftmax(dim=1)), [_X]),
}


class _SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(6, 2)

    def forward(self, x):
        mask = mg.ones(x.shape[0], x.shape[0], dtype=mg.bool, device=x.device).triu(1)
        return self.mha(x, x, x, attn_mask=mask)[0]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_on_cuda_matches_cpu(name, fakecuda):
    make, inputs = LAYERS[name]
    out_c, grads_c, bufs_c = _run(make, inputs, "cpu")
    out_g, grads_g, bufs_g = _run(make, inputs, "cuda")
    np.testing.assert_allclose(out_g, out_c, rtol=1e-5, atol=1e-6)
    assert len(grads_g) == len(grads_c)
    for g, c in zip(grads_g, grads_c):
        np.testing.assert_allclose(g, c, rtol=1e-4, atol=1e-5)
    for g, c in zip(bufs_g, bufs_c):  # running statistics: the device sums in its own order
        np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-6)


def _logits():
    return rng.standard_normal((6, 5)).astype(np.float32)


LOSSES = {
    "cross_entropy": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), _logits(), np.array([0, 4, 2, 1, 3, 0])),
    "cross_entropy_ignore": (lambda x, t: F.cross_entropy(x, t, ignore_index=2), _logits(), np.array([0, 4, 2, 1, 3, 2])),
    "nll": (lambda x, t: F.nll_loss(F.log_softmax(x, 1), t, weight=mg.arange(1.0, 6.0, device=x.device)),
            _logits(), np.array([0, 4, 2, 1, 3, 0])),
    "mse": (F.mse_loss, _logits(), _logits()),
    "l1": (F.l1_loss, _logits(), _logits()),
    "smooth_l1": (F.smooth_l1_loss, _logits(), _logits()),
    "huber": (F.huber_loss, _logits(), _logits()),
    "bce": (lambda x, t: F.binary_cross_entropy(x.sigmoid(), t), _logits(), (_logits() > 0).astype(np.float32)),
    "bce_logits": (F.binary_cross_entropy_with_logits, _logits(), (_logits() > 0).astype(np.float32)),
    "kl_div": (lambda x, t: F.kl_div(F.log_softmax(x, 1), F.softmax(t, 1), reduction="batchmean"), _logits(),
               _logits()),
    "gaussian_nll": (lambda x, t: F.gaussian_nll_loss(x, t, mg.ones_like(x)), _logits(), _logits()),
    "cosine_embedding": (lambda x, t: F.cosine_embedding_loss(x, t, mg.ones(6, device=x.device)), _logits(),
                         _logits()),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_on_cuda_matches_cpu(name, fakecuda):
    fn, x, t = LOSSES[name]
    results = []
    for device in ("cpu", "cuda"):
        xt = mg.tensor(x, device=device, requires_grad=True)
        loss = fn(xt, mg.tensor(t, device=device))
        assert loss.device.type == device
        loss.backward()
        results.append((loss.item(), host(xt.grad)))
    (lc, gc), (lg, gg) = results
    np.testing.assert_allclose(lg, lc, rtol=1e-6)
    np.testing.assert_allclose(gg, gc, rtol=1e-5, atol=1e-7)


OPTIMIZERS = {
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.05),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.1),
    "adadelta": lambda ps: optim.Adadelta(ps, lr=1.0),
}


def _train(make_opt, device, move_after: bool):
    mg.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    if not move_after:
        model.to(device)
    opt = make_opt(model.parameters())
    if move_after:  # the optimizer was built before the move: parameters kept their identity
        model.to(device)
    sched = optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
    x = mg.tensor(np.random.default_rng(2).standard_normal((16, 4)).astype(np.float32), device=device)
    y = mg.tensor(np.arange(16) % 3, device=device)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    for state in opt.state.values():
        for k, v in state.items():
            if isinstance(v, mg.Tensor) and k != "step":
                assert v.device.type == device, k  # state lives on the parameter's device
    return losses, [host(p) for p in model.parameters()]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_on_cuda_matches_cpu(name, fakecuda):
    losses_c, params_c = _train(OPTIMIZERS[name], "cpu", False)
    for move_after in (False, True):
        losses_g, params_g = _train(OPTIMIZERS[name], "cuda", move_after)
        np.testing.assert_allclose(losses_g, losses_c, rtol=1e-5)
        for g, c in zip(params_g, params_c):
            np.testing.assert_allclose(g, c, rtol=1e-5, atol=1e-6)


def test_optimizer_state_dict_round_trip_onto_cuda(fakecuda):
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters())
    model(mg.randn(4, 3)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    model.to("cuda")
    opt2 = optim.Adam(model.parameters())
    opt2.load_state_dict(sd)  # CPU state onto CUDA parameters: moved, as PyTorch's load_state_dict casts
    for state in opt2.state.values():
        assert state["exp_avg"].is_cuda and state["step"].is_cpu
    model(mg.randn(4, 3, device="cuda")).sum().backward()
    opt2.step()


def test_dropout_training_on_cuda_draws_the_cuda_stream(fakecuda):
    x = mg.ones(1000, device="cuda")
    mg.manual_seed(0)
    a = F.dropout(x, 0.3)
    mg.manual_seed(0)
    b = F.dropout(mg.ones(1000), 0.3)
    assert a.is_cuda
    np.testing.assert_array_equal(host(a), b.numpy())  # the CUDA stream after manual_seed equals the CPU's


@pytest.mark.parametrize("init", ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
                                  "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "eye_", "zeros_", "ones_"])
def test_init_on_cuda_matches_cpu(init, fakecuda):
    values = []
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        w = mg.empty(4, 5, device=device)
        getattr(nn.init, init)(w)
        assert w.device.type == device
        values.append(host(w))
    np.testing.assert_allclose(values[1], values[0], rtol=1e-6)


def test_lbfgs_on_cuda_refuses_clearly(fakecuda):
    w = mg.ones(2, device="cuda", requires_grad=True)
    opt = optim.LBFGS([w])
    with pytest.raises(NotImplementedError, match="LBFGS: CUDA parameters are not supported"):
        opt.step(lambda: (w * w).sum())


def test_transformer_and_attention_masks_on_cuda(fakecuda):
    mg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False).eval()
    x = mg.randn(2, 3, 4)
    pad = mg.tensor([[0.0, 0.0, float("-inf")], [0.0, 0.0, 0.0]])
    causal = nn.Transformer.generate_square_subsequent_mask(3)
    with mg.no_grad():
        want = enc(x, mask=causal, src_key_padding_mask=pad)
        enc.to("cuda")
        got = enc(x.cuda(), mask=causal.cuda(), src_key_padding_mask=pad.cuda())
    assert got.is_cuda
    np.testing.assert_allclose(host(got), want.numpy(), rtol=1e-5, atol=1e-6)
    mha = nn.MultiheadAttention(4, 2, add_bias_kv=True, add_zero_attn=True).to("cuda")
    q = mg.randn(3, 1, 4, device="cuda")
    assert mha(q, q, q, attn_mask=causal.cuda())[0].is_cuda
