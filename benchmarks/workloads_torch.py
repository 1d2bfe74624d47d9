"""PyTorch's workloads: the same PyTorch-API programs as minigrad's, bound to torch."""

from __future__ import annotations

from . import workloads_torchlike as W


def lib(api: str = "auto", threads: int | None = None) -> W.Lib:
    import torch
    import torch.nn.functional as F

    if threads:
        torch.set_num_threads(threads)
    return W.Lib(torch, nn=torch.nn, F=F, optim=torch.optim, api=api)


def make(name: str, d: dict, api: str = "auto", threads: int | None = None):
    return W.make(lib(api, threads), name, d)
