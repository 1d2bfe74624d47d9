"""minigrad.compile on whole training steps of real models: compiled and eager training agree bit
for bit (every loss, parameter, gradient and optimizer state entry) over 100 steps."""

import importlib.util
from pathlib import Path

import numpy as np
from test_compile import _compare_training

import minigrad as mg
from minigrad import nn, optim
from minigrad.demo import build_cnn, build_mlp

F = nn.functional


def _classify(build, opt_cls, in_shape, classes, n, **kw):
    def make():
        model = build()
        opt = opt_cls(model.parameters(), **kw)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step, model, opt

    def data(i):
        rng = np.random.default_rng(i % 7)
        return (mg.tensor(rng.standard_normal((n,) + in_shape).astype(np.float32)),
                mg.tensor(rng.integers(0, classes, n)))
    return make, data


def test_demo_mlp():
    make, data = _classify(lambda: build_mlp((1, 4, 4), 3, hidden=16), optim.SGD, (1, 4, 4), 3, 8,
                           lr=0.05, momentum=0.9)
    _compare_training(make, 100, data)


def test_small_cnn():
    make, data = _classify(lambda: build_cnn((1, 8, 8), 3), optim.Adam, (1, 8, 8), 3, 4, lr=1e-3)
    _compare_training(make, 100, data)


class _LSTMLanguageModel(nn.Module):
    def __init__(self, vocab=11, dim=8, hidden=12):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))
        return self.head(h)


def _lm_data(vocab, n, length):
    def data(i):
        rng = np.random.default_rng(i % 5)
        seq = rng.integers(0, vocab, (n, length + 1))
        return mg.tensor(seq[:, :-1]), mg.tensor(seq[:, 1:])
    return data


def _lm_make(build, opt_cls, clip=None, **kw):
    def make():
        model = build()
        opt = opt_cls(model.parameters(), **kw)

        def step(x, y):
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            loss.backward()
            opt.step()
            return loss
        return step, model, opt
    return make


def test_lstm_language_model():
    _compare_training(_lm_make(_LSTMLanguageModel, optim.Adam, lr=1e-2), 100, _lm_data(11, 3, 6))


class _TinyTransformer(nn.Module):
    def __init__(self, vocab=13, dim=16, heads=2, length=6):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(mg.randn(length, dim) * 0.1)
        self.block = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens):
        h = self.drop(self.embed(tokens) + self.pos)
        return self.head(self.block(h))


def test_small_transformer_with_dropout():
    _compare_training(_lm_make(_TinyTransformer, optim.AdamW, lr=1e-2), 100, _lm_data(13, 2, 6))


def test_two_moons_demo():
    path = Path(__file__).resolve().parent.parent / "examples" / "moons.py"
    spec = importlib.util.spec_from_file_location("_moons_example", path)
    moons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(moons)
    X_np, y_np = moons.make_moons(n=40)
    X, Y = mg.tensor(X_np), mg.tensor(y_np)

    def make():
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
        opt = optim.Adam(model.parameters(), lr=0.02)

        def step(X, Y):
            scores = model(X).squeeze(1)
            loss = nn.functional.relu(1 - Y * scores).mean()
            loss = loss + 1e-4 * sum((p * p).sum() for p in model.parameters())
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        return step, model, opt
    _compare_training(make, 100, lambda i: (X, Y))


def test_hand_written_sgd_with_in_place_updates():
    # micrograd's style: p -= lr * p.grad under no_grad, p.grad = None
    def make():
        ps = [mg.randn(2, 16, requires_grad=True), mg.randn(16, requires_grad=True),
              mg.randn(16, 1, requires_grad=True)]
        holder = nn.ParameterList([nn.Parameter(p.detach()) for p in ps])
        ps = list(holder)
        lr = mg.tensor(0.05)

        def step(X, y):
            w1, b1, w2 = ps
            scores = ((X @ w1 + b1).relu() @ w2).squeeze(1)
            loss = (1 - y * scores).relu().mean() + 1e-4 * sum((p * p).sum() for p in ps)
            loss.backward()
            with mg.no_grad():
                for p in ps:
                    p -= lr * p.grad
                    p.grad = None
            return loss
        return step, holder, optim.SGD(ps, lr=0.0)

    def data(i):
        rng = np.random.default_rng(i % 3)
        return mg.tensor(rng.standard_normal((10, 2)).astype(np.float32)), mg.tensor(rng.choice([-1.0, 1.0], 10)
                                                                                      .astype(np.float32))
    _compare_training(make, 30, data)


def test_cnn_with_batch_norm_running_statistics():
    def build():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    models = []

    def keep(b):
        def built():
            m = b()
            models.append(m)
            return m
        return built

    make, data = _classify(keep(build), optim.SGD, (1, 8, 8), 3, 6, lr=0.05, momentum=0.9)
    _compare_training(make, 30, data)
    eager, compiled = models
    for (name, a), b in zip(compiled.named_buffers(), eager.buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    with mg.no_grad():  # eval mode (running statistics) is another plan
        compiled.eval()
        eager.eval()
        cm = mg.compile(compiled)
        x = data(0)[0]
        for _ in range(3):
            np.testing.assert_array_equal(cm(x).numpy(), eager(x).numpy())
