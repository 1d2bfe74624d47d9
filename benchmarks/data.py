"""Inputs and initial parameters shared by every library, generated with numpy only.

Every library's process calls the same generator with the same seed, so minigrad,
the numpy floor and PyTorch start from bit-identical float32 arrays and their
checksums can be compared.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32

# Problem sizes. "full" is the workload; "tiny" shrinks every problem so the
# smoke test runs in well under a second per workload (same code paths).
SIZES = {
    "full": {
        "tiny_ops": {"reps": 100},
        "mlp_step": {"batch": 128, "dims": (784, 512, 256, 10), "check_steps": 3},
        "cnn_step": {"batch": 64, "check_steps": 3},
        "deep_chain": {"n_ops": 20_000},
        "big_elementwise": {"n": 4_000_000},
        "moons": {"n": 100, "steps": 100},
    },
    "tiny": {
        "tiny_ops": {"reps": 2},
        "mlp_step": {"batch": 8, "dims": (64, 32, 16, 10), "check_steps": 3},
        "cnn_step": {"batch": 2, "check_steps": 2},
        "deep_chain": {"n_ops": 400},
        "big_elementwise": {"n": 10_000},
        "moons": {"n": 40, "steps": 10},
    },
}

SEED = 1234
LR = 0.01


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, name))])


def linear_init(rng: np.random.Generator, fan_in: int, fan_out: int):
    """PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=(fan_out, fan_in)).astype(F32)
    b = rng.uniform(-bound, bound, size=(fan_out,)).astype(F32)
    return w, b


def conv_init(rng: np.random.Generator, c_in: int, c_out: int, k: int):
    """PyTorch's default Conv2d init (same bound rule, fan_in = c_in * k * k)."""
    fan_in = c_in * k * k
    bound = 1.0 / np.sqrt(fan_in)
    w = rng.uniform(-bound, bound, size=(c_out, c_in, k, k)).astype(F32)
    b = rng.uniform(-bound, bound, size=(c_out,)).astype(F32)
    return w, b


def make_moons(n: int, noise: float, rng: np.random.Generator):
    """Two interleaving half circles (scikit-learn's make_moons, rewritten in numpy)."""
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(t_out), 1 - np.cos(t_in)])
    y = np.concatenate([np.sin(t_out), 1 - np.sin(t_in) - 0.5])
    X = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    perm = rng.permutation(n)
    return X[perm].astype(F32), labels[perm]


def make(name: str, size: str = "full") -> dict:
    """The arrays one workload needs (inputs, labels, initial parameters) plus its config."""
    cfg = dict(SIZES[size][name])
    rng = _rng(name)
    d = {"cfg": cfg}
    if name == "tiny_ops":
        d["a"] = rng.uniform(-1.0, 1.0, size=8).astype(F32)
        d["b"] = rng.uniform(-1.0, 1.0, size=8).astype(F32)
    elif name == "mlp_step":
        dims = cfg["dims"]
        d["x"] = rng.standard_normal((cfg["batch"], dims[0])).astype(F32)
        d["y"] = rng.integers(0, dims[-1], size=cfg["batch"]).astype(np.int64)
        d["params"] = [a for i in range(3) for a in linear_init(rng, dims[i], dims[i + 1])]
    elif name == "cnn_step":
        d["x"] = rng.standard_normal((cfg["batch"], 1, 28, 28)).astype(F32)
        d["y"] = rng.integers(0, 10, size=cfg["batch"]).astype(np.int64)
        c1 = conv_init(rng, 1, 6, 5)
        c2 = conv_init(rng, 6, 16, 5)
        f1 = linear_init(rng, 400, 120)
        f2 = linear_init(rng, 120, 84)
        f3 = linear_init(rng, 84, 10)
        d["params"] = [*c1, *c2, *f1, *f2, *f3]
    elif name == "deep_chain":
        # 4 ops per link: y = tanh(y * w + x) * 0.5 keeps values and gradients O(1).
        d["x"] = rng.uniform(-0.5, 0.5, size=8).astype(F32)
        d["w"] = rng.uniform(0.5, 1.5, size=8).astype(F32)
    elif name == "big_elementwise":
        d["x"] = rng.standard_normal(cfg["n"]).astype(F32)
    elif name == "moons":
        X, labels = make_moons(cfg["n"], 0.1, rng)
        d["X"] = X
        d["y"] = (labels * 2 - 1).astype(F32).reshape(-1, 1)  # -1 / +1, shape (n, 1)
        # micrograd's Neuron init: weights U(-1, 1), biases 0.
        dims = (2, 16, 16, 1)
        params = []
        for i in range(3):
            params.append(rng.uniform(-1.0, 1.0, size=(dims[i + 1], dims[i])).astype(F32))
            params.append(np.zeros(dims[i + 1], dtype=F32))
        d["params"] = params
    else:
        raise KeyError(f"unknown workload {name!r}")
    return d
