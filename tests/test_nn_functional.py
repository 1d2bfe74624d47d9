"""nn.functional and layers: gradcheck in float64, dropout, numerical stability, errors, warnings."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def t64(*shape, scale=1.0, grad=True, offset=0.0):
    return minigrad.tensor(rng.standard_normal(shape) * scale + offset, requires_grad=grad)


def probs64(*shape, grad=False):
    p = np.exp(rng.standard_normal(shape))
    return minigrad.tensor(p / p.sum(1, keepdims=True), requires_grad=grad)


N, C = 4, 3
TGT = minigrad.tensor([0, 2, 1, 2])
TGT_IGN = minigrad.tensor([0, -100, 1, 2])
W = minigrad.tensor([0.5, 1.5, 2.0], dtype=minigrad.float64)
T = t64(N, C, grad=False)  # fixed regression targets (gradcheck perturbs only the input)

LOSSES = {
    "ce": lambda x: F.cross_entropy(x, TGT),
    "ce_w_ign_ls": lambda x: F.cross_entropy(x, TGT_IGN, weight=W, label_smoothing=0.2),
    "ce_sum_ls": lambda x: F.cross_entropy(x, TGT, reduction="sum", label_smoothing=0.1),
    "ce_none": lambda x: F.cross_entropy(x, TGT, reduction="none"),
    "nll_w": lambda x: F.nll_loss(F.log_softmax(x, 1), TGT, weight=W),
    "mse": lambda x: F.mse_loss(x, T),
    "l1": lambda x: F.l1_loss(x, T),
    "smooth_l1": lambda x: F.smooth_l1_loss(x, T, beta=0.7),
    "huber": lambda x: F.huber_loss(x, T, delta=0.6, reduction="sum"),
    "bce": lambda x: F.binary_cross_entropy(F.sigmoid(x), minigrad.full_like(x.detach(), 0.3)),
    "bce_logits_pw": lambda x: F.binary_cross_entropy_with_logits(
        x, minigrad.full_like(x.detach(), 0.7), pos_weight=minigrad.tensor([1.0, 2.0, 0.5], dtype=minigrad.float64)),
    "kl_batchmean": lambda x: F.kl_div(F.log_softmax(x, 1), minigrad.full_like(x.detach(), 1 / 3),
                                       reduction="batchmean"),
    "kl_logt": lambda x: F.kl_div(F.log_softmax(x, 1), F.log_softmax(T, 1), reduction="sum", log_target=True),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradcheck(name):
    x = t64(N, C)
    assert gradcheck(LOSSES[name], (x,))


def test_ce_probability_target_gradcheck_both_inputs():
    x = t64(N, C)
    p = probs64(N, C, grad=True)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), (x, p))
    xk = t64(2, C, 3)
    assert gradcheck(lambda a: F.cross_entropy(a, minigrad.tensor([[0, 1, 2], [2, 2, 0]]), weight=W), (xk,))


@pytest.mark.parametrize("name", ["ce", "ce_w_ign_ls", "bce_logits_pw", "smooth_l1"])
def test_loss_gradgradcheck(name):
    assert gradgradcheck(LOSSES[name], (t64(N, C),))


ACTS = {
    "relu": F.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.1), "elu": lambda x: F.elu(x, 0.8),
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "softplus": lambda x: F.softplus(x, beta=2.0, threshold=5.0), "tanh": F.tanh, "sigmoid": F.sigmoid,
    "softmax": lambda x: F.softmax(x, dim=1), "log_softmax": lambda x: F.log_softmax(x, dim=0),
    "mish": F.mish, "logsigmoid": F.logsigmoid, "normalize": F.normalize,
}


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_gradcheck_and_gradgradcheck(name):
    x = t64(3, 4, scale=2.0)
    assert gradcheck(ACTS[name], (x,))
    assert gradgradcheck(ACTS[name], (x,))


LAYERS = {
    "linear": lambda: nn.Linear(4, 3),
    "bilinear": lambda: nn.Bilinear(4, 4, 2),
    "bn1d": lambda: nn.BatchNorm1d(4),
    "bn1d_eval": lambda: nn.BatchNorm1d(4).eval(),
    "layernorm": lambda: nn.LayerNorm(4),
    "groupnorm": lambda: nn.GroupNorm(2, 4),
    "mlp": lambda: nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.LayerNorm(5), nn.Linear(5, 2), nn.LogSoftmax(1)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck_input_and_parameters(name):
    minigrad.manual_seed(0)
    m = LAYERS[name]().double()
    params = list(m.parameters())
    for p in params:  # move affine parameters away from their 1/0 defaults
        with minigrad.no_grad():
            p.add_(minigrad.tensor(rng.standard_normal(p.shape) * 0.3))
    x = t64(6, 4, offset=0.5)
    if name == "bilinear":
        def f(x, *ps):
            return m(x, x * 0.5 + 1.0)
    else:
        def f(x, *ps):
            return m(x)
    if name.startswith("bn1d") and not name.endswith("eval"):
        m.momentum = 0.0  # keep the running statistics still while gradcheck calls forward many times
    assert gradcheck(f, (x, *params))


def test_embedding_gradcheck_and_padding_row():
    e = nn.Embedding(6, 3, padding_idx=2).double()
    idx = minigrad.tensor([[0, 2, 5], [2, 2, 1]])
    # (the padding row's output does depend on its value: only its gradient is defined as zero)
    assert gradcheck(lambda w: F.embedding(idx, w), (e.weight,))
    e(idx).sum().backward()
    g = e.weight.grad.numpy()
    assert not g[2].any() and np.all(g[0] == 1) and np.all(g[3] == 0)


def test_embedding_max_norm_renormalises_rows_in_place():
    w = minigrad.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = F.embedding(minigrad.tensor([0, 1]), w, max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(w.numpy()[0]), 1.0, rtol=1e-5)
    np.testing.assert_allclose(w.numpy()[1], [0.3, 0.4])  # already within the norm
    np.testing.assert_allclose(w.numpy()[2], [6.0, 8.0])  # not looked up
    np.testing.assert_allclose(out.numpy()[0], [0.6, 0.8], rtol=1e-5)


def test_embedding_from_pretrained_and_errors():
    w = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(minigrad.tensor([1, 0])).numpy(), [[3.0, 4.0], [1.0, 2.0]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(RuntimeError, match="indices"):
        e(minigrad.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="out of range"):
        e(minigrad.tensor([2]))
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


# -- dropout -------------------------------------------------------------------------------------

def test_dropout_statistics_scale_and_eval_identity():
    minigrad.manual_seed(0)
    x = minigrad.ones(200, 500, requires_grad=True)
    d = nn.Dropout(0.3)
    y = d(x)
    a = y.numpy()
    kept = a != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(a[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), a)  # gradient flows through the same mask
    d.eval()
    assert d(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert not F.dropout(x, 1.0).numpy().any()
    assert F.dropout(x, 0.0) is x


def test_dropout_reproducible_and_validates_p():
    x = minigrad.ones(50)
    minigrad.manual_seed(5)
    a = F.dropout(x).numpy()
    minigrad.manual_seed(5)
    b = F.dropout(x).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


def test_dropout2d_zeroes_whole_channels():
    minigrad.manual_seed(1)
    y = F.dropout2d(minigrad.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))


def test_inplace_relu_in_a_graph():
    x = t64(3, 4)
    h = x * 2
    y = nn.ReLU(inplace=True)(h)
    assert y is h
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * (x.numpy() > 0))


# -- numerical stability --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [minigrad.float32, minigrad.float64])
def test_extreme_logits_give_finite_values_and_gradients(dtype):
    x = minigrad.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.0, 0.0, -1e4]], dtype=dtype, requires_grad=True)
    tgt = minigrad.tensor([1, 0, 2])
    probs = minigrad.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]], dtype=dtype)
    outs = [
        F.cross_entropy(x, tgt), F.cross_entropy(x, tgt, label_smoothing=0.1), F.cross_entropy(x, probs),
        F.nll_loss(F.log_softmax(x, 1), tgt), F.softmax(x, 1).sum(), F.log_softmax(x, 1).sum(),
        F.binary_cross_entropy_with_logits(x, minigrad.ones_like(x) * 0.5), F.softplus(x).sum(),
        F.logsigmoid(x).sum(), F.sigmoid(x).sum(), F.elu(x).sum(), F.silu(x).sum(), F.gelu(x).sum(),
        F.binary_cross_entropy(F.sigmoid(x), minigrad.ones_like(x) * 0.5), F.mish(x).sum(),
    ]
    for i, out in enumerate(outs):
        assert np.isfinite(out.numpy()).all(), f"loss {i} not finite: {out}"
        x.grad = None
        out.backward()
        assert np.isfinite(x.grad.numpy()).all(), f"gradient {i} not finite: {x.grad}"
    # the right answers, not just finite ones
    ce = F.cross_entropy(x, tgt, reduction="none").numpy()
    np.testing.assert_allclose(ce, [2e4, 2e4, 1e4 + np.log(2.0)], rtol=1e-6)


def test_bce_clamps_log_at_minus_100():
    out = F.binary_cross_entropy(minigrad.tensor([0.0, 1.0]), minigrad.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(out.numpy(), [100.0, 100.0])
    x = minigrad.tensor([0.0, 1.0, 0.5], requires_grad=True)
    F.binary_cross_entropy(x, minigrad.tensor([1.0, 0.0, 1.0])).backward()
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("targets,ignore", [([0, -100, 2, 1], -100), ([0, 1, 2, 1], 1), ([2, 2, 0, 1], 5)])
def test_cross_entropy_ignore_index_without_weight(targets, ignore):
    x0 = np.random.default_rng(3).standard_normal((4, 3))
    x = minigrad.tensor(x0, requires_grad=True)
    loss = F.cross_entropy(x, minigrad.tensor(targets), ignore_index=ignore)
    logp = x0 - np.log(np.exp(x0).sum(1, keepdims=True))
    kept = [i for i, t in enumerate(targets) if t != ignore]
    want = -np.mean([logp[i, targets[i]] for i in kept])
    np.testing.assert_allclose(loss.item(), want, rtol=1e-12)
    loss.backward()
    assert np.abs(x.grad.numpy()[[i for i in range(4) if i not in kept]]).sum() == 0


# -- errors and warnings ----------------------------------------------------------------------------

def test_loss_input_errors():
    x = t64(N, C)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, minigrad.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, minigrad.tensor([0, 1]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(x, TGT, reduction="batchmean")
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x, minigrad.zeros_like(x))
    with pytest.raises(ValueError, match="same as input size"):
        F.binary_cross_entropy_with_logits(x, minigrad.zeros(N))
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        F.nll_loss(x, TGT, weight=minigrad.ones(5, dtype=minigrad.float64))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, TGT, label_smoothing=1.5)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(x, x, weight=minigrad.ones(3))


def test_all_ignored_mean_is_nan_as_pytorch():
    x = t64(2, C)
    out = F.cross_entropy(x, minigrad.tensor([-100, -100]))
    assert np.isnan(out.item())


def test_warnings_as_pytorch():
    x = t64(N, C)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, minigrad.zeros(C, dtype=minigrad.float64))
    with pytest.warns(UserWarning, match="'batchmean'"):
        F.kl_div(x, x.detach())
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(1), 1.0)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        out = F.mse_loss(x, x.detach() + 1, size_average=False)
    assert out.item() == pytest.approx(N * C)


def test_layer_errors():
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        nn.Linear(3, 2)(minigrad.ones(4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(minigrad.ones(1, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(minigrad.ones(3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(minigrad.ones(2, 3))
    with pytest.raises(RuntimeError, match="channels"):
        nn.BatchNorm1d(3)(minigrad.ones(4, 5))
    with pytest.raises(RuntimeError, match="normalized_shape"):
        nn.LayerNorm(4)(minigrad.ones(2, 5))
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(minigrad.ones(2), approximate="fast")


def test_one_hot_and_pad():
    out = F.one_hot(minigrad.tensor([0, 2, 1]), 4)
    assert out.dtype == minigrad.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[[0, 2, 1]])
    assert F.one_hot(minigrad.tensor([[3]])).shape == (1, 1, 4)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(minigrad.tensor([1.0]))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(minigrad.tensor([5]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(minigrad.tensor([-1]), 3)
    x = t64(2, 3)
    y = F.pad(x, (1, 1), value=2.0)
    assert y.shape == (2, 5) and np.all(y.numpy()[:, 0] == 2.0)
    assert gradcheck(lambda a: F.pad(a, (0, 2, 1, 0)), (x,))


# -- batch norm running statistics ------------------------------------------------------------------

def test_batchnorm_running_stats_and_modes():
    bn = nn.BatchNorm1d(2, momentum=0.5).double()
    x = minigrad.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]], dtype=minigrad.float64)
    bn(x)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.5 * 3.0, 0.5 * 6.0])
    np.testing.assert_allclose(bn.running_var.numpy(), [0.5 + 0.5 * 4.0, 0.5 + 0.5 * 16.0])  # unbiased
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    before = bn.running_mean.numpy().copy()
    y = bn(x)
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)
    np.testing.assert_allclose(y.numpy(), (x.numpy() - before) / np.sqrt(bn.running_var.numpy() + 1e-5))
    cma = nn.BatchNorm1d(1, momentum=None).double()
    for v in ([1.0, 3.0], [5.0, 7.0]):
        cma(minigrad.tensor(v, dtype=minigrad.float64).reshape(2, 1))
    np.testing.assert_allclose(cma.running_mean.numpy(), [4.0])  # cumulative average of 2 and 6


INPLACE = {
    "relu": lambda h, ip: F.relu(h, inplace=ip), "leaky_relu": lambda h, ip: F.leaky_relu(h, 0.1, inplace=ip),
    "elu": lambda h, ip: F.elu(h, 0.5, inplace=ip), "silu": lambda h, ip: F.silu(h, inplace=ip),
    "mish": lambda h, ip: F.mish(h, inplace=ip), "hardtanh": lambda h, ip: F.hardtanh(h, inplace=ip),
    "relu6": lambda h, ip: F.relu6(h * 4, inplace=ip), "dropout": lambda h, ip: F.dropout(h, 0.4, inplace=ip),
    "dropout1d": lambda h, ip: F.dropout1d(h.reshape(3, 2, 2), 0.5, inplace=ip),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_variants_match_out_of_place_in_a_graph(name):
    fn = INPLACE[name]
    x = t64(3, 4, scale=2.0)
    results = []
    for ip in (False, True):
        x.grad = None
        h = x * 1.5
        minigrad.manual_seed(9)
        y = fn(h, ip)
        (y * minigrad.arange(y.numel(), dtype=minigrad.float64).reshape(y.shape)).sum().backward()
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy()))
        if ip and name not in ("relu6", "dropout1d"):
            assert y is h
    np.testing.assert_allclose(results[1][0], results[0][0])
    np.testing.assert_allclose(results[1][1], results[0][1])


def test_inplace_on_a_leaf_requiring_grad_raises():
    x = t64(3)
    with pytest.raises(RuntimeError, match="leaf"):
        F.leaky_relu(x, inplace=True)
    with minigrad.no_grad():
        y = minigrad.tensor([-1.0, 2.0])
        assert F.elu(y, inplace=True) is y
        np.testing.assert_allclose(y.numpy(), [np.expm1(-1.0), 2.0], rtol=1e-6)


def test_kinks_follow_pytorch():
    x = minigrad.tensor([-1.0, 0.0, 1.0, 6.0, -3.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    cases = {  # gradient of each function at the points above, as PyTorch's backward formulas give
        "relu6": (F.relu6, [0, 0, 1, 0, 0, 1]),
        "hardtanh": (F.hardtanh, [0, 1, 0, 0, 0, 0]),
        "hardsigmoid": (F.hardsigmoid, [1 / 6, 1 / 6, 1 / 6, 0, 0, 0]),
        "hardswish": (F.hardswish, [1 / 6, 0.5, 5 / 6, 1, 0, 1]),
        "relu": (F.relu, [0, 0, 1, 1, 0, 1]),
        "leaky_relu": (lambda t: F.leaky_relu(t, 0.1), [0.1, 0.1, 1, 1, 0.1, 1]),
        "elu": (F.elu, [np.exp(-1.0), 1, 1, 1, np.exp(-3.0), 1]),
        "threshold": (lambda t: F.threshold(t, 1.0, 5.0), [0, 0, 0, 1, 0, 1]),
        "softshrink": (lambda t: F.softshrink(t, 1.0), [0, 0, 0, 1, 1, 1]),
        "l1": (lambda t: F.l1_loss(t, minigrad.zeros_like(t), reduction="none"), [-1, 0, 1, 1, -1, 1]),
        "smooth_l1": (lambda t: F.smooth_l1_loss(t, minigrad.zeros_like(t), reduction="none"),
                      [-1, 0, 1, 1, -1, 1]),
        "huber": (lambda t: F.huber_loss(t, minigrad.zeros_like(t), reduction="none", delta=3.0),
                  [-1, 0, 1, 3, -3, 3]),
    }
    for name, (fn, expected) in cases.items():
        x.grad = None
        fn(x).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, err_msg=name)
