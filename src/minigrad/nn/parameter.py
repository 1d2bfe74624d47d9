"""``Parameter``: a Tensor that a Module registers as one of its weights."""

from __future__ import annotations

from .. import backend as B
from ..dtypes import default_float
from ..factories import as_array
from ..ops.registry import register_tensor_subclass
from ..tensor import Tensor

xp = B.xp


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and is registered when assigned to a Module.

    ``Parameter(data=None, requires_grad=True)``; ``data`` is a Tensor (its array is shared)
    or anything ``tensor()`` accepts.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        if data is None:
            arr = xp.zeros((0,), dtype=default_float())
        elif isinstance(data, Tensor):
            arr = data._data
        else:
            arr = as_array(data)  # as tensor(data)
        self._data = arr
        self._rg = False
        self.grad_fn = None
        self.grad = None
        self._vc = None
        self._hooks = None
        self._base = None
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._make(self._data.copy(), False, None), self._rg)
        if self.grad is not None:
            result.grad = Tensor._make(self.grad._data.copy(), False, None)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._rg))


def _rebuild_parameter(data, requires_grad):
    return Parameter(Tensor._make(data, False, None), requires_grad)


register_tensor_subclass(Parameter)
