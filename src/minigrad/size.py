"""``minigrad.Size``: a tensor's shape, as ``torch.Size``: a tuple of ints that prints as
``minigrad.Size([2, 3])`` and knows its ``numel()``."""

from __future__ import annotations

import operator


class Size(tuple):
    """The shape of a tensor: a ``tuple`` of ints (equal to and hashing as the plain tuple).

    Slicing, ``+`` and ``*`` give a ``Size`` again; ``numel()`` is the number of elements.
    """

    __slots__ = ()

    def __new__(cls, sizes=()) -> Size:
        items = tuple(sizes)
        for i, v in enumerate(items):
            if type(v) is not int:
                try:
                    v = int(operator.index(v))  # bools, numpy ints, one-element integer tensors
                except TypeError:
                    raise TypeError(f"minigrad.Size() takes an iterable of 'int' (item {i} is "
                                    f"'{type(v).__name__}')") from None
                items = items[:i] + (v,) + items[i + 1:]
        return tuple.__new__(cls, items)

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        n = 1
        for v in self:
            n *= v
        return n

    def __getitem__(self, key):
        out = tuple.__getitem__(self, key)
        return tuple.__new__(Size, out) if isinstance(key, slice) else out

    def __add__(self, other) -> Size:
        return tuple.__new__(Size, tuple.__add__(self, other))  # a list raises tuple's TypeError

    def __radd__(self, other) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(other, self))

    def __mul__(self, n) -> Size:
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"minigrad.Size([{', '.join(map(str, self))}])"

    __str__ = __repr__

    def __reduce__(self):
        return (Size, (tuple(self),))


def as_size(shape: tuple) -> Size:
    """A ``Size`` of a shape known to hold ints (an array's), without checking them."""
    return tuple.__new__(Size, shape)
