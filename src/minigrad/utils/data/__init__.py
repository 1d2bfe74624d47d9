"""Datasets, samplers and the DataLoader, as ``torch.utils.data`` (single process).

The names live where PyTorch keeps them: ``utils.data.dataset`` (Dataset, TensorDataset,
Subset, ...), ``utils.data.sampler`` (Sampler, RandomSampler, BatchSampler, ...) and
``utils.data.dataloader`` (DataLoader, default_collate); this package re-exports them all.
"""

from .dataloader import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "BatchSampler", "DataLoader", "default_collate",
]
