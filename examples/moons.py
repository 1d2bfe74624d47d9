"""Two moons, the classifier micrograd made famous, trained on a whole batch at once.

    python examples/moons.py                 # trains, prints accuracy, saves minigrad-demo-out/moons.png (matplotlib)
    python examples/moons.py --steps 100 --plot none

A 2 -> 16 -> 16 -> 1 ReLU network with micrograd's max-margin loss and L2 regularisation, trained
with Adam. Progress bar when tqdm is installed; the same code runs under PyTorch with
``import torch as mg`` and ``torch.nn``/``torch.optim``.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import minigrad as mg
from minigrad import nn, optim


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: X (n, 2) float32, y (n,) float32 in {-1, +1}."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, np.pi, n // 2)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n // 2 * 2, 2))
    y = np.concatenate([-np.ones(n // 2), np.ones(n // 2)])
    return X.astype(np.float32), y.astype(np.float32)


def _progress(n: int, desc: str):
    try:
        from tqdm import trange
    except ImportError:
        return range(n)
    return trange(n, desc=desc)


def train(steps: int = 300, seed: int = 1, lr: float = 0.02):
    """Train on the moons; returns (model, X, y, history of (loss, accuracy))."""
    mg.manual_seed(seed)
    X_np, y_np = make_moons(seed=seed)
    X, Y = mg.tensor(X_np), mg.tensor(y_np)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in _progress(steps, "moons"):
        scores = model(X).squeeze(1)                      # (100,)
        loss = nn.functional.relu(1 - Y * scores).mean()  # max-margin loss
        loss = loss + 1e-4 * sum((p * p).sum() for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((loss.item(), ((scores > 0) == (Y > 0)).float().mean().item()))
    return model, X_np, y_np, history


def accuracy(model, X_np: np.ndarray, y_np: np.ndarray) -> float:
    with mg.no_grad():
        return float(((model(mg.tensor(X_np)).squeeze(1).numpy() > 0) == (y_np > 0)).mean())


def plot(model, X_np, y_np, history, path: str) -> None:
    """Decision boundary and training curves, written to ``path`` (headless: Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gx, gy = np.meshgrid(np.arange(-1.6, 2.6, 0.05), np.arange(-1.1, 1.6, 0.05))
    grid = mg.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    with mg.no_grad():
        z = (model(grid) > 0).numpy().reshape(gx.shape)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.contourf(gx, gy, z, cmap="coolwarm", alpha=0.35)
    ax1.scatter(X_np[:, 0], X_np[:, 1], c=y_np, cmap="coolwarm", s=20, edgecolors="k")
    ax1.set_title("decision boundary")
    ax2.plot([h[0] for h in history], label="loss")
    ax2.plot([h[1] for h in history], label="accuracy")
    ax2.set_xlabel("step")
    ax2.legend()
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300, help="full-batch SGD steps (default: 300)")
    ap.add_argument("--out", default="minigrad-demo-out",
                    help="folder for the picture, as the demo's (default: minigrad-demo-out, git-ignored)")
    ap.add_argument("--plot", default=None, help="PNG to write (default: OUT/moons.png), or 'none'")
    args = ap.parse_args(argv)
    if args.plot is None:
        args.plot = os.path.join(args.out, "moons.png")
    model, X_np, y_np, history = train(args.steps)
    acc = accuracy(model, X_np, y_np)
    print(f"final loss {history[-1][0]:.4f}, train accuracy {acc:.0%}")
    if args.plot != "none":
        try:
            os.makedirs(os.path.dirname(args.plot) or ".", exist_ok=True)
            plot(model, X_np, y_np, history, args.plot)
        except ImportError:
            print("matplotlib is not installed (pip install matplotlib): no plot written")
        else:
            print(f"decision boundary written to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
