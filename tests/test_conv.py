"""Convolution, pooling and padding: values and gradients against PyTorch fixtures, gradcheck,
double backward, argument handling and errors."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import minigrad
import minigrad.ops.conv as C
import minigrad.runtime as runtime
from minigrad.autograd import gradcheck, gradgradcheck

HERE = os.path.dirname(os.path.abspath(__file__))
REF = np.load(os.path.join(HERE, "fixtures", "conv.npz"))


def _cases(prefix):
    keys = sorted({k.split("/")[0] for k in REF.files if k.startswith(prefix)}, key=lambda s: int(s[len(prefix):]))
    assert keys, prefix
    return keys


def _leaf(key, name):
    return minigrad.tensor(REF[f"{key}/{name}"], requires_grad=True)


def _check(key, out, tensors, atol=1e-10):
    np.testing.assert_allclose(out.numpy(), REF[f"{key}/out"], rtol=1e-9, atol=atol)
    out.backward(minigrad.tensor(REF[f"{key}/gy"]))
    for name, t in tensors.items():
        ref = f"{key}/g_{name}"
        assert t.grad is not None, name
        np.testing.assert_allclose(t.grad.numpy(), REF[ref], rtol=1e-9, atol=atol, err_msg=f"{key} grad {name}")


# Case tables mirror tests/fixtures/gen_conv.py.
CONV2D = [
    (1, 0, 1, 1), (2, 1, 1, 1), ((2, 3), (1, 2), (2, 1), 2), (1, 1, 1, 6), (1, "same", 1, 1),
    (1, "same", (2, 1), 1), (3, "valid", 1, 1), (1, 2, 1, 1), (3, 2, 2, 4),
]


@pytest.mark.parametrize("i", range(len(CONV2D)))
def test_conv2d_matches_torch(i):
    key = f"conv2d{i}"
    s, p, d, g = CONV2D[i]
    t = {"x": _leaf(key, "x"), "w": _leaf(key, "w")}
    if f"{key}/b" in REF.files:
        t["b"] = _leaf(key, "b")
    out = C.conv2d(t["x"], t["w"], t.get("b"), stride=s, padding=p, dilation=d, groups=g)
    _check(key, out, t)


CONV1D = [(1, 0, 1, 1), (2, 1, 2, 2), (1, "same", 1, 1)]


@pytest.mark.parametrize("i", range(len(CONV1D)))
def test_conv1d_matches_torch(i):
    key = f"conv1d{i}"
    s, p, d, g = CONV1D[i]
    t = {"x": _leaf(key, "x"), "w": _leaf(key, "w")}
    if f"{key}/b" in REF.files:
        t["b"] = _leaf(key, "b")
    out = C.conv1d(t["x"], t["w"], t.get("b"), s, p, d, g)
    _check(key, out, t)


CONVT = [(2, 1, 1, 1, 1), (1, 0, 0, 2, 2)]


@pytest.mark.parametrize("i", range(len(CONVT)))
def test_conv_transpose2d_matches_torch(i):
    key = f"convt{i}"
    s, p, op, g, d = CONVT[i]
    t = {"x": _leaf(key, "x"), "w": _leaf(key, "w"), "b": _leaf(key, "b")}
    out = C.conv_transpose2d(t["x"], t["w"], t["b"], s, p, op, g, d)
    _check(key, out, t)


MAXPOOL = [(2, None, 0, 1, False), (3, 2, 1, 1, False), ((3, 2), (2, 3), (1, 0), (2, 1), True),
           (2, 2, 0, 1, True), (3, 1, 1, 1, False)]


@pytest.mark.parametrize("i", range(len(MAXPOOL)))
def test_max_pool2d_matches_torch_with_ties(i):
    key = f"maxpool{i}"
    k, s, p, d, cm = MAXPOOL[i]
    t = {"x": _leaf(key, "x")}
    out, idx = C.max_pool2d(t["x"], k, s, p, d, cm, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), REF[f"{key}/idx"])
    _check(key, out, t)


AVGPOOL = [(2, None, 0, False, True, None), (3, 2, 1, False, True, None), (3, 2, 1, False, False, None),
           ((3, 2), (2, 3), (1, 0), True, True, None), ((3, 2), (2, 3), (1, 0), True, False, None),
           (3, 1, 1, False, True, 5)]


@pytest.mark.parametrize("i", range(len(AVGPOOL)))
def test_avg_pool2d_matches_torch(i):
    key = f"avgpool{i}"
    k, s, p, cm, cip, dov = AVGPOOL[i]
    t = {"x": _leaf(key, "x")}
    _check(key, C.avg_pool2d(t["x"], k, s, p, cm, cip, dov), t)


ADAPTIVE = [(3, 4), (4, 4), 1, (None, 3)]


@pytest.mark.parametrize("i", range(len(ADAPTIVE)))
def test_adaptive_avg_pool2d_matches_torch(i):
    key = f"adaptive{i}"
    t = {"x": _leaf(key, "x")}
    _check(key, C.adaptive_avg_pool2d(t["x"], ADAPTIVE[i]), t)


PADS = [((1, 2, 2, 1), "reflect"), ((3, 1, 0, 2), "replicate"), ((2, 2, 1, 3), "circular"),
        ((2, 3), "reflect"), ((3, 2), "circular"), ((1, 4), "replicate")]


@pytest.mark.parametrize("i", range(len(PADS)))
def test_pad_modes_match_torch(i):
    key = f"pad{i}"
    t = {"x": _leaf(key, "x")}
    _check(key, C.pad(t["x"], *PADS[i]), t)


def _rand(*shape, seed=0):
    rng = np.random.default_rng(seed + len(shape) * 7 + shape[-1])
    return minigrad.tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("stride,padding,dilation,groups,bias", [
    (1, 0, 1, 1, True), (2, 1, 1, 1, False), ((1, 2), (2, 0), (2, 1), 2, True), (1, "same", 1, 1, True),
    (1, (1, 2), (1, 2), 2, False),
])
def test_conv2d_gradcheck_and_gradgradcheck(stride, padding, dilation, groups, bias):
    x = _rand(2, 2, 5, 6)
    w = _rand(4, 2 // groups, 3, 2, seed=1)
    b = _rand(4, seed=2) if bias else None
    inputs = (x, w) if b is None else (x, w, b)

    def f(*a):
        return C.conv2d(a[0], a[1], a[2] if len(a) > 2 else None, stride, padding, dilation, groups)

    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_conv1d_and_conv_transpose2d_gradgradcheck():
    x = _rand(2, 2, 7)
    w = _rand(3, 2, 3, seed=1)
    assert gradgradcheck(lambda a, b: C.conv1d(a, b, stride=2, padding=1), (x, w))
    xt = _rand(1, 2, 3, 4)
    wt = _rand(2, 3, 2, 3, seed=3)
    f = lambda a, b: C.conv_transpose2d(a, b, stride=2, padding=1, output_padding=1)
    assert gradcheck(f, (xt, wt))
    assert gradgradcheck(f, (xt, wt))


def test_double_backward_through_conv_gradient_penalty():
    # d/dw of ||d loss/dx||^2: needs the VJPs of the VJPs (conv <-> conv_transpose <-> conv2d_weight).
    x = _rand(2, 3, 6, 6)
    w = _rand(4, 3, 3, 3, seed=1)

    def penalty(x, w):
        with minigrad.enable_grad():  # gradcheck's finite differences run under no_grad
            y = C.conv2d(x, w, padding=1).tanh().sum()
            (gx,) = minigrad.autograd.grad(y, (x,), create_graph=True)
            return (gx * gx).sum()

    assert gradcheck(penalty, (x, w))


def _distinct(*shape, seed=0):
    # Well-separated values: finite differences never cross a tie.
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return minigrad.tensor(rng.permutation(n).reshape(shape) * 0.1, requires_grad=True)


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", [
    (2, None, 0, 1, False), (3, 2, 1, 1, True), ((2, 3), 1, (1, 1), (2, 1), False),
])
def test_max_pool2d_gradcheck_and_gradgradcheck(kernel, stride, padding, dilation, ceil_mode):
    x = _distinct(2, 2, 7, 6)
    f = lambda a: C.max_pool2d(a, kernel, stride, padding, dilation, ceil_mode)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode,count_include_pad", [
    (2, None, 0, False, True), (3, 2, 1, True, False),
])
def test_avg_and_adaptive_pool_gradgradcheck(kernel, stride, padding, ceil_mode, count_include_pad):
    x = _rand(1, 2, 7, 6)
    assert gradgradcheck(lambda a: C.avg_pool2d(a, kernel, stride, padding, ceil_mode, count_include_pad), (x,))
    assert gradgradcheck(lambda a: C.adaptive_avg_pool2d(a, (3, 4)), (x,))


def test_pad_modes_gradcheck():
    x = _rand(1, 2, 4, 5)
    for mode in ("reflect", "replicate", "circular"):
        assert gradcheck(lambda a, m=mode: C.pad(a, (2, 1, 1, 3), mode=m), (x,))


def test_float32_stays_float32_and_no_grad_records_nothing():
    x = minigrad.randn(2, 3, 8, 8)
    w = minigrad.randn(4, 3, 3, 3, requires_grad=True)
    y = C.max_pool2d(C.conv2d(x, w, padding=1).relu(), 2)
    assert y.dtype == minigrad.float32 and y.shape == (2, 4, 4, 4)
    y.sum().backward()
    assert w.grad.dtype == minigrad.float32
    with minigrad.no_grad():
        z = C.conv2d(x, w)
    assert z.grad_fn is None and not z.requires_grad


def test_unbatched_inputs():
    x = _rand(3, 6, 6)
    w = _rand(2, 3, 3, 3, seed=1)
    assert C.conv2d(x, w).shape == (2, 4, 4)
    np.testing.assert_allclose(C.conv2d(x, w).numpy(), C.conv2d(x.unsqueeze(0), w)[0].numpy())
    assert C.conv1d(_rand(3, 9), _rand(2, 3, 4, seed=1)).shape == (2, 6)
    assert C.max_pool2d(x, 2).shape == (3, 3, 3)
    assert C.avg_pool2d(x, 3).shape == (3, 2, 2)


def test_max_pool_propagates_nan_like_torch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = np.nan
    out = C.max_pool2d(minigrad.tensor(x, requires_grad=True), 2)
    assert np.isnan(out.numpy()[0, 0, 0, 0]) and out.numpy()[0, 0, 1, 1] == 15.0


def test_conv_errors_name_the_problem():
    x = minigrad.randn(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="channels"):
        C.conv2d(x, minigrad.randn(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        C.conv2d(x, minigrad.randn(4, 3, 7, 7))
    with pytest.raises(RuntimeError, match="strided"):
        C.conv2d(x, minigrad.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="should be the same"):
        C.conv2d(x, minigrad.randn(4, 3, 3, 3, dtype=minigrad.float64))
    with pytest.raises(RuntimeError, match="Expected 3D"):
        C.conv2d(minigrad.randn(5, 5), minigrad.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match="Invalid padding string"):
        C.conv2d(x, minigrad.randn(4, 3, 3, 3), padding="full")
    with pytest.raises(RuntimeError, match="not implemented"):
        C.conv2d(minigrad.ones(1, 3, 5, 5, dtype=minigrad.int64), minigrad.ones(4, 3, 3, 3, dtype=minigrad.int64))
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        C.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        C.max_pool2d(x, 7)
    with pytest.raises(RuntimeError, match="Padding size should be less"):
        C.pad(x, (5, 0, 0, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 4D"):
        C.pad(x, (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="mode"):
        C.pad(x, (1, 1), mode="wrap")


def test_second_backward_through_freed_conv_raises_and_retain_graph_works():
    x = _rand(1, 2, 5, 5)
    w = _rand(3, 2, 3, 3, seed=1)
    y = C.conv2d(x, w).sum()
    y.backward(retain_graph=True)
    g1 = w.grad.numpy().copy()
    y.backward()  # the im2col columns were used once; the second pass recomputes them
    np.testing.assert_allclose(w.grad.numpy(), 2 * g1)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_conv_batchnorm2d_training_matches_torch():
    # Conv2d -> BatchNorm2d(momentum=0.2) -> ReLU, 4 SGD(momentum) steps on shifting inputs: losses,
    # weights, running statistics (unbiased variance), num_batches_tracked and the eval output agree.
    import minigrad.nn as nn

    conv = nn.Conv2d(3, 4, 3, padding=1).double()
    bn = nn.BatchNorm2d(4, momentum=0.2).double()
    init = lambda name: minigrad.tensor(REF[f"bn/init_{name}"])
    conv.load_state_dict({k: init(k) for k in ("weight", "bias")})
    bn.load_state_dict({k: init(f"bn.{k}") for k in bn.state_dict()})
    opt = minigrad.optim.SGD(list(conv.parameters()) + list(bn.parameters()), lr=0.1, momentum=0.9)
    for step in range(4):
        opt.zero_grad()
        loss = (bn(conv(minigrad.tensor(REF[f"bn/x{step}"]))).relu() ** 2).mean()
        loss.backward()
        opt.step()
        np.testing.assert_allclose(loss.item(), REF[f"bn/loss{step}"], rtol=1e-10)
    for name, t in list(conv.state_dict().items()) + [(f"bn.{k}", v) for k, v in bn.state_dict().items()]:
        np.testing.assert_allclose(np.asarray(t.numpy()), REF[f"bn/final_{name}"], rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    bn.eval()
    out = bn(conv(minigrad.tensor(REF["bn/x_eval"])))
    np.testing.assert_allclose(out.numpy(), REF["bn/out_eval"], rtol=1e-9, atol=1e-12)


def test_conv_modules_init_repr_and_padding_modes():
    import minigrad.nn as nn

    minigrad.manual_seed(0)
    c = nn.Conv2d(4, 6, (3, 5), stride=2, padding=1, groups=2)
    assert c.weight.shape == (6, 2, 3, 5) and c.bias.shape == (6,)
    bound = 1 / math.sqrt(2 * 3 * 5)  # kaiming_uniform_(a=sqrt(5)) and the bias bound are both 1/sqrt(fan_in)
    assert np.abs(c.weight.numpy()).max() <= bound and np.abs(c.bias.numpy()).max() <= bound
    assert repr(c) == "Conv2d(4, 6, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), groups=2)"
    assert repr(nn.Conv1d(2, 3, 4, bias=False)) == "Conv1d(2, 3, kernel_size=(4,), stride=(1,), bias=False)"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    x = minigrad.randn(2, 4, 7, 8)
    assert c(x).shape == (2, 6, 4, 3)
    for mode in ("reflect", "replicate", "circular"):
        m = nn.Conv2d(4, 2, 3, padding=1, padding_mode=mode)
        ref = C.conv2d(C.pad(x, (1, 1, 1, 1), mode=mode), m.weight, m.bias)
        np.testing.assert_allclose(m(x).numpy(), ref.numpy(), rtol=1e-6)
    same = nn.Conv2d(4, 2, 4, padding="same", dilation=2)
    assert same(x).shape == (2, 2, 7, 8)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")
    t = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    assert t.weight.shape == (4, 3, 3, 3)
    assert t(x).shape == (2, 3, 13, 15) and t(x, output_size=(14, 16)).shape == (2, 3, 14, 16)
    assert nn.AdaptiveAvgPool2d((2, 3))(x).shape == (2, 4, 2, 3)
    assert nn.AvgPool1d(2)(minigrad.randn(2, 3, 9)).shape == (2, 3, 4)
    assert nn.MaxPool1d(3, 2)(minigrad.randn(2, 3, 9)).shape == (2, 3, 4)
    assert nn.AdaptiveAvgPool1d(3)(minigrad.randn(2, 3, 9)).shape == (2, 3, 3)


def test_batch_split_across_threads_gives_the_same_values(monkeypatch):
    # Force the thread-pool path on small inputs (chunks of one or two images) and compare with
    # the torch fixtures: forward, input/weight/bias gradients, stride 1 and strided paths.
    monkeypatch.setattr(runtime, "_NUM_THREADS", 3)
    monkeypatch.setattr(runtime, "_MIN_WORK", 1)
    for i in (0, 1, 2, 4):
        test_conv2d_matches_torch(i)
    test_conv_transpose2d_matches_torch(0)
    for i in range(len(MAXPOOL)):
        test_max_pool2d_matches_torch_with_ties(i)
    x = _rand(5, 2, 6, 6)
    w = _rand(3, 2, 3, 3, seed=1)
    assert gradgradcheck(lambda a, b: C.conv2d(a, b, padding=1), (x, w))
