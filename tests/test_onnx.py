"""minigrad.onnx.export: the written file, run by onnxruntime, gives the eager forward's outputs.

Every mapped op of the table has a sample here (a test fails when one is missing); models (an
MLP, a CNN, an LSTM language model, a Transformer encoder layer) are compared on inputs the
export never saw, so a value baked in from the example inputs fails. Skipped without onnx and
onnxruntime (both in the dev extra).
"""

from __future__ import annotations

import importlib.util
import io
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.compiler import onnx as exporter
from minigrad.nn import functional as F
from minigrad.ops import elementwise as E
from minigrad.ops import movement as M
from minigrad.ops.registry import REGISTRY

HAVE_RUNTIME = importlib.util.find_spec("onnx") is not None and importlib.util.find_spec("onnxruntime") is not None
needs_runtime = pytest.mark.skipif(not HAVE_RUNTIME, reason="needs onnx and onnxruntime (the dev extra)")

RTOL, ATOL = 1e-5, 1e-5  # float32: the runtime's kernels may sum in another order than numpy's


class Fn(nn.Module):
    """A module whose forward is ``fn``."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def _session(proto_or_bytes):
    import onnxruntime as ort

    data = proto_or_bytes if isinstance(proto_or_bytes, bytes) else proto_or_bytes.SerializeToString()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # (unused-initializer notes are not failures)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out.numpy()]


def _eager(model, inputs):
    model.eval()
    with mg.no_grad():
        return _flat(model(*[mg.from_numpy(a) for a in inputs]))


def _run(model, example, fresh, rtol=RTOL, atol=ATOL, **kwargs):
    """Export ``model`` on ``example`` arrays; run the file on ``fresh`` ones; compare with eager."""
    buf = io.BytesIO()
    exporter.export(model, tuple(mg.from_numpy(a) for a in example), buf, **kwargs)
    sess = _session(buf.getvalue())
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, dict(zip(names, fresh)))
    want = _eager(model, fresh)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert g.dtype == w.dtype
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(g, w)
    return sess


# ---------------------------------------------------------------------------
# One sample per mapped op: (op, forward, input makers). A maker draws an array from a generator,
# so the example and the fresh inputs differ.

def normal(*shape, dtype=np.float32):
    return lambda r: r.standard_normal(shape).astype(dtype)


def positive(*shape):
    return lambda r: r.uniform(0.5, 2.0, shape).astype(np.float32)


def unit(*shape):
    return lambda r: r.uniform(-0.9, 0.9, shape).astype(np.float32)


def ints(*shape, lo=-6, hi=7, dtype=np.int64):
    return lambda r: r.integers(lo, hi, shape).astype(dtype)


def nonzero_ints(*shape):
    return lambda r: (r.integers(1, 5, shape) * r.choice([-1, 1], shape)).astype(np.int64)


def specials(*shape):
    def make(r):
        a = r.standard_normal(shape).astype(np.float32)
        a.flat[::3] = np.inf
        a.flat[1::5] = -np.inf
        a.flat[2::4] = np.nan
        return a
    return make


def index(*shape, hi):
    return lambda r: r.integers(0, hi, shape).astype(np.int64)


SAMPLES = [
    ("neg", lambda x: -x, [normal(3, 4)]),
    ("exp", lambda x: x.exp(), [normal(3, 4)]),
    ("log", lambda x: x.log(), [positive(3, 4)]),
    ("log1p", lambda x: x.log1p(), [positive(3, 4)]),
    ("expm1", lambda x: x.expm1(), [normal(3, 4)]),
    ("sqrt", lambda x: x.sqrt(), [positive(3, 4)]),
    ("rsqrt", lambda x: x.rsqrt(), [positive(3, 4)]),
    ("sin", lambda x: x.sin(), [normal(3, 4)]),
    ("cos", lambda x: x.cos(), [normal(3, 4)]),
    ("tan", lambda x: x.tan(), [unit(3, 4)]),
    ("tanh", lambda x: x.tanh(), [normal(3, 4)]),
    ("sigmoid", lambda x: x.sigmoid(), [normal(3, 4)]),
    ("erf", lambda x: x.erf(), [normal(3, 4)]),
    ("relu", lambda x: x.relu(), [normal(3, 4)]),
    ("abs", lambda x: x.abs(), [normal(3, 4)]),
    ("sign", lambda x: x.sign(), [normal(3, 4)]),
    ("floor", lambda x: x.floor(), [normal(3, 4)]),
    ("ceil", lambda x: x.ceil(), [normal(3, 4)]),
    ("round", lambda x: (x.round(), x.round(decimals=2)), [normal(3, 4)]),
    ("clamp", lambda x: (x.clamp(-0.5, 0.5), x.clamp(min=0.1), x.clamp(max=-0.2)), [normal(3, 4)]),
    ("to", lambda x: (x.to(mg.float64), x.to(mg.float16)), [normal(3, 4)]),
    ("logical_not", lambda x: (x > 0).logical_not(), [normal(3, 4)]),
    ("bitwise_not", lambda x: ~x, [ints(3, 4)]),
    ("isnan", lambda x: x.isnan(), [specials(3, 4)]),
    ("isinf", lambda x: x.isinf(), [specials(3, 4)]),
    ("isfinite", lambda x: x.isfinite(), [specials(3, 4)]),
    ("add", lambda a, b: (a + b, a + 2.5), [normal(3, 4), normal(4)]),
    ("sub", lambda a, b: (a - b, 1.5 - a), [normal(3, 4), normal(3, 1)]),
    ("mul", lambda a, b: (a * b, a * 3.0), [normal(3, 4), normal(4)]),
    ("div", lambda a, b: (a / b, a / 4.0, 1.0 / b), [normal(3, 4), positive(4)]),
    ("pow", lambda a, b: (a ** b, a ** 2, 2.0 ** b), [positive(3, 4), normal(3, 4)]),
    ("maximum", lambda a, b: mg.maximum(a, b), [normal(3, 4), normal(4)]),
    ("minimum", lambda a, b: mg.minimum(a, b), [normal(3, 4), normal(3, 1)]),
    ("remainder", lambda a, b, i, j: (a % b, i % j), [normal(3, 4), positive(4), ints(3, 4), nonzero_ints(3, 4)]),
    ("floor_divide", lambda a, b, i, j: (a // b, i // j),
     [normal(3, 4), positive(4), ints(3, 4), nonzero_ints(3, 4)]),
    ("eq", lambda i, j: i == j, [ints(3, 4, lo=0, hi=3), ints(3, 4, lo=0, hi=3)]),
    ("ne", lambda i, j: i != j, [ints(3, 4, lo=0, hi=3), ints(3, 4, lo=0, hi=3)]),
    ("lt", lambda a, b: a < b, [normal(3, 4), normal(4)]),
    ("le", lambda i, j: i <= j, [ints(3, 4, lo=0, hi=3), ints(3, 4, lo=0, hi=3)]),
    ("gt", lambda a, b: a > b, [normal(3, 4), normal(4)]),
    ("ge", lambda i, j: i >= j, [ints(3, 4, lo=0, hi=3), ints(3, 4, lo=0, hi=3)]),
    ("logical_and", lambda a, b: (a > 0).logical_and(b > 0), [normal(3, 4), normal(3, 4)]),
    ("logical_or", lambda a, b: (a > 0).logical_or(b > 0), [normal(3, 4), normal(3, 4)]),
    ("logical_xor", lambda a, b: (a > 0).logical_xor(b > 0), [normal(3, 4), normal(3, 4)]),
    ("bitwise_and", lambda i, j: i & j, [ints(3, 4), ints(3, 4)]),
    ("bitwise_or", lambda i, j: i | j, [ints(3, 4), ints(3, 4)]),
    ("bitwise_xor", lambda i, j: i ^ j, [ints(3, 4), ints(3, 4)]),
    ("tanh_backward", lambda g, y: E.tanh_backward(g, y), [normal(3, 4), unit(3, 4)]),
    ("sigmoid_backward", lambda g, y: E.sigmoid_backward(g, y), [normal(3, 4), unit(3, 4)]),
    ("relu_backward", lambda g, y: E.relu_backward(g, y), [normal(3, 4), normal(3, 4)]),
    ("where", lambda a, b: mg.where(a > 0, a, b), [normal(3, 4), normal(4)]),
    ("sum", lambda x, i: (x.sum(), x.sum(1), x.sum((0, 2), keepdim=True), i.sum(0)), [normal(2, 3, 4), ints(3, 4)]),
    ("mean", lambda x: (x.mean(), x.mean(-1), x.mean((0, 1), keepdim=True)), [normal(2, 3, 4)]),
    ("softmax", lambda x: (F.softmax(x, -1), F.softmax(x, 0)), [normal(3, 4)]),
    ("log_softmax", lambda x: F.log_softmax(x, 1), [normal(3, 4)]),
    ("amax", lambda x: (x.amax(), x.amax(1), x.amax(0, keepdim=True)), [normal(3, 4)]),
    ("amin", lambda x: (x.amin(), x.amin(-1)), [normal(3, 4)]),
    ("prod", lambda x: (x.prod(), x.prod(1)), [positive(3, 4)]),
    ("cumsum", lambda x: (x.cumsum(0), x.cumsum(-1)), [normal(3, 4)]),
    ("norm", lambda x: (x.norm(), x.norm(p=1, dim=1), x.norm(p=3, dim=0, keepdim=True)), [normal(3, 4)]),
    ("nll_loss", lambda x, t: (F.nll_loss(x, t), F.cross_entropy(x, t, reduction="sum")),
     [normal(5, 4), index(5, hi=4)]),
    ("argmax", lambda x: (x.argmax(), x.argmax(1), x.argmax(0, keepdim=True)), [normal(3, 4)]),
    ("argmin", lambda x: (x.argmin(), x.argmin(-1)), [normal(3, 4)]),
    ("all", lambda x: ((x > -1).all(), (x > -1).all(1)), [normal(3, 4)]),
    ("any", lambda x: ((x > 1).any(), (x > 1).any(0)), [normal(3, 4)]),
    ("reshape", lambda x: (x.reshape(4, 6), x.reshape(-1)), [normal(2, 3, 4)]),
    ("permute", lambda x: (x.permute(2, 0, 1), x.transpose(0, 1)), [normal(2, 3, 4)]),
    ("broadcast_to", lambda x: x.expand(2, 3, 4), [normal(3, 1)]),
    ("sum_to", lambda x: M.sum_to(x, (3, 1)), [normal(2, 3, 4)]),
    ("getitem", lambda x: (x[0], x[:, 1:3], x[..., -1], x[None, 1, ::2], x[:, -2:, None], x[1, 2, 3]),
     [normal(2, 3, 4)]),
    ("diagonal", lambda x, m: (x.diagonal(), x.diagonal(1, 0, 2), x.diagonal(-2, 2, 1), m.diagonal()),
     [normal(3, 4, 5), normal(4, 4)]),
    ("flip", lambda x: (x.flip(0), x.flip((1, 2))), [normal(2, 3, 4)]),
    ("roll", lambda x: (x.roll(1, 0), x.roll((2, -1), (1, 2)), x.roll(5)), [normal(2, 3, 4)]),
    ("pad", lambda x: (F.pad(x, (1, 2)), F.pad(x, (0, 1, 2, 0), value=1.5)), [normal(2, 3, 4)]),
    ("clone", lambda x: x.clone(), [normal(3, 4)]),
    ("cat", lambda a, b: (mg.cat([a, b], 0), mg.stack([a, a], 1)), [normal(3, 4), normal(2, 4)]),
    ("gather", lambda x, i: x.gather(1, i), [normal(3, 4), index(3, 2, hi=4)]),
    ("scatter_add", lambda x, s: x.scatter_add(1, mg.tensor([[0, 1], [2, 2], [3, 0]]), s),
     [normal(3, 4), normal(3, 2)]),
    ("scatter", lambda x, s: x.scatter(1, mg.tensor([[0, 1], [2, 3], [3, 0]]), s), [normal(3, 4), normal(3, 2)]),
    ("matmul", lambda a, b, c: (a @ b, c @ b), [normal(3, 4), normal(4, 5), normal(2, 3, 4)]),
    ("einsum", lambda a, b: mg.einsum("ij,jk->ik", a, b), [normal(3, 4), normal(4, 5)]),
    ("linear", lambda x, y, w, b: (F.linear(x, w, b), F.linear(y, w), F.linear(y, w, b)),
     [normal(3, 4), normal(2, 3, 4), normal(5, 4), normal(5)]),
    ("conv2d", lambda x, w, b, v: (F.conv2d(x, w, b, stride=2, padding=1), F.conv2d(x, w, dilation=2),
                                   F.conv2d(x, v, groups=3, padding=(0, 2))),
     [normal(2, 3, 9, 8), normal(4, 3, 3, 3), normal(4), normal(6, 1, 2, 3)]),
    ("conv_transpose2d", lambda x, w, b: (F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
                                          F.conv_transpose2d(x, w, dilation=2)),
     [normal(2, 4, 5, 6), normal(4, 3, 3, 3), normal(3)]),
    ("max_pool2d", lambda x: (F.max_pool2d(x, 2), F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
                              F.max_pool2d(x, 2, 1, dilation=2)), [normal(2, 3, 9, 8)]),
    ("avg_pool2d", lambda x: (F.avg_pool2d(x, 2), F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True),
                              F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
                              F.avg_pool2d(x, 2, divisor_override=3)), [normal(2, 3, 9, 8)]),
]


def test_every_op_is_mapped_or_says_why():
    rows = set(exporter.RULES) | set(exporter.UNMAPPED)
    assert not set(exporter.RULES) & set(exporter.UNMAPPED)
    assert sorted(set(REGISTRY) - rows) == []
    assert sorted(rows - set(REGISTRY)) == []  # no row for an op that is gone


def test_every_mapped_op_has_a_sample():
    assert sorted(set(exporter.RULES) - {name for name, _, _ in SAMPLES}) == []


@needs_runtime
@pytest.mark.parametrize("name,fn,makers", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_op(name, fn, makers):
    model = Fn(fn)
    example = [m(np.random.default_rng(1)) for m in makers]
    fresh = [m(np.random.default_rng(2)) for m in makers]
    program = exporter.record(model, tuple(mg.from_numpy(a) for a in example), {})
    assert name in {s.op for s in program.steps}, f"the sample of {name} does not call it"
    _run(model, example, fresh, rtol=1e-5, atol=1e-5)


def _same_leading_dim(makers):
    arrays = [m(np.random.default_rng(1)) for m in makers]
    return all(a.ndim >= 2 and a.shape[0] == arrays[0].shape[0] for a in arrays)


DYNAMIC_SAMPLES = [s for s in SAMPLES if _same_leading_dim(s[2])]


@needs_runtime
@pytest.mark.parametrize("name,fn,makers", DYNAMIC_SAMPLES, ids=[s[0] for s in DYNAMIC_SAMPLES])
def test_op_with_a_dynamic_leading_axis_is_right_or_raises(name, fn, makers):
    """Every input's dim 0 dynamic (one name); the file run on 2 more rows: right, or refused at export."""
    model = Fn(fn)
    example = [m(np.random.default_rng(1)) for m in makers]
    fresh = [np.concatenate([m(np.random.default_rng(2)), m(np.random.default_rng(3))[:2]]) for m in makers]
    try:
        want = _eager(model, fresh)
    except (RuntimeError, ValueError, IndexError):
        pytest.skip("the op itself refuses the grown inputs")
    names = [f"x{i}" for i in range(len(example))]
    try:
        proto = mg.onnx.export(model, tuple(mg.from_numpy(a) for a in example), input_names=names,
                               dynamic_axes={n: {0: "n"} for n in names})
    except RuntimeError as e:
        assert str(e).startswith("onnx.export:")
        return
    got = _session(proto).run(None, dict(zip(names, fresh)))
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------
# Models

def _mlp():
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def _cnn():
    mg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 6, 3, stride=2), nn.BatchNorm2d(6), nn.AvgPool2d(2, ceil_mode=True),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(6, 5),
    )
    model.train()
    with mg.no_grad():
        for _ in range(3):  # running statistics away from their initial 0 and 1
            model(mg.randn(4, 3, 12, 12) * 2 + 0.5)
    return model


class LanguageModel(nn.Module):
    def __init__(self, vocab=11, dim=6, hidden=8):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.drop = nn.Dropout(0.2)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        y, (h, c) = self.lstm(self.drop(self.emb(tokens)))
        return F.log_softmax(self.head(y), -1), h, c


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1,
                                                batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.layer(x).mean(1))


def _tokens(shape, seed):
    return np.random.default_rng(seed).integers(0, 11, shape).astype(np.int64)


def _floats(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@needs_runtime
def test_mlp():
    _run(_mlp(), [_floats((4, 5), 1)], [_floats((4, 5), 2)])


@needs_runtime
def test_cnn_conv_batchnorm_pooling_flatten_linear():
    _run(_cnn(), [_floats((2, 3, 12, 12), 1)], [_floats((2, 3, 12, 12), 2)])


@needs_runtime
def test_lstm_language_model_with_embedding_and_dropout():
    mg.manual_seed(0)
    _run(LanguageModel(), [_tokens((3, 5), 1)], [_tokens((3, 5), 2)])


@needs_runtime
@pytest.mark.parametrize("kind,shape", [("mlp", (1, 8, 8)), ("cnn", (1, 8, 8)), ("cnn", (1, 28, 28))])
def test_the_demo_models_with_a_dynamic_batch(kind, shape):
    from minigrad.demo import MODEL_BUILDERS

    mg.manual_seed(0)
    model = MODEL_BUILDERS[kind](shape, 10)
    _run(model, [_floats((3,) + shape, 1)], [_floats((8,) + shape, 2)], input_names=["images"],
         output_names=["logits"], dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})


@needs_runtime
def test_transformer_encoder_layer():
    mg.manual_seed(0)
    _run(Encoder(), [_floats((2, 5, 8), 1)], [_floats((2, 5, 8), 2)])


@needs_runtime
@pytest.mark.parametrize("make,example,fresh", [
    (_mlp, _floats((4, 5), 1), _floats((9, 5), 2)),
    (_cnn, _floats((2, 3, 12, 12), 1), _floats((5, 3, 12, 12), 2)),
    (LanguageModel, _tokens((3, 5), 1), _tokens((7, 5), 2)),
    (LanguageModel, _tokens((3, 5), 1), _tokens((1, 5), 2)),
    (Encoder, _floats((2, 5, 8), 1), _floats((6, 5, 8), 2)),
], ids=["mlp", "cnn", "lstm", "lstm-batch-1", "transformer"])
def test_dynamic_batch_axis(make, example, fresh):
    mg.manual_seed(0)
    sess = _run(make(), [example], [fresh], input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert sess.get_inputs()[0].shape[0] == "batch"
    assert sess.get_outputs()[0].shape[0] == "batch"


@needs_runtime
def test_a_loss_with_a_dynamic_batch():
    model = Fn(lambda x, t: F.cross_entropy(x, t))
    example = [_floats((4, 3), 1), np.array([0, 2, 1, 1])]
    fresh = [_floats((7, 3), 2), np.array([2, 2, 0, 1, 0, 1, 2])]
    _run(model, example, fresh, input_names=["x", "t"], dynamic_axes={"x": {0: "n"}, "t": {0: "n"}})


@needs_runtime
def test_dynamic_axes_as_a_list_and_on_the_sequence_axis():
    mg.manual_seed(0)
    model = Fn(lambda x: (x.sum(1), x.mean(1), x[:, -1] * 2, x.reshape(x.shape[0], -1)))
    sess = _run(model, [_floats((3, 4, 2), 1)], [_floats((3, 7, 2), 2)], input_names=["x"],
                dynamic_axes={"x": [1]})
    assert sess.get_inputs()[0].shape == [3, "x_dynamic_axes_1", 2]


# ---------------------------------------------------------------------------
# The arguments

@needs_runtime
def test_path_names_and_params(tmp_path):
    import onnx

    model = _mlp()
    path = tmp_path / "mlp.onnx"
    ret = mg.onnx.export(model, (mg.randn(2, 5),), str(path), input_names=["features"], output_names=["logits"])
    assert isinstance(ret, onnx.ModelProto)
    loaded = onnx.load(str(path))
    assert [i.name for i in loaded.graph.input] == ["features"]
    assert [o.name for o in loaded.graph.output] == ["logits"]
    assert sorted(i.name for i in loaded.graph.initializer if "." in i.name) == sorted(model.state_dict())
    x = _floats((2, 5), 3)
    got = _session(path.read_bytes()).run(["logits"], {"features": x})[0]
    np.testing.assert_allclose(got, _eager(model, [x])[0], rtol=RTOL, atol=ATOL)


@needs_runtime
def test_default_names_are_the_forward_arguments():
    proto = mg.onnx.export(_mlp(), mg.randn(2, 5))  # a tensor alone is the one argument; f=None writes nothing
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output_0"]


@needs_runtime
def test_export_params_false_makes_the_parameters_inputs():
    model = _mlp()
    proto = mg.onnx.export(model, (mg.randn(2, 5),), export_params=False)
    state = model.state_dict()
    assert [i.name for i in proto.graph.input] == ["input"] + list(state)
    assert not [i for i in proto.graph.initializer if i.name in state]
    x = _floats((2, 5), 4)
    feeds = {"input": x, **{k: v.numpy() for k, v in state.items()}}
    got = _session(proto).run(None, feeds)[0]
    np.testing.assert_allclose(got, _eager(model, [x])[0], rtol=RTOL, atol=ATOL)


@needs_runtime
def test_keep_initializers_as_inputs_and_opset():
    proto = mg.onnx.export(_mlp(), (mg.randn(2, 5),), keep_initializers_as_inputs=True, opset_version=20,
                           do_constant_folding=False)
    assert len(proto.graph.input) == 1 + 6
    assert proto.opset_import[0].version == 20
    with pytest.raises(ValueError, match="opset_version 11"):
        mg.onnx.export(_mlp(), (mg.randn(2, 5),), opset_version=11)


@needs_runtime
def test_keyword_inputs_and_baked_numbers():
    class Scaled(nn.Module):
        def forward(self, x, scale, y=None):
            return x * scale + y

    model = Scaled()
    x, y = _floats((2, 3), 1), _floats((2, 3), 2)
    proto = mg.onnx.export(model, (mg.from_numpy(x), 3.0, {"y": mg.from_numpy(y)}))
    names = [i.name for i in proto.graph.input]
    assert len(names) == 2
    got = _session(proto).run(None, dict(zip(names, [x, y])))[0]
    np.testing.assert_allclose(got, x * 3.0 + y, rtol=RTOL, atol=ATOL)


@needs_runtime
def test_verbose_prints_the_graph(capsys):
    mg.onnx.export(_mlp(), (mg.randn(2, 5),), verbose=True)
    assert "Gemm" in capsys.readouterr().out


@needs_runtime
def test_eval_mode_during_export_and_training_mode_restored():
    model = _cnn()
    model.train()
    x = _floats((2, 3, 12, 12), 1)
    proto = mg.onnx.export(model, (mg.from_numpy(x),))
    assert model.training and all(m.training for m in model.modules())
    got = _session(proto).run(None, {"input": x})[0]  # dropout and batch statistics would make these differ
    np.testing.assert_allclose(got, _eager(model, [x])[0], rtol=RTOL, atol=ATOL)


@needs_runtime
@pytest.mark.parametrize("op", ["diagonal_scatter", "erf"])
def test_unmapped_op_names_the_op_the_module_and_the_line(op, monkeypatch):
    class Block(nn.Module):
        def forward(self, x):
            return M.diagonal_scatter(x, x.diagonal()) * 2 if op == "diagonal_scatter" else x.erf()  # this line

    if op in exporter.RULES:  # (a mapped op, its row taken out: the same message as a row never written)
        monkeypatch.delitem(exporter.RULES, op)
    line = Block.forward.__code__.co_firstlineno + 1
    model = nn.Sequential(nn.Linear(3, 3), Block())
    with pytest.raises(RuntimeError, match=rf"op '{op}' has no ONNX mapping") as info:
        mg.onnx.export(model, (mg.randn(3, 3),))
    msg = str(info.value)
    assert "module 1 (Block)" in msg
    assert f"test_onnx.py:{line}" in msg


@needs_runtime
def test_unsupported_index_names_the_line():
    model = Fn(lambda x: x[mg.tensor([0, 1]), mg.tensor([1, 2])])
    with pytest.raises(RuntimeError, match="getitem: advanced indexing") as info:
        mg.onnx.export(model, (mg.randn(3, 3),))
    assert "test_onnx.py" in str(info.value)


@needs_runtime
def test_a_cast_outside_the_op_table_raises_instead_of_baking_the_example():
    # (x > 0).float() is made without an op call (composite.cast of a bool): no graph can hold it yet
    model = Fn(lambda x: (x > 0).float() * x)
    with pytest.raises(RuntimeError, match="outside the op table"):
        mg.onnx.export(model, (mg.randn(3, 4),))


@needs_runtime
def test_in_place_ops_on_an_intermediate():
    def fn(x, b):
        y = x * 2
        y += b
        y.mul_(3.0)
        y.sub_(x, alpha=0.5)
        z = y.relu()
        z /= 4
        w = x * 1.0
        w.clamp_(-0.5, 0.5)
        v = x + 0.0
        v.zero_()
        return z, y, w, v + x

    _run(Fn(fn), [_floats((3, 4), 1), _floats((4,), 2)], [_floats((3, 4), 3), _floats((4,), 4)])


@needs_runtime
@pytest.mark.parametrize("inplace", [lambda y: y.__setitem__(0, 0.0), lambda y: y[0].add_(1.0),
                                     lambda y: y[:, 1].relu_()], ids=["setitem", "add_-on-a-view", "relu_-on-a-view"])
def test_an_in_place_op_raises_rather_than_losing_the_write(inplace):
    def fn(x):
        y = x * 2
        inplace(y)
        return y

    with pytest.raises(RuntimeError, match="in-place"):
        mg.onnx.export(Fn(fn), (mg.randn(3, 4),))


@needs_runtime
def test_in_place_on_an_input_raises():
    with pytest.raises(RuntimeError, match="in-place"):
        mg.onnx.export(Fn(lambda x: x.add_(1.0)), (mg.randn(3, 4),))


@needs_runtime
def test_dynamic_axes_errors():
    with pytest.raises(ValueError, match="'y'"):
        mg.onnx.export(_mlp(), (mg.randn(2, 5),), input_names=["x"], dynamic_axes={"y": [0]})
    with pytest.raises(RuntimeError, match="other ops"):  # control flow on the batch size
        mg.onnx.export(Fn(lambda x: x * 2 if x.shape[0] == 2 else x + 1), (mg.randn(2, 5),), input_names=["x"],
                       dynamic_axes={"x": [0]})


def test_missing_onnx_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'minigrad\[onnx\]'"):
        mg.onnx.export(_mlp(), (mg.randn(2, 5),))
