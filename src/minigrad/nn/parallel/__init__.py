"""Data parallelism, as ``torch.nn.parallel``: ``DistributedDataParallel`` (one process per rank,
over ``minigrad.distributed``) and ``DataParallel`` (on CPU, the module itself)."""

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
