"""The demo: ``python -m minigrad.demo`` trains on the bundled digits to >= 97% and reloads its weights."""

from __future__ import annotations

import gzip
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import demo


def test_default_demo_reaches_97_percent(tmp_path):
    """Exactly the README command (a fresh process, default options)."""
    proc = subprocess.run([sys.executable, "-m", "minigrad.demo", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert len(re.findall(r"^epoch +\d+/25 +train loss [\d.]+ +acc +[\d.]+% +\| +test loss [\d.]+ +acc", out,
                          re.M)) == 25
    acc = float(re.search(r"final test accuracy: ([\d.]+)%", out).group(1))
    assert acc >= 97.0, out
    assert "predictions identical" in out
    weights = tmp_path / "digits-mlp.pt"
    assert weights.is_file()
    sd = minigrad.load(weights)
    assert set(sd) == {"1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias"}
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        png = tmp_path / "digits-mlp-loss.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_main_returns_summary_and_weights_reload(tmp_path, capsys):
    res = demo.main(["--epochs", "2", "--out", str(tmp_path), "--no-plot", "--threads", "0", "--optimizer", "sgd",
                     "--save", str(tmp_path / "sub" / "w.bin")])
    assert res["reload_identical"] and res["weights"] == str(tmp_path / "sub" / "w.bin")
    assert len(res["history"]["test_acc"]) == 2 and res["test_accuracy"] > 0.8
    model = demo.build_mlp((1, 8, 8), 10, hidden=128)
    missing, unexpected = model.load_state_dict(minigrad.load(res["weights"]))
    assert not missing and not unexpected
    assert capsys.readouterr().out.count("epoch ") >= 2


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_demo_trains_on_cuda_as_on_cpu(tmp_path, fakecuda, model):
    """The demo's training loop on device 'cuda' (the CuPy-shaped stand-in): the same seed gives the
    same run as on the CPU, up to the device's own summation order (batch statistics)."""
    args = ["--epochs", "2", "--no-plot", "--threads", "0", "--no-progress", "--model", model]
    if model == "cnn":
        args += ["--batch-size", "128"]
    cpu = demo.main(args + ["--out", str(tmp_path / "cpu")])
    gpu = demo.main(args + ["--out", str(tmp_path / "gpu"), "--device", "cuda"])
    assert gpu["reload_identical"]
    np.testing.assert_allclose(gpu["history"]["train_loss"], cpu["history"]["train_loss"], rtol=1e-4)
    assert abs(gpu["test_accuracy"] - cpu["test_accuracy"]) <= 0.01
    assert gpu["test_accuracy"] > (0.8 if model == "mlp" else 0.2)  # (2 epochs: the CNN has only started)


def test_same_seed_same_run(tmp_path):
    a = demo.main(["--epochs", "1", "--out", str(tmp_path), "--no-plot", "--threads", "0", "--seed", "5"])
    b = demo.main(["--epochs", "1", "--out", str(tmp_path), "--no-plot", "--threads", "0", "--seed", "5"])
    assert a["history"] == b["history"]


def test_plain_fallback_without_tqdm_and_matplotlib(tmp_path, monkeypatch, capsys):
    for name in ("tqdm", "tqdm.auto", "matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)
    res = demo.main(["--epochs", "1", "--out", str(tmp_path), "--threads", "0"])
    out = capsys.readouterr().out
    assert "epoch   1/1" in out and "matplotlib is not installed" in out and res["plot"] is None


def _write_idx(path, arr):
    with gzip.open(path, "wb") as fh:
        fh.write(struct.pack(">BBBB", 0, 0, 8, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes())


@pytest.mark.parametrize("data", ["mnist", "fashion-mnist"])
def test_mnist_style_data_from_root(tmp_path, data):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    res = demo.main(["--data", data, "--root", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "out"),
                     "--no-plot", "--threads", "0", "--hidden", "16"])
    assert res["reload_identical"] and os.path.isfile(res["weights"])


def test_bad_options(tmp_path):
    with pytest.raises(SystemExit):
        demo.main(["--data", "mnist", "--root", str(tmp_path), "--out", str(tmp_path)])  # no IDX files
    with pytest.raises(SystemExit):
        demo.main(["--epochs", "0"])
    with pytest.raises(SystemExit):
        demo.main(["--optimizer", "lbfgs"])


def test_model_builders_are_pluggable(tmp_path, monkeypatch):
    assert {"mlp", "cnn"} <= set(demo.MODEL_BUILDERS)
    calls = []

    def tiny(in_shape, num_classes, hidden=128):
        calls.append(in_shape)
        return minigrad.nn.Sequential(minigrad.nn.Flatten(), minigrad.nn.Linear(64, num_classes))

    monkeypatch.setitem(demo.MODEL_BUILDERS, "mlp", tiny)
    res = demo.main(["--epochs", "1", "--out", str(tmp_path), "--no-plot", "--threads", "0"])
    assert calls == [(1, 8, 8), (1, 8, 8)] and res["reload_identical"]

