"""minigrad.utils.data: Dataset, TensorDataset, DataLoader, default_collate, random_split."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import minigrad as mg
from minigrad.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _ds(n=10):
    X = mg.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = mg.tensor(np.arange(n) % 4)
    return TensorDataset(X, y), X, y


def test_tensor_dataset():
    ds, X, y = _ds()
    assert len(ds) == 10
    x5, y5 = ds[5]
    np.testing.assert_array_equal(x5.numpy(), X.numpy()[5])
    assert y5.item() == 1 and y5.dtype == mg.int64
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(mg.zeros(3, 2), mg.zeros(4))


@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_in_order(drop_last):
    ds, X, y = _ds(10)
    loader = DataLoader(ds, batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == (2 if drop_last else 3)
    xb, yb = batches[0]
    assert isinstance(xb, mg.Tensor) and xb.shape == (4, 3) and xb.dtype == mg.float32
    assert yb.dtype == mg.int64
    got = np.concatenate([b[0].numpy() for b in batches])
    np.testing.assert_array_equal(got, X.numpy()[: len(got)])
    assert batches[-1][0].shape[0] == (4 if drop_last else 2)


def test_shuffle_is_a_permutation_and_reproducible_under_manual_seed():
    ds, X, y = _ds(23)
    loader = DataLoader(ds, batch_size=5, shuffle=True)
    mg.manual_seed(3)
    first = np.concatenate([yb.numpy() for _, yb in loader])
    second = np.concatenate([xb.numpy()[:, 0] for xb, _ in loader])
    mg.manual_seed(3)
    again = np.concatenate([yb.numpy() for _, yb in loader])
    np.testing.assert_array_equal(first, again)
    assert sorted((second / 3).astype(int).tolist()) == list(range(23))  # each epoch: every sample once
    assert not np.array_equal(second / 3, np.arange(23))  # and shuffled
    # the generic (non-TensorDataset) path shuffles the same way
    mg.manual_seed(3)
    slow = DataLoader(Subset(ds, list(range(23))), batch_size=5, shuffle=True)
    np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in slow]), first)


def test_fast_path_equals_generic_collate():
    ds, X, y = _ds(11)

    class Wrapped(Dataset):
        def __len__(self):
            return len(ds)

        def __getitem__(self, i):
            return ds[i]

    a = list(DataLoader(ds, batch_size=3))
    b = list(DataLoader(Wrapped(), batch_size=3))
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())
        assert xa.dtype == xb.dtype and ya.dtype == yb.dtype


def test_generator_argument():
    ds, _, _ = _ds(12)
    a = [yb.numpy() for _, yb in DataLoader(ds, batch_size=4, shuffle=True, generator=mg.Generator().manual_seed(7))]
    b = [yb.numpy() for _, yb in DataLoader(ds, batch_size=4, shuffle=True, generator=mg.Generator().manual_seed(7))]
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
    with pytest.raises(TypeError, match="generator"):
        list(DataLoader(ds, shuffle=True, generator="seed"))
    with pytest.raises(TypeError, match="minigrad.Generator"):  # PyTorch takes only its own Generator too
        list(DataLoader(ds, shuffle=True, generator=np.random.default_rng(7)))


def test_collate_fn_and_batch_size_none():
    ds, X, _ = _ds(6)
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda batch: len(batch))
    assert list(loader) == [2, 2, 2]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 6 and single[2][0].shape == (3,)


def test_default_collate_types():
    Point = namedtuple("Point", "x y")
    batch = [
        {"a": 1.5, "b": 2, "c": True, "s": "u", "arr": np.ones(2, np.float32), "t": mg.tensor([1, 2]),
         "p": Point(1, 2.0), "l": (mg.zeros(2), 3)},
        {"a": 2.5, "b": 3, "c": False, "s": "v", "arr": np.zeros(2, np.float32), "t": mg.tensor([3, 4]),
         "p": Point(3, 4.0), "l": (mg.ones(2), 4)},
    ]
    out = default_collate(batch)
    assert out["a"].dtype == mg.float64 and out["a"].tolist() == [1.5, 2.5]
    assert out["b"].dtype == mg.int64 and out["c"].dtype == mg.bool
    assert out["s"] == ["u", "v"]
    assert out["arr"].shape == (2, 2) and out["arr"].dtype == mg.float32
    assert out["t"].tolist() == [[1, 2], [3, 4]]
    assert isinstance(out["p"], Point) and out["p"].x.tolist() == [1, 3]
    assert isinstance(out["l"], list) and out["l"][0].shape == (2, 2) and out["l"][1].tolist() == [3, 4]
    od = default_collate([OrderedDict(z=1), OrderedDict(z=2)])
    assert isinstance(od, OrderedDict)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([mg.zeros(2), mg.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_collate_keeps_graph_when_samples_require_grad():
    w = mg.ones(2, requires_grad=True)
    out = default_collate([w * 2, w * 3])
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [5.0, 5.0])


def test_random_split_and_concat():
    ds, _, y = _ds(10)
    mg.manual_seed(0)
    a, b = random_split(ds, [7, 3])
    assert len(a) == 7 and len(b) == 3
    seen = sorted([int(a[i][1].item() * 0 + a.indices[i]) for i in range(7)] + list(b.indices))
    assert seen == list(range(10))
    c, d = random_split(ds, [0.75, 0.25], generator=mg.Generator().manual_seed(0))
    assert len(c) + len(d) == 10
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])
    cat = ConcatDataset([ds, ds])
    assert len(cat) == 20 and cat[13][1].item() == y[3].item()
    assert len(ds + ds) == 20


def test_samplers_and_errors():
    ds, _, _ = _ds(5)
    bs = BatchSampler(SequentialSampler(ds), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]]
    loader = DataLoader(ds, batch_sampler=bs)
    assert len(loader) == 3 and [b[0].shape[0] for b in loader] == [2, 2, 1]
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_subset_of_tensor_dataset_fast_path_matches_generic():
    ds, X, y = _ds(20)
    sub = Subset(ds, [3, 1, 4, 15, 9, 2, 6])

    class Plain(Dataset):
        def __len__(self):
            return len(sub)

        def __getitem__(self, i):
            return sub[i]

    for shuffle in (False, True):
        mg.manual_seed(1)
        a = [(xb.numpy(), yb.numpy()) for xb, yb in DataLoader(sub, batch_size=3, shuffle=shuffle)]
        mg.manual_seed(1)
        b = [(xb.numpy(), yb.numpy()) for xb, yb in DataLoader(Plain(), batch_size=3, shuffle=shuffle)]
        assert len(a) == len(b) == 3
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_pytorch_module_paths():
    """PyTorch's submodule paths hold the same objects as the package (programs import from either)."""
    import importlib

    import minigrad.utils.data as data

    where = {
        "dataloader": ["DataLoader", "default_collate"],
        "dataset": ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"],
        "sampler": ["Sampler", "SequentialSampler", "RandomSampler", "BatchSampler"],
    }
    for module, names in where.items():
        mod = importlib.import_module(f"minigrad.utils.data.{module}")
        for name in names:
            assert getattr(mod, name) is getattr(data, name), f"utils.data.{module}.{name}"
