"""``minigrad.cuda.amp``: PyTorch's deprecated CUDA spellings of ``minigrad.amp``.

``cuda.amp.GradScaler(...)`` is ``amp.GradScaler("cuda", ...)`` and ``cuda.amp.autocast(...)``
is ``amp.autocast("cuda", ...)``; both warn ``FutureWarning`` as PyTorch does.
"""

from __future__ import annotations

import warnings

from .. import amp as _amp

__all__ = ["GradScaler", "autocast"]


class GradScaler(_amp.GradScaler):
    """``amp.GradScaler("cuda", ...)`` under its old name; without CUDA it is disabled (with a
    warning unless ``enabled=False``), so ``scale()`` returns the loss and ``step()`` just steps."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`minigrad.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`minigrad.amp.GradScaler('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)


class autocast(_amp.autocast):  # PyTorch's name
    """``amp.autocast("cuda", ...)`` under its old name; without CUDA it does nothing."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        warnings.warn("`minigrad.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`minigrad.amp.autocast('cuda', args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
