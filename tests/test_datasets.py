"""minigrad.datasets: the bundled digits and the IDX readers behind MNIST / FashionMNIST."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

import minigrad as mg
from minigrad import datasets
from minigrad.utils.data import DataLoader, TensorDataset


def test_load_digits():
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == mg.float32
    assert y.shape == (1797,) and y.dtype == mg.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    # class counts and the first image, as in scikit-learn's copy of the UCI data
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))
    first = (X.numpy()[0] * 16).astype(int)
    assert first[:16].tolist() == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    raw, _ = datasets.load_digits(scale=False, flatten=False)
    assert raw.shape == (1797, 1, 8, 8) and raw.dtype == mg.float32
    np.testing.assert_array_equal(raw.numpy().reshape(1797, 64), X.numpy() * 16)
    assert raw.numpy()[0, 0, 0, 2] == 5.0
    X[0, 0] = 7.0  # fresh tensors each call: the cache is untouched
    assert datasets.load_digits()[0][0, 0].item() == 0.0


def test_bundled_file_and_attribution_are_in_the_package():
    folder = os.path.dirname(datasets.DIGITS_PATH)
    assert os.path.isfile(datasets.DIGITS_PATH)
    with open(os.path.join(folder, "README.md")) as fh:
        text = fh.read()
    assert "CC BY 4.0" in text and "Alpaydin" in text


def _write_idx(path, arr, code, gz):
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    payload = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += np.asarray(arr, dtype=dt).tobytes()
    with (gzip.open if gz else open)(path, "wb") as fh:
        fh.write(payload)


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("code, dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_types(tmp_path, gz, code, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - (0 if code == 0x08 else 5)).astype(dtype)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    _write_idx(path, arr, code, gz)
    out = datasets.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_errors(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="magic"):
        datasets.read_idx(path)
    _write_idx(path, np.zeros((3, 4), np.uint8), 0x08, False)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ValueError, match="truncated"):
        datasets.read_idx(path)
    path.write_bytes(b"\x00\x00\x42\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="type code"):
        datasets.read_idx(path)
    gzp = tmp_path / "bad.gz"
    gzp.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="cannot read"):
        datasets.read_idx(gzp)


def _fake_mnist(folder, n_train=12, n_test=5, gz=True):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        ext = ".gz" if gz else ""
        _write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), images, 0x08, gz)
        _write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), labels, 0x08, gz)
        out[prefix] = (images, labels)
    return out


@pytest.mark.parametrize("cls", [datasets.MNIST, datasets.FashionMNIST])
def test_mnist_readers(tmp_path, cls):
    ref = _fake_mnist(tmp_path)
    train = cls(tmp_path)
    test = cls(str(tmp_path), train=False)
    assert len(train) == 12 and len(test) == 5
    img, label = train[3]
    assert img.shape == (1, 28, 28) and img.dtype == mg.float32 and isinstance(label, int)
    np.testing.assert_allclose(img.numpy()[0], ref["train"][0][3] / 255.0, rtol=1e-6)
    assert label == int(ref["train"][1][3])
    assert train.data.dtype == mg.uint8 and train.targets.dtype == mg.int64
    np.testing.assert_array_equal(test.targets.numpy(), ref["t10k"][1])
    assert len(cls.classes) == 10
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.dtype == mg.int64
    X, y = train.tensors(flatten=True)
    assert X.shape == (12, 784) and len(TensorDataset(X, y)) == 12
    tr = cls(tmp_path, transform=lambda im: im.reshape(-1), target_transform=lambda t: t + 100)
    im, t = tr[0]
    assert im.shape == (784,) and t >= 100


def test_torchvision_layout_and_plain_files(tmp_path):
    _fake_mnist(tmp_path / "FashionMNIST" / "raw", gz=False)
    ds = datasets.FashionMNIST(tmp_path)
    assert len(ds) == 12


def test_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.MNIST(tmp_path)
    with pytest.raises(RuntimeError, match="never downloads"):
        datasets.MNIST(tmp_path, download=True)
    _fake_mnist(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), 0x08, True)
    with pytest.raises(ValueError, match="do not match"):
        datasets.MNIST(tmp_path)


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist package is not installed")
def test_real_fashion_mnist_if_installed():
    ds = datasets.FashionMNIST("/usr/share/datasets/fashion-mnist", train=False)
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert np.bincount(ds.targets.numpy()).tolist() == [1000] * 10
