"""``minigrad.amp``: PyTorch's automatic mixed precision names, ``GradScaler`` and ``autocast``.

``GradScaler`` is PyTorch's dynamic loss scaler, step for step: ``GradScaler("cpu")`` scales
the loss, unscales the gradients, skips steps whose gradients overflowed and adapts the
scale. A scaler for an unavailable device (``"cuda"``, the default) disables itself with
PyTorch's warning, and a disabled scaler passes everything through: ``scale(loss)`` returns
``loss``, ``step(opt)`` calls ``opt.step()``. So the usual AMP training loop runs unchanged.

``autocast`` with ``enabled=False``, or for an unavailable device (with PyTorch's warning),
is a context manager (and decorator) that does nothing. Autocasting itself (running some
ops in a lower precision) is not implemented: ``autocast("cpu")`` enabled raises.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from . import backend as B
from .autograd.graph import no_grad
from .tensor import Tensor

__all__ = ["GradScaler", "autocast", "is_autocast_available"]

_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _device_available(device_type: str) -> bool:
    return device_type == "cpu"


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler``.

    Args:
        device: the device type of the gradients (``"cuda"`` by default, as PyTorch; minigrad
            has no CUDA, so such a scaler disables itself with a warning).
        init_scale: the first scale factor.
        growth_factor: the scale is multiplied by it after ``growth_interval`` steps in a row
            without inf/nan gradients.
        backoff_factor: the scale is multiplied by it after a step whose gradients had inf/nan.
        growth_interval: see ``growth_factor``.
        enabled: ``False`` makes every method a pass-through.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if enabled and not _device_available(device):
            warnings.warn(f"minigrad.amp.GradScaler is enabled, but {device} is not available.  Disabling.",
                          UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise ValueError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ValueError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None  # made on first use, a 0-d float32 tensor (PyTorch's)
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: int | None = None
            self._per_optimizer_states: dict = {}

    # -- the training-loop calls ------------------------------------------------------------
    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples of them) times the scale factor; unchanged
        when disabled."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = Tensor._make(B.xp.full((), self._init_scale, dtype=B.float32), False, None)
            self._growth_tracker = self._init_growth_tracker
        return self._scale_all(outputs)

    def _scale_all(self, value):
        if isinstance(value, Tensor):
            return value * self._scale
        if isinstance(value, (list, tuple)):
            return type(value)(self._scale_all(v) for v in value)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place, noting whether any is inf/nan
        (so ``clip_grad_norm_`` can be applied to true gradients before ``step``)."""
        if not self._enabled:
            return
        self._check_scale("unscale_")
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # PyTorch's reciprocal: taken in float64, rounded to float32.
        inv_scale = B.float32.type(1.0 / self._scale._data.astype(B.float64))
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g._data.dtype == B.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    if not B.xp.isfinite(g._data).all():
                        found_inf = True
                    g.mul_(float(inv_scale))
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` after unscaling its gradients, skipped (returning
        None) when one was inf/nan. Disabled: just ``optimizer.step(...)``."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        retval = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return retval

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Adapt the scale: times ``backoff_factor`` if this iteration's gradients overflowed,
        times ``growth_factor`` after ``growth_interval`` clean steps; or set it to ``new_scale``."""
        if not self._enabled:
            return
        self._check_scale("update")
        scale = self._scale._data
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise AssertionError("new_scale should be a float or a 1-element FloatTensor with "
                                         "requires_grad=False.")
                new_scale = new_scale.item()
            scale[...] = new_scale
        else:
            if not self._per_optimizer_states:
                raise AssertionError("No inf checks were recorded prior to update.")
            found_inf = any(s["found_inf"] for s in self._per_optimizer_states.values())
            if found_inf:
                scale *= B.float32.type(self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = scale * B.float32.type(self._growth_factor)
                    if B.xp.isfinite(grown):  # never grow the scale to inf
                        scale[...] = grown
                    successful = 0
                self._growth_tracker = successful
        self._per_optimizer_states = {}

    # -- queries and state ---------------------------------------------------------------------
    def is_enabled(self) -> bool:
        """Whether this scaler scales (False when disabled or its device is unavailable)."""
        return self._enabled

    def get_scale(self) -> float:
        """The current scale factor (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def get_growth_factor(self) -> float:
        """The factor the scale grows by after ``growth_interval`` clean steps."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """Set the growth factor."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """The factor the scale shrinks by after an overflow."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """Set the backoff factor."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """The number of clean steps between two growths."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """Set the growth interval."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker``; empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (nothing when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale._data[...] = state_dict["scale"]
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]

    def _state(self, optimizer) -> dict:
        return self._per_optimizer_states.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def _check_scale(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"Attempted {funcname} but _scale is None.  This may indicate your script did not "
                               "use scaler.scale(loss or outputs) earlier in the iteration.")


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast`` can run for ``device_type``: minigrad implements no autocasting."""
    return False


class autocast:  # PyTorch's name
    """``torch.autocast``: a context manager (and decorator) for mixed-precision regions.

    minigrad does not autocast: with ``enabled=False`` it does nothing; for a device that
    is not available (``"cuda"``...) it warns as PyTorch does and does nothing; enabled for
    ``"cpu"`` it raises ``NotImplementedError`` rather than compute in another precision
    than PyTorch would.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = enabled
        if enabled and not _device_available(device_type):
            warnings.warn(f"{device_type} is not available. Disabling autocast.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled:
            raise NotImplementedError(f"autocast(device_type={device_type!r}): minigrad does not autocast to "
                                      "lower precision; pass enabled=False, or cast the model and inputs "
                                      "explicitly")

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper
