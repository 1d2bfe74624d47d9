"""Samplers, as ``torch.utils.data.sampler`` (defined in ``dataloader.py``, re-exported here)."""

from .dataloader import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "BatchSampler"]
