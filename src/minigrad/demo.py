"""``python -m minigrad.demo``: train a classifier with minigrad and report its test accuracy.

By default it trains an MLP on the handwritten digits bundled with minigrad (1,797 8x8 images;
a fixed, seeded 75/25 train/test split), which takes a few seconds on a laptop. It prints
the train / test loss and accuracy of every epoch and the final test accuracy, saves the
weights with ``minigrad.save``, reloads them into a fresh model and checks the predictions
are identical, and writes a loss-curve PNG when matplotlib is installed.

Examples::

    python -m minigrad.demo
    python -m minigrad.demo --optimizer sgd --lr 0.05 --epochs 40
    python -m minigrad.demo --data fashion-mnist --root /usr/share/datasets/fashion-mnist --epochs 5
    python -m minigrad.demo --nproc 2      # data-parallel: 2 MPI ranks, the same accuracy as one process

Models are built by the functions in ``MODEL_BUILDERS`` (name -> ``build(in_shape, num_classes)``
returning an ``nn.Module`` taking ``(N, C, H, W)`` images); add an entry to offer another model.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Callable

import numpy as np

import minigrad
from minigrad import nn, optim
from minigrad.utils.data import DataLoader, TensorDataset

DIGITS_SPLIT_SEED = 0  # the train/test split of the bundled digits never changes
FASHION_MNIST_DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist

# Per-dataset defaults for the options left unset on the command line.
DEFAULTS = {
    "digits": {"epochs": 25, "batch_size": 32, "hidden": 128},
    "mnist": {"epochs": 5, "batch_size": 128, "hidden": 256},
    "fashion-mnist": {"epochs": 5, "batch_size": 128, "hidden": 256},
}
DEFAULT_LR = {"sgd": 0.05, "adam": 2e-3, "adamw": 2e-3, "rmsprop": 1e-3}
# Per (model, dataset) overrides of DEFAULTS: the CNN needs more epochs on the 28x28 sets to pass
# 90% on Fashion-MNIST with a margin (seed 0 on 2 shared cores: 5 epochs 89.7%, 10 epochs 90.4%,
# 15 epochs 91.2% in about 3 minutes).
MODEL_DEFAULTS = {("cnn", "mnist"): {"epochs": 15}, ("cnn", "fashion-mnist"): {"epochs": 15}}


# -- models ------------------------------------------------------------------------------------
def build_mlp(in_shape: tuple[int, ...], num_classes: int, hidden: int = 128) -> nn.Module:
    """Flatten -> Linear(in, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU -> Linear(hidden, classes)."""
    n_in = math.prod(in_shape)
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def build_cnn(in_shape: tuple[int, ...], num_classes: int, hidden: int = 128) -> nn.Module:
    """LeNet-5 style: conv(C->6, k5, pad 2)-ReLU-maxpool2-conv(6->16, k5)-ReLU-maxpool2-120-84-classes.

    On small images (under 20 pixels, e.g. the 8x8 digits) both convolutions use 3x3 kernels with
    'same' padding so the two poolings still fit. ``hidden`` is not used (LeNet's 120-84 head).
    """
    c, h, w = in_shape if len(in_shape) == 3 else (1,) + tuple(in_shape)
    k, pad2 = (5, 0) if min(h, w) >= 20 else (3, 1)
    h2, w2 = (h // 2 - k + 1 + 2 * pad2) // 2, (w // 2 - k + 1 + 2 * pad2) // 2
    return nn.Sequential(
        nn.Conv2d(c, 6, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, k, padding=pad2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * h2 * w2, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, num_classes),
    )


MODEL_BUILDERS: dict[str, Callable[..., nn.Module]] = {"mlp": build_mlp, "cnn": build_cnn}


# -- data ----------------------------------------------------------------------------------------
def load_data(name: str, root: str | None):
    """(X_train, y_train, X_test, y_test, description): float32 images (N, 1, H, W), int64 labels."""
    from minigrad import datasets

    if name == "digits":
        X, y = datasets.load_digits(flatten=False)
        perm = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(y))
        n_train = len(y) - math.ceil(0.25 * len(y))  # 1347 / 450, as scikit-learn's train_test_split
        tr, te = perm[:n_train], perm[n_train:]
        Xn, yn = X.numpy(), y.numpy()
        return Xn[tr], yn[tr], Xn[te], yn[te], "UCI handwritten digits (bundled), seeded 75/25 split"
    cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST}[name]
    if root is None:
        if name == "fashion-mnist" and os.path.isdir(FASHION_MNIST_DEFAULT_ROOT):
            root = FASHION_MNIST_DEFAULT_ROOT
        else:
            raise SystemExit(f"--data {name} needs --root DIR, a folder holding the IDX files "
                             "(train-images-idx3-ubyte.gz, ...); minigrad never downloads")
    try:
        train, test = cls(root, train=True), cls(root, train=False)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    Xtr, ytr = train.tensors()
    Xte, yte = test.tensors()
    return Xtr.numpy(), ytr.numpy(), Xte.numpy(), yte.numpy(), f"{cls.__name__} from {root}"


# -- progress ---------------------------------------------------------------------------------------
class _PlainBar:
    """The fallback progress bar when tqdm is not installed: redraws one line on a terminal."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self.total, self.desc, self.n = total, desc, 0
        self.enabled = enabled and sys.stdout.isatty()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.enabled:
            filled = int(30 * self.n / self.total)
            sys.stdout.write(f"\r{self.desc} [{'#' * filled}{'.' * (30 - filled)}] {self.n}/{self.total}")
            sys.stdout.flush()

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        if self.enabled:
            sys.stdout.write("\r" + " " * (len(self.desc) + 45) + "\r")
            sys.stdout.flush()


def _progress(total: int, desc: str, enabled: bool):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PlainBar(total, desc, enabled)
    # disable=None: tqdm draws only on a terminal, so logs and CI output stay clean
    return tqdm(total=total, desc=desc, leave=False, disable=None if enabled else True, dynamic_ncols=True)


def _write(line: str) -> None:
    try:
        from tqdm.auto import tqdm

        tqdm.write(line)
    except ImportError:
        print(line, flush=True)


def set_blas_threads(n: int) -> bool:
    """Ask numpy's BLAS to use ``n`` threads (``minigrad.set_num_threads``); True when done.

    The demo's matrices are small: one thread avoids waking (and, on a busy machine, waiting
    for) BLAS worker threads on every matmul, which here is several times faster.
    """
    minigrad.set_num_threads(n)
    return True


# -- data-parallel runs (--nproc) -------------------------------------------------------------------
RANKS_ENV = "MINIGRAD_DEMO_NPROC"  # set for the ranks that ``--nproc N`` starts


def launch_ranks(nproc: int, argv: list[str]) -> None:
    """Run this demo with the same options as ``nproc`` MPI ranks (python -m minigrad.distributed.run's way)."""
    import subprocess

    from minigrad.distributed.run import build_command, rank_environment

    env = rank_environment()
    env[RANKS_ENV] = str(nproc)
    raise SystemExit(subprocess.call(build_command(nproc, "minigrad.demo", argv, module=True), env=env))


def start_rank(nproc: int) -> tuple[int, int]:
    """(rank, world size): (0, 1) in a single process; in a rank, join the process group. Only rank 0
    prints: the others' output goes to /dev/null."""
    if nproc == 1:
        return 0, 1
    import minigrad.distributed as dist

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if world != nproc:
        raise SystemExit(f"error: --nproc {nproc} but MPI started {world} processes")
    if rank:
        sys.stdout = open(os.devnull, "w")  # for the life of the process
    return rank, world


def sum_over_ranks(*values: float) -> list[float]:
    """The sums of ``values`` over all ranks (an all-reduce; the values themselves in one process)."""
    import minigrad.distributed as dist

    if not dist.is_initialized():
        return list(values)
    t = minigrad.tensor(list(values), dtype=minigrad.float64)
    dist.all_reduce(t)
    return t.tolist()


# -- training ----------------------------------------------------------------------------------------
def make_optimizer(name: str, params, lr: float) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def evaluate(model: nn.Module, X, y, batch_size: int = 1000, device="cpu") -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predicted labels) of ``model`` (on ``device``) on arrays ``X``, ``y``."""
    model.eval()
    total, preds = 0.0, []
    with minigrad.no_grad():
        for i in range(0, len(y), batch_size):
            logits = model(minigrad.from_numpy(X[i:i + batch_size]).to(device))
            yb = minigrad.from_numpy(y[i:i + batch_size]).to(device)
            total += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            preds.append(logits.cpu().numpy().argmax(1))
    pred = np.concatenate(preds)
    return total / len(y), float((pred == y).mean()), pred


def plot_curves(history: dict, path: str, title: str = "minigrad demo") -> bool:
    """Write the loss / accuracy curves to ``path`` (PNG) under ``title``; False when matplotlib
    is missing. Every epoch is marked, so a one-epoch run shows its point."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], marker="o", markersize=4, label="train")
    ax1.plot(epochs, history["test_loss"], marker="o", markersize=4, label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.plot(epochs, [100 * a for a in history["train_acc"]], marker="o", markersize=4, label="train")
    ax2.plot(epochs, [100 * a for a in history["test_acc"]], marker="o", markersize=4, label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy (%)")
    ax2.legend()
    if len(epochs) <= 10:  # whole epochs only (matplotlib would tick 0.5, 1.5, ...)
        ax1.set_xticks(list(epochs))
        ax2.set_xticks(list(epochs))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" only where the help does not say it already and there is one."""

    def _get_help_string(self, action) -> str:
        text = action.help or ""
        if "default" in text or action.default is None or action.default is False \
                or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m minigrad.demo", description=__doc__.split("\n\n")[0],
                                formatter_class=_HelpFormatter)
    p.add_argument("--data", choices=["digits", "mnist", "fashion-mnist"], default="digits",
                   help="dataset: the bundled digits, or MNIST / Fashion-MNIST IDX files in --root")
    p.add_argument("--root", default=None, help="folder with the MNIST / Fashion-MNIST IDX files")
    p.add_argument("--model", choices=sorted(MODEL_BUILDERS), default="mlp", help="model to train")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: 25 digits, 5 (fashion-)mnist, 15 for the CNN)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default: 32 digits, 128 mnist)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default depends on --optimizer)")
    p.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"], default="adam",
                   help="optimizer (sgd: momentum 0.9, Nesterov; the others as PyTorch sets them), "
                        "under a cosine learning-rate schedule")
    p.add_argument("--hidden", type=int, default=None, help="hidden units of the MLP")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling")
    p.add_argument("--device", default="cpu", help="'cpu', or 'cuda' (a GPU through CuPy: pip install 'minigrad[cuda]')")
    p.add_argument("--out", default="minigrad-demo-out", help="folder for the weights and the loss curve")
    p.add_argument("--save", default=None, help="path of the saved weights (default: OUT/<data>-<model>.pt)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads, as minigrad.set_num_threads (small models train fastest with 1; "
                        "0 keeps the process's setting)")
    p.add_argument("--no-plot", action="store_true", help="do not write the loss-curve PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--nproc", type=int, default=1,
                   help="data-parallel processes (MPI ranks, needs minigrad[distributed]): each computes the "
                        "gradient of its share of every batch and DistributedDataParallel averages them")
    args = p.parse_args(argv)
    for key, value in MODEL_DEFAULTS.get((args.model, args.data), {}).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key, value in DEFAULTS[args.data].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("--epochs and --batch-size must be positive, --lr > 0")
    if args.nproc < 1:
        p.error("--nproc must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run the demo; returns a summary dict (final accuracy, timings, paths)."""
    args = parse_args(argv)
    if args.nproc > 1 and RANKS_ENV not in os.environ:
        launch_ranks(args.nproc, sys.argv[1:] if argv is None else list(argv))
    rank, world = start_rank(args.nproc)
    t_start = time.perf_counter()
    if args.threads > 0:
        set_blas_threads(args.threads)
    Xtr, ytr, Xte, yte, description = load_data(args.data, args.root)
    # Normalise with the training set's statistics (as transforms.Normalize would).
    mean, std = float(Xtr.mean()), float(Xtr.std())
    Xtr = ((Xtr - mean) / std).astype(np.float32)
    Xte = ((Xte - mean) / std).astype(np.float32)
    num_classes = int(max(ytr.max(), yte.max())) + 1
    in_shape = tuple(Xtr.shape[1:])

    minigrad.manual_seed(args.seed)
    builder = MODEL_BUILDERS[args.model]
    try:
        model = builder(in_shape, num_classes, hidden=args.hidden)
    except NotImplementedError as e:
        raise SystemExit(f"error: {e}") from None
    n_params = sum(p.numel() for p in model.parameters())
    device = minigrad.device(args.device)
    model.to(device)
    opt = make_optimizer(args.optimizer, model.parameters(), args.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loader = DataLoader(TensorDataset(minigrad.from_numpy(Xtr), minigrad.from_numpy(ytr)),
                        batch_size=args.batch_size, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    train_model = model
    if world > 1:  # every rank starts from rank 0's weights; backward averages the gradients over ranks
        train_model = nn.parallel.DistributedDataParallel(model)
        criterion = nn.CrossEntropyLoss(reduction="sum")

    print(f"minigrad {minigrad.__version__} demo: {args.model.upper()} ({n_params:,} parameters) on {description}"
          + (f", data-parallel over {world} processes" if world > 1 else "")
          + (f", on {device}" if device.type != "cpu" else ""))
    print(f"  {len(ytr)} train / {len(yte)} test samples of shape {in_shape}, {num_classes} classes; "
          f"{args.optimizer} lr={args.lr:g} (cosine schedule), batch {args.batch_size}, {args.epochs} epoch{'s' if args.epochs != 1 else ''}, "
          f"seed {args.seed}")
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    t_train = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        bar = _progress(len(loader), f"epoch {epoch}/{args.epochs}", not args.no_progress and rank == 0)
        run_loss, run_correct, seen = 0.0, 0, 0
        for xb, yb in loader:
            batch = len(yb)
            if world > 1:  # every rank draws the same batches and takes its share of each
                xb, yb = xb[rank::world], yb[rank::world]
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            logits = train_model(xb)
            loss = criterion(logits, yb)
            if world > 1:  # local sum * world / batch: averaged over ranks, the whole batch's mean loss
                loss = loss * (world / batch)
            loss.backward()
            opt.step()
            n = len(yb)
            run_loss += loss.item() * (n if world == 1 else batch / world)
            run_correct += int((logits.argmax(1) == yb).sum().item())
            seen += n
            bar.update(1)
            bar.set_postfix_str(f"loss {run_loss / max(seen, 1):.4f}")
        bar.close()
        if world > 1:
            run_loss, run_correct, seen = sum_over_ranks(run_loss, run_correct, seen)
        scheduler.step()
        test_loss, test_acc, _ = evaluate(model, Xte, yte, device=device)
        history["train_loss"].append(run_loss / seen)
        history["train_acc"].append(run_correct / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        _write(f"epoch {epoch:3d}/{args.epochs}  train loss {run_loss / seen:.4f}  acc {100 * run_correct / seen:6.2f}%"
               f"  |  test loss {test_loss:.4f}  acc {100 * test_acc:6.2f}%  ({time.perf_counter() - t0:.2f}s)")
    train_seconds = time.perf_counter() - t_train

    test_loss, test_acc, pred = evaluate(model, Xte, yte, device=device)
    print(f"final test accuracy: {100 * test_acc:.2f}% ({int(round(test_acc * len(yte)))}/{len(yte)}), "
          f"test loss {test_loss:.4f}; training took {train_seconds:.1f}s")
    if rank:  # the ranks' models are identical: rank 0 alone saves and plots
        return {"test_accuracy": test_acc, "test_loss": test_loss, "train_seconds": train_seconds}

    os.makedirs(args.out, exist_ok=True)
    weights = args.save or os.path.join(args.out, f"{args.data}-{args.model}.pt")
    if os.path.dirname(weights):
        os.makedirs(os.path.dirname(weights), exist_ok=True)
    minigrad.save(model.state_dict(), weights)
    minigrad.manual_seed(args.seed + 1)  # a differently initialised fresh model: the loaded weights must matter
    fresh = builder(in_shape, num_classes, hidden=args.hidden)
    fresh.to(device).load_state_dict(minigrad.load(weights))
    _, reload_acc, reload_pred = evaluate(fresh, Xte, yte, device=device)
    same = bool(np.array_equal(reload_pred, pred))
    print(f"saved weights to {weights} ({os.path.getsize(weights) / 1024:.0f} kB); reloaded into a fresh model: "
          f"predictions {'identical' if same else 'DIFFERENT'} ({100 * reload_acc:.2f}% test accuracy)")

    plot = None
    if not args.no_plot:
        plot = os.path.join(args.out, f"{args.data}-{args.model}-loss.png")
        if plot_curves(history, plot, f"minigrad demo: {args.model.upper()} on {description}"):
            print(f"loss curve written to {plot}")
        else:
            plot = None
            print("matplotlib is not installed: no loss-curve plot (pip install matplotlib)")
    total = time.perf_counter() - t_start
    print(f"done in {total:.1f}s")
    if not same:
        raise SystemExit("error: the reloaded weights gave different predictions")
    return {"test_accuracy": test_acc, "test_loss": test_loss, "train_seconds": train_seconds,
            "total_seconds": total, "weights": weights, "plot": plot, "history": history,
            "reload_identical": same}


if __name__ == "__main__":
    main()
