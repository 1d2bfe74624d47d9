"""Datasets and the DataLoader, as ``torch.utils.data`` (single process).

``DataLoader`` batches samples with ``default_collate`` (PyTorch's rules: tensors,
numpy arrays and numbers are stacked into tensors; tuples, lists and dicts are
collated field by field). Shuffling draws exactly as PyTorch's ``RandomSampler`` (a
``randperm`` per epoch from a generator seeded off the default one), so after
``minigrad.manual_seed(n)`` the batches come in PyTorch's order. A
``TensorDataset`` with the default collate takes a fast path: each batch is one
fancy-indexing of every tensor, not a stack of per-sample slices.
"""

from __future__ import annotations

import collections.abc
import math
from typing import Any, Callable, Iterable, Iterator, Sequence

from ... import backend as B
from ... import random as R
from ...tensor import Tensor

xp = B.xp

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler", "DataLoader", "default_collate",
]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream-style dataset: subclasses define ``__iter__()``."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class TensorDataset(Dataset):
    """Samples are ``(t0[i], t1[i], ...)`` for tensors sharing their first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError("TensorDataset: tensors need a first (sample) dimension, got a 0-d tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(
                "Size mismatch between tensors: first dimensions are " + str([t.shape[0] for t in tensors])
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1] if self.cumulative_sizes else 0

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += len(self)
        import bisect

        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][idx - start]


def _generator(generator):
    """A ``minigrad.Generator``: the one given, or the default one."""
    return R._gen(generator)


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator=None) -> list[Subset]:
    """Split ``dataset`` at random into subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = R.randperm(_generator(generator), n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + length]))
        start += length
    return out


class Sampler:
    """Yields dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} has no len()")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation of the indices at each iteration."""

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self):
        """PyTorch's draws: without a generator, a fresh one seeded by one int64 from the default
        generator; then ``randint`` (with replacement) or a ``randperm`` per pass."""
        n = len(self.data_source)
        gen = self.generator
        if gen is None:
            gen = R.Generator().manual_seed(int(R.random_full(R.default_generator, (), B.int64)))
        gen = _generator(gen)
        if self.replacement:
            return R.random_from_to(gen, (self.num_samples,), B.int64, 0, n)
        reps, rest = divmod(self.num_samples, n) if n else (0, 0)
        perms = [R.randperm(gen, n) for _ in range(reps)] + [R.randperm(gen, n)[:rest]]
        return xp.concatenate(perms)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def _stack_arrays(arrays: list) -> Tensor:
    return Tensor._make(xp.stack(arrays), False, None)


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors / ndarrays of equal shape -> one Tensor with a new first dim; Python floats ->
    float64 tensor, ints -> int64, bools -> bool; strings stay a list; dicts, tuples and
    lists are collated field by field (tuples and lists come back as lists).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        shape = elem.shape
        for b in batch:
            if not isinstance(b, Tensor) or b.shape != shape:
                raise RuntimeError(
                    "default_collate: stack expects each tensor to be equal size, but got "
                    f"{tuple(shape)} at entry 0 and {tuple(getattr(b, 'shape', ()))} at another entry"
                )
        if any(b.requires_grad for b in batch):
            from ...ops.movement import stack

            return stack(batch)
        return _stack_arrays([b._data for b in batch])
    if isinstance(elem, B.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                            f"found an array of dtype {elem.dtype}")
        return _stack_arrays([xp.asarray(b) for b in batch])
    if isinstance(elem, B.generic):
        return Tensor._make(xp.array(batch), False, None)
    if isinstance(elem, bool):
        return Tensor._make(xp.array(batch, dtype=B.bool_), False, None)
    if isinstance(elem, int):
        return Tensor._make(xp.array(batch, dtype=B.int64), False, None)
    if isinstance(elem, float):
        return Tensor._make(xp.array(batch, dtype=B.float64), False, None)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, generator=None)``.
    ``batch_size=None`` yields single samples. ``generator`` is a ``minigrad.Generator``;
    by default shuffling draws from the default generator, as PyTorch's does. Loading
    always runs in this process: ``num_workers``, ``pin_memory`` etc. are accepted so
    PyTorch scripts run unchanged, and ignored.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable | None = None, batch_sampler: Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable | None = None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, **kwargs) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                             "and drop_last")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.generator = generator
        self.collate_fn = collate_fn
        self._auto_collation = batch_sampler is not None or batch_size is not None
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler

    def _fast_source(self):
        """(tensors, index map or None) when batches can be cut by fancy indexing: a TensorDataset (or a
        Subset of one) with the default collate and no tensor requiring grad; else None."""
        if self.collate_fn is not None or not self._auto_collation:
            return None
        ds, index_map = self.dataset, None
        if type(ds) is Subset and type(ds.dataset) is TensorDataset:
            index_map = xp.asarray(ds.indices, dtype=B.int64)
            ds = ds.dataset
        if type(ds) is not TensorDataset or any(t.requires_grad for t in ds.tensors):
            return None
        return ds.tensors, index_map

    def __iter__(self) -> Iterator:
        # PyTorch's loader iterator draws a base seed for its workers first (even with none)
        R.random_full(_generator(self.generator), (), B.int64)
        if not self._auto_collation:
            for idx in self.sampler:
                sample = self.dataset[idx]
                yield self.collate_fn(sample) if self.collate_fn is not None else sample
            return
        fast = self._fast_source()
        if fast is not None:
            arrays = [t._data for t in fast[0]]
            index_map = fast[1]
            for idx in self._index_batches():
                if index_map is not None:
                    idx = index_map[idx]
                yield [Tensor._make(a[idx], False, None) for a in arrays]
            return
        collate = self.collate_fn or default_collate
        for batch in self.batch_sampler:
            yield collate([self.dataset[i] for i in batch])

    def _index_batches(self):
        """Index arrays of each batch (the TensorDataset fast path), drawn without a Python loop per sample."""
        bs = self.batch_sampler
        if type(bs) is BatchSampler and type(bs.sampler) in (SequentialSampler, RandomSampler) and \
                not getattr(bs.sampler, "replacement", False) and getattr(bs.sampler, "_num_samples", None) is None:
            n = len(self.dataset)
            order = bs.sampler._indices() if type(bs.sampler) is RandomSampler else xp.arange(n)
            stop = n - n % bs.batch_size if bs.drop_last else n
            return (order[i:i + bs.batch_size] for i in range(0, stop, bs.batch_size))
        return (xp.asarray(batch, dtype=B.int64) for batch in bs)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
