"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts.

Layout and behaviour follow ``torch.optim.Optimizer``: ``param_groups`` is a list of
dicts (``'params'`` plus hyperparameters), ``state`` maps each parameter to a dict of
buffers (minigrad Tensors), and ``state_dict()`` refers to parameters by their integer
position across all groups, so a state dict saved from one model loads into a fresh
copy of it.

Updates run on the parameters' ndarrays directly (numpy ufuncs with ``out=``), which
is what ``torch.no_grad()`` plus in-place ops amount to, and bump each parameter's
version counter so a graph that saved the old value refuses to backpropagate.
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

from .. import backend as B
from ..autograd.engine import zero_grads
from ..autograd.graph import enable_grad
from ..tensor import Tensor

xp = B.xp


class _RequiredParameter:
    """Marks a hyperparameter with no default (as ``torch.optim.optimizer.required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _state_tensor(array) -> Tensor:
    """Wrap a state buffer as a plain Tensor (what ``state_dict`` hands out, as in PyTorch)."""
    return Tensor._make(array, False, None)


def _step_tensor() -> Tensor:
    # PyTorch keeps ``step`` as a 0-d float32 tensor; we do the same so state dicts match.
    return _state_tensor(xp.zeros((), dtype=B.float32))


def _check_nonneg(name: str, value, what: str | None = None) -> None:
    if isinstance(value, Tensor):
        value = value.item()
    if not 0.0 <= value:
        raise ValueError(f"Invalid {what or name} value: {value}")


def _check_lr(lr) -> None:
    if isinstance(lr, Tensor):
        lr = lr.item()
    if not isinstance(lr, (int, float)) or isinstance(lr, bool):
        raise TypeError(f"Invalid learning rate: expected a float, got {type(lr).__name__}")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _mark_called(step: Callable) -> Callable:
    """Wrap ``step`` so an LR scheduler can tell whether ``optimizer.step()`` ran before it."""
    if getattr(step, "_marks_called", False):
        return step

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        return step(self, *args, **kwargs)

    wrapper._marks_called = True
    return wrapper


class Optimizer:
    """Base class of every optimizer.

    ``params``: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts each
    holding ``'params'`` and per-group hyperparameters (the rest come from ``defaults``).
    """

    _opt_called = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _mark_called(cls.__dict__["step"])

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got a Tensor of shape {tuple(params.shape)} (wrap it in a list)"
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups --------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional hyperparameters)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of "
                "tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)
        names, tensors = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(
                    f"can't optimize a non-leaf Tensor (shape {tuple(p.shape)}, made by "
                    f"{p.grad_fn.name()}); pass the leaf parameters, or call .detach().requires_grad_()"
                )
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (to None by default, else to zeros)."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update the parameters once; ``closure`` re-evaluates the loss and returns it."""
        raise NotImplementedError

    def _closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- state dicts --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` (PyTorch's layout)."""
        mapping: dict[int, int] = {}
        start = 0
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for i, p in enumerate(g["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in g["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict made by ``state_dict()`` (hyperparameters included); buffers are copied
        and cast to their parameter's dtype."""
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state dict must be a dict with 'state' and 'param_groups' keys")
        groups = self.param_groups
        saved_groups = deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups ({len(saved_groups)} saved, "
                f"{len(groups)} in this optimizer)"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's "
                    f"group (group {i}: {len(s['params'])} saved, {len(g['params'])} here)"
                )
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                arr = value._data
                if key != "step":  # state lives on its parameter's device (PyTorch's rule); step on the CPU
                    arr = B.to_backend(arr, B.backend_of(param._data))
                if key != "step" and param.is_floating_point() and arr.dtype != param.dtype:
                    return _state_tensor(arr.astype(param.dtype))
                return _state_tensor(arr.copy())
            if isinstance(value, B.ndarray):
                return _state_tensor(value.astype(param.dtype) if key != "step" and value.dtype.kind == "f"
                                     else value.copy())
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                if isinstance(v, dict):
                    for key, val in v.items():
                        if isinstance(val, (Tensor, B.ndarray)) and key != "step" and val.ndim and \
                                tuple(val.shape) != tuple(param.shape):
                            raise ValueError(
                                f"loaded optimizer state {key!r} of parameter {k} has shape {tuple(val.shape)}, "
                                f"but the parameter has shape {tuple(param.shape)}"
                            )
                state[param] = cast(param, v)
            else:
                state[k] = v
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
        self.state = state
        self.param_groups = saved_groups

    # -- helpers for subclasses -----------------------------------------------------
    def __repr__(self) -> str:
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _grads(group: dict[str, Any]) -> Iterable[tuple[Tensor, Any]]:
    """(parameter, gradient ndarray) for the parameters of ``group`` that have a gradient."""
    for p in group["params"]:
        g = p.grad
        if g is None:
            continue
        garr = g._data
        if garr.shape != p._data.shape:
            raise RuntimeError(
                f"optimizer step: gradient of shape {garr.shape} does not match its parameter of shape "
                f"{p._data.shape}"
            )
        yield p, garr


def _prepare_grad(p: Tensor, g, maximize: bool, weight_decay: float):
    """The gradient the update uses: negated for ``maximize``, plus ``weight_decay * p`` (L2).

    Returns a fresh array when it changes ``g`` (the ``.grad`` tensor is never modified).
    """
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p._data
    return g
