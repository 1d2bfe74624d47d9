"""Utilities, as ``torch.utils``: ``minigrad.utils.data`` holds Dataset, TensorDataset and DataLoader."""

from . import data

__all__ = ["data"]
