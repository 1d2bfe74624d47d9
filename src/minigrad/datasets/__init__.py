"""Datasets: the bundled UCI handwritten digits, and MNIST / Fashion-MNIST readers for local IDX files.

Nothing here touches the network. ``load_digits()`` reads a 57 kB file shipped inside the
package (CC BY 4.0, see ``datasets/data/README.md``). ``MNIST`` and ``FashionMNIST`` read the
standard IDX files (``train-images-idx3-ubyte.gz`` etc., gzipped or not) from a folder you
provide, for example the one Debian's ``dataset-fashion-mnist`` package installs
(``/usr/share/datasets/fashion-mnist``).
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from typing import Callable

from .. import backend as B
from ..tensor import Tensor
from ..utils.data import Dataset

xp = B.xp

__all__ = ["load_digits", "read_idx", "MNIST", "FashionMNIST", "DIGITS_PATH"]

DIGITS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")


@lru_cache(maxsize=1)
def _digits_arrays():
    with gzip.open(DIGITS_PATH, "rt") as fh:
        raw = xp.loadtxt(fh, delimiter=",", dtype=B.int64)
    if raw.shape != (1797, 65):
        raise RuntimeError(f"load_digits: {DIGITS_PATH} has shape {raw.shape}, expected (1797, 65)")
    pixels = raw[:, :64]
    labels = raw[:, 64]
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def load_digits(*, flatten: bool = True, scale: bool = True) -> tuple[Tensor, Tensor]:
    """The UCI handwritten digits (1,797 images of 8x8 pixels, classes 0-9), bundled, offline.

    Returns ``(X, y)``: ``X`` float32 of shape ``(1797, 64)`` (``flatten=False``: ``(1797, 1, 8, 8)``,
    an image batch for convolutions), pixel values divided by 16 into [0, 1] (``scale=False``:
    the raw 0..16 counts, still float32); ``y`` int64 of shape ``(1797,)``. The same samples in
    the same order as scikit-learn's ``load_digits``. Each call returns fresh tensors.
    """
    pixels, labels = _digits_arrays()
    X = pixels.astype(B.float32)
    if scale:
        X /= 16.0
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return Tensor._make(X, False, None), Tensor._make(labels.copy(), False, None)


# IDX format (http://yann.lecun.com/exdb/mnist/): 2 zero bytes, a type code, the number of
# dimensions, then each dimension as a big-endian uint32, then the data in big-endian order.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike):
    """Read one IDX file (``.gz`` or not) into a native-endian ndarray; ``ValueError`` if malformed."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"read_idx: cannot read {path!r}: {e}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"read_idx: {path!r} is not an IDX file (bad magic number {data[:4]!r})")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path!r} has unknown IDX data type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"read_idx: {path!r} is truncated inside its header")
    shape = tuple(int(d) for d in xp.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = xp.dtype(_IDX_TYPES[code])
    count = int(xp.prod(shape, dtype=B.int64)) if shape else 1
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"read_idx: {path!r} holds {len(data)} bytes but its header (shape {shape}, "
                         f"{dtype.str}) needs {expected}: the file is truncated or corrupt")
    arr = xp.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """MNIST from the standard IDX files in a local folder (no download).

    ``MNIST(root, train=True, transform=None, target_transform=None)`` looks for
    ``train-images-idx3-ubyte[.gz]`` / ``train-labels-idx1-ubyte[.gz]`` (``train=False``:
    ``t10k-...``) in ``root``, ``root/<ClassName>/raw`` (torchvision's layout) or
    ``root/<ClassName>``. Item ``i`` is ``(image, label)``: image a float32 Tensor of shape
    ``(1, 28, 28)`` scaled to [0, 1] (or ``transform(image)``), label an int. ``data`` (uint8,
    ``(N, 28, 28)``) and ``targets`` (int64, ``(N,)``) hold everything as Tensors.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        if download:
            raise RuntimeError(
                f"{type(self).__name__}: minigrad never downloads data; put the IDX files "
                "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                f"t10k-labels-idx1-ubyte.gz) in {os.fspath(root)!r} and use download=False"
            )
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        images = read_idx(self._find(f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(self._find(f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"{type(self).__name__}: images of shape {images.shape} and labels of shape "
                             f"{labels.shape} do not match (expected (N, H, W) and (N,))")
        self.data = Tensor._make(images.astype(B.uint8, copy=False), False, None)
        self.targets = Tensor._make(labels.astype(B.int64), False, None)

    def _find(self, stem: str) -> str:
        name = type(self).__name__
        folders = [self.root, os.path.join(self.root, name, "raw"), os.path.join(self.root, name)]
        for folder in folders:
            for fname in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
                path = os.path.join(folder, fname)
                if os.path.isfile(path):
                    return path
        raise FileNotFoundError(
            f"{name}: no {stem}[.gz] found in {folders} (minigrad reads the standard IDX files from a local "
            "folder and never downloads)"
        )

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int):
        img = Tensor._make((self.data._data[index].astype(B.float32) / 255.0)[None], False, None)
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def tensors(self, flatten: bool = False) -> tuple[Tensor, Tensor]:
        """All images as one float32 Tensor in [0, 1] (``(N, 1, 28, 28)``, or ``(N, 784)`` with ``flatten``)
        and the int64 labels: a fast way to build a ``TensorDataset``."""
        x = self.data._data.astype(B.float32) / 255.0
        x = x.reshape(x.shape[0], -1) if flatten else x[:, None]
        return Tensor._make(x, False, None), Tensor._make(self.targets._data.copy(), False, None)

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: " \
               f"{self.root}\n    Split: {split}"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) from the standard IDX files in a local folder; same interface as ``MNIST``."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
