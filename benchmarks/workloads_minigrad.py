"""minigrad's workloads: the PyTorch-API programs of ``workloads_torchlike`` bound to minigrad.

``minigrad.nn``, ``minigrad.nn.functional`` and ``minigrad.optim`` are imported when
they exist; otherwise the MLP falls back to raw Tensor ops (``x @ W.T + b``,
``log_softmax`` + ``gather``, ``p -= lr * p.grad`` under ``no_grad``) and the CNN
reports itself unavailable. With ``compiled=True`` each workload's step runs through
``minigrad.compile`` (unavailable while minigrad has no ``compile``).
"""

from __future__ import annotations

import importlib

from . import workloads_torchlike as W


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def lib(api: str = "auto") -> W.Lib:
    import minigrad

    return W.Lib(minigrad, nn=_optional("minigrad.nn"), F=_optional("minigrad.nn.functional"),
                 optim=_optional("minigrad.optim"), api=api)


def make(name: str, d: dict, api: str = "auto", compiled: bool = False):
    """minigrad's workload ``name``; ``compiled``: its step through ``minigrad.compile``."""
    return W.make(lib(api), name, d, compiled=compiled)
