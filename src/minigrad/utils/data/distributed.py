"""``DistributedSampler``: each rank's share of a dataset, as ``torch.utils.data.distributed``."""

from __future__ import annotations

import math
from typing import Iterator

from .dataloader import Dataset, Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` loads, as PyTorch's.

    ``DistributedSampler(dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False)``.
    Every rank draws the same order of all indices (a permutation from a generator seeded with
    ``seed + epoch`` when ``shuffle``; call ``set_epoch(epoch)`` at the start of each epoch for a
    new one), makes its length a multiple of ``num_replicas`` (by repeating indices from its start,
    or, with ``drop_last``, by dropping its tail), and takes every ``num_replicas``-th index
    starting at ``rank``. ``num_replicas`` and ``rank`` default to the process group's.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:  # the process group's (an error if there is none)
            from ... import distributed as dist

            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # Every rank gets the same count: the largest that all can fill without repeating.
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def _order(self) -> list[int]:
        """All indices in this epoch's order (the same on every rank)."""
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        from ... import Generator, randperm

        g = Generator()
        g.manual_seed(self.seed + self.epoch)
        return randperm(n, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        indices = self._order()
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - len(indices)
            if padding > 0:  # wrap around to the start, as many times as needed
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        if len(indices) != self.total_size:
            raise RuntimeError(f"DistributedSampler: {len(indices)} indices for a total size of {self.total_size}")
        mine = indices[self.rank: self.total_size: self.num_replicas]
        return iter(mine)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next shuffle, so every epoch has a new order (the same on every rank)."""
        self.epoch = epoch
