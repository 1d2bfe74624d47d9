"""Dataset classes, as ``torch.utils.data.dataset`` (defined in ``dataloader.py``, re-exported here)."""

from .dataloader import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]
