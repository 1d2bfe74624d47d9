"""Sparse COO tensors, as PyTorch's ``torch.sparse_coo_tensor`` / ``torch.sparse``, for graph networks.

A separate class, not a layout flag on ``Tensor``: the dense core stays untouched, and a sparse
tensor is just its two parts,

- ``indices``: an int64 array of shape (sparse_dim, nnz), the coordinates of the stored entries;
- ``values``: a minigrad ``Tensor`` of shape (nnz, *dense_dims), on the autograd graph,

so every operation here is a composite of ordinary differentiable Tensor ops on ``values``
(index_select, multiply, scatter_add): gradients reach the values (and whatever they were
computed from) and the dense operand, with no gradient code of their own.

Supported: ``sparse_coo_tensor``, ``Tensor.to_sparse()``, ``to_dense()``, ``coalesce()``,
``is_coalesced()``, ``indices()``/``values()`` (coalesced only, as PyTorch) and
``_indices()``/``_values()``, ``sparse.mm``/``spmm``/``mm``/``@`` of a 2-D sparse matrix with a
dense one (either side), ``t()``, ``sparse + sparse``, ``sparse * number``, ``sparse.sum``.
Anything else raises a ``RuntimeError`` saying to call ``to_dense()`` first.

A sparse tensor made with ``requires_grad=True`` has a ``.grad`` that is a coalesced sparse tensor
over its stored positions (PyTorch's for ``sparse.mm`` and ``to_dense``; for ``torch.mm`` PyTorch's
is dense).
Indices are always checked against the size (PyTorch checks only when asked).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import backend as B
from .factories import zeros
from .ops.linalg import mm as _dense_mm
from .ops.registry import constant, is_tensor, make_tensor
from .size import Size

if TYPE_CHECKING:
    from .tensor import Tensor

xp = B.xp

__all__ = ["SparseTensor", "sparse_coo_tensor", "mm", "spmm", "sum", "layout", "strided", "sparse_coo"]


class layout:  # PyTorch's name: torch.layout
    """A tensor's memory layout: ``minigrad.strided`` (dense) or ``minigrad.sparse_coo``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"minigrad.{self.name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def _as_index_array(indices) -> B.ndarray:
    arr = indices._data if is_tensor(indices) else xp.asarray(indices)
    if arr.size == 0:
        arr = arr.reshape(arr.shape[0] if arr.ndim == 2 else 1, 0)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"sparse_coo_tensor: indices must be an int64 tensor, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise RuntimeError(f"sparse_coo_tensor: indices must be sparse_dim x nnz, but got: {list(arr.shape)}")
    return arr.astype(xp.int64, copy=False)


class SparseTensor:
    """A sparse COO tensor: ``indices`` (sparse_dim, nnz) and ``values`` (nnz, *dense_dims) of ``size``."""

    __slots__ = ("_idx", "_vals", "_size", "_coalesced")

    is_sparse = True
    layout = sparse_coo

    def __init__(self, indices, values: Tensor, size: tuple, coalesced: bool = False) -> None:
        self._idx = indices
        self._vals = values
        self._size = tuple(int(s) for s in size)
        self._coalesced = coalesced

    # -- metadata ----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The full size (sparse dims, then dense dims), a ``minigrad.Size``."""
        return Size(self._size)

    def size(self, dim: int | None = None):
        """The size (a ``minigrad.Size``), or its ``dim``-th entry."""
        return Size(self._size) if dim is None else self._size[dim]

    def dim(self) -> int:
        """Number of dims (sparse + dense)."""
        return len(self._size)

    ndim = property(dim)

    def sparse_dim(self) -> int:
        """Number of leading dims addressed by ``indices``."""
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        """Number of trailing dims stored densely in each value."""
        return len(self._size) - self._idx.shape[0]

    def _nnz(self) -> int:
        """Number of stored entries (duplicates counted)."""
        return self._idx.shape[1]

    def numel(self) -> int:
        """Number of elements of the dense equivalent."""
        return math.prod(self._size)

    @property
    def dtype(self):
        """The values' dtype."""
        return self._vals.dtype

    @property
    def device(self):
        """The values' device."""
        return self._vals.device

    @property
    def requires_grad(self) -> bool:
        """Whether the values are on the autograd graph."""
        return self._vals.requires_grad

    def requires_grad_(self, requires_grad: bool = True) -> SparseTensor:
        """Make the values (a leaf) require grad; returns self."""
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """Whether the values are a leaf of the graph."""
        return self._vals.is_leaf

    @property
    def grad_fn(self):
        """The op that made the values (None for a leaf)."""
        return self._vals.grad_fn

    @property
    def grad(self) -> SparseTensor | None:
        """The gradient: a coalesced sparse tensor over this tensor's stored positions."""
        g = self._vals.grad
        if g is None or self._coalesced:
            return None if g is None else SparseTensor(self._idx, g, self._size, True)
        # PyTorch's is coalesced: one value per stored position, the derivative there (which
        # every duplicate of that position shares), not the duplicates' sum.
        _, first = xp.unique(self._linear(), return_index=True)
        return SparseTensor(self._idx[:, first], make_tensor(g._data[first], False, None), self._size, True)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise RuntimeError("only None can be assigned to the .grad of a minigrad sparse tensor")
        self._vals.grad = None

    def is_coalesced(self) -> bool:
        """Whether indices are sorted and unique (``coalesce()`` makes them so)."""
        return self._coalesced

    # -- the parts -------------------------------------------------------------------
    def _indices(self) -> Tensor:
        """The stored coordinates (sparse_dim, nnz), duplicates and order as stored."""
        return make_tensor(self._idx, False, None)

    def _values(self) -> Tensor:
        """The stored values (nnz, *dense_dims), on the graph."""
        return self._vals

    def indices(self) -> Tensor:
        """The coordinates of a coalesced tensor (raises on an uncoalesced one, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self) -> Tensor:
        """The values of a coalesced tensor (raises on an uncoalesced one, as PyTorch)."""
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals

    def _linear(self):
        """Each entry's row-major position among the sparse dims."""
        return xp.ravel_multi_index(tuple(self._idx), self._size[:self.sparse_dim()]) if self._nnz() else \
            xp.zeros(0, dtype=xp.int64)

    def coalesce(self) -> SparseTensor:
        """Sorted indices with duplicates summed (differentiable in the values)."""
        if self._coalesced:
            return self
        lin = self._linear()
        uniq, inverse = xp.unique(lin, return_inverse=True)
        idx = xp.stack(xp.unravel_index(uniq, self._size[:self.sparse_dim()])).astype(xp.int64) \
            if uniq.size else self._idx[:, :0]
        vals = _segment_sum(self._vals, inverse.reshape(-1), uniq.size)
        return SparseTensor(idx.reshape(self.sparse_dim(), -1), vals, self._size, coalesced=True)

    def to_dense(self, dtype=None) -> Tensor:
        """The dense tensor (duplicates summed); differentiable in the values."""
        flat = _segment_sum(self._vals, self._linear(), math.prod(self._size[:self.sparse_dim()]))
        out = flat.reshape(*self._size)
        return out if dtype is None else out.to(dtype)

    # -- arithmetic ------------------------------------------------------------------
    def t(self) -> SparseTensor:
        """The transpose of a 2-D sparse matrix (shares the values)."""
        if self.sparse_dim() != 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a 2-D sparse tensor, got size {list(self._size)}")
        return SparseTensor(self._idx[::-1].copy(), self._vals, self._size[::-1])

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        """Swap the two dims of a 2-D sparse matrix (``t()``)."""
        if self.ndim != 2:
            raise RuntimeError(f"transpose: only 2-D sparse matrices are supported, got size {list(self._size)}")
        return self.t() if dim0 % 2 != dim1 % 2 else self

    def __matmul__(self, other) -> Tensor:
        return mm(self, other)

    def __rmatmul__(self, other) -> Tensor:
        return mm(other, self)

    def mm(self, mat2) -> Tensor:
        """``minigrad.sparse.mm(self, mat2)``."""
        return mm(self, mat2)

    def __add__(self, other) -> SparseTensor:
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if other._size != self._size:
            raise RuntimeError(f"add: expected sizes of self and other to match, but got {list(self._size)} and "
                               f"{list(other._size)}")
        from .ops.movement import cat

        return SparseTensor(xp.concatenate([self._idx, other._idx], axis=1), cat([self._vals, other._vals], 0),
                            self._size)

    def __mul__(self, other) -> SparseTensor:
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return SparseTensor(self._idx, self._vals * other, self._size, self._coalesced)
        raise RuntimeError("mul: a minigrad sparse tensor multiplies only by a Python number; "
                           "call .to_dense() first")

    __rmul__ = __mul__

    def __neg__(self) -> SparseTensor:
        return self * -1

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a minigrad sparse COO tensor cannot be used where a dense tensor is expected; "
                        "call .to_dense() first (supported on sparse: mm, @, to_dense, coalesce, t, +, * number)")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RuntimeError(f"'{name}' is not supported on minigrad sparse COO tensors; call .to_dense() first "
                           "(supported: mm, @, to_dense, coalesce, indices, values, t, +, * number)")

    def __repr__(self) -> str:
        extra = ", requires_grad=True" if self.requires_grad and self._vals.grad_fn is None else ""
        return (f"tensor(indices={self._indices()!r},\n       values={self._vals!r},\n       "
                f"size={self._size}, nnz={self._nnz()}, layout=minigrad.sparse_coo{extra})")


def _segment_sum(values: Tensor, segment, n: int) -> Tensor:
    """``out[segment[i]] += values[i]`` into ``n`` rows (duplicates summed), differentiable in ``values``."""
    out = zeros((n, *values.shape[1:]), dtype=values.dtype)
    seg = xp.asarray(segment, dtype=xp.int64).reshape((-1,) + (1,) * (values.ndim - 1))
    index = constant(xp.broadcast_to(seg, values.shape).copy())
    return out.scatter_add(0, index, values) if values.shape[0] else out


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseTensor:
    """A sparse COO tensor with entries ``values[i]`` at ``indices[:, i]`` (duplicates allowed: they add).

    ``indices``: int tensor (sparse_dim, nnz); ``values``: (nnz, *dense_dims), a Tensor (kept on
    the graph, so gradients flow to it) or data; ``size``: defaults to the smallest that holds
    every index. ``requires_grad=True`` makes the values a fresh leaf.
    """
    idx = _as_index_array(indices)
    if is_tensor(values):
        vals = values if dtype is None else values.to(dtype)
    else:
        from .factories import tensor as _tensor

        vals = _tensor(values, dtype=dtype)
    if device is not None:
        vals = vals.to(device)
    if vals.ndim < 1 or vals.shape[0] != idx.shape[1]:
        raise RuntimeError(f"sparse_coo_tensor: number of dimensions of indices and values mismatch: indices have "
                           f"{idx.shape[1]} entries (nnz) but values have shape {list(vals.shape)}")
    sparse_dim = idx.shape[0]
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.shape[1] else (0,) * sparse_dim
        size = size + tuple(vals.shape[1:])
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + vals.ndim - 1 or tuple(size[sparse_dim:]) != tuple(vals.shape[1:]):
        raise RuntimeError(f"sparse_coo_tensor: size {list(size)} does not fit indices of {sparse_dim} sparse dims "
                           f"and values of shape {list(vals.shape)}")
    if idx.shape[1]:
        bad = (idx < 0) | (idx >= xp.asarray(size[:sparse_dim]).reshape(-1, 1))
        if bad.any():
            d, k = (int(a[0]) for a in xp.nonzero(bad))
            raise RuntimeError(f"sparse_coo_tensor: index {int(idx[d, k])} at entry {k} of dim {d} is out of bounds "
                               f"for size {size[d]}")
    if requires_grad:
        vals = vals.detach().clone().requires_grad_(True)
    return SparseTensor(idx, vals, size, coalesced=bool(is_coalesced) or idx.shape[1] <= 1)


def to_sparse(input: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """``Tensor.to_sparse()``: the nonzero entries (over the first ``sparse_dim`` dims) as a coalesced
    sparse COO tensor; differentiable in the input."""
    nd = input.ndim if sparse_dim is None else int(sparse_dim)
    if not 0 < nd <= input.ndim:
        raise RuntimeError(f"to_sparse: sparse_dim {sparse_dim} is out of range for a {input.ndim}-D tensor")
    arr = input._data
    nonzero = arr != 0
    if nd < input.ndim:
        nonzero = nonzero.reshape(arr.shape[:nd] + (-1,)).any(axis=-1)
    idx = xp.stack(xp.nonzero(nonzero)).astype(xp.int64).reshape(nd, -1)
    vals = input[tuple(constant(i) for i in idx)] if idx.shape[1] else \
        zeros((0, *arr.shape[nd:]), dtype=input.dtype)
    return SparseTensor(idx, vals, tuple(arr.shape), coalesced=True)


def mm(mat1, mat2, reduce: str | None = None) -> Tensor:
    """Matrix product where either operand may be a 2-D sparse COO tensor (the other dense, 2-D).

    sparse @ dense: ``out[row] += value * dense[col]`` over the stored entries; gradients reach the
    values and the dense matrix. dense @ sparse is ``(sparse.t() @ dense.t()).t()``.
    Two dense matrices: the ordinary ``mm``.
    """
    if reduce is not None:
        raise RuntimeError(f"sparse.mm: reduce={reduce!r} is not supported by minigrad")
    s1, s2 = isinstance(mat1, SparseTensor), isinstance(mat2, SparseTensor)
    if s1 and s2:
        raise RuntimeError("mm: sparse @ sparse is not supported by minigrad; call .to_dense() on one of them")
    if not s1 and not s2:
        return _dense_mm(mat1, mat2)
    if s2:
        return mm(mat2.t(), mat1.t()).t()
    if mat1.sparse_dim() != 2 or mat1.dense_dim():
        raise RuntimeError(f"mm: expected a 2-D sparse matrix, got size {list(mat1.shape)}")
    if not is_tensor(mat2) or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected a 2-D dense matrix as the second operand, got "
                           f"{tuple(mat2.shape) if is_tensor(mat2) else type(mat2).__name__}")
    n, m = mat1.shape
    if mat2.shape[0] != m:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({n}x{m} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    if mat1.dtype != mat2.dtype:
        raise RuntimeError(f"mm: expected mat1 and mat2 to have the same dtype, but got: {mat1.dtype} != "
                           f"{mat2.dtype}")
    rows, cols = mat1._idx
    contrib = mat1._vals.unsqueeze(1) * mat2[constant(cols)]  # (nnz, k): one term per stored entry
    return _segment_sum(contrib, rows, n)


spmm = mm


def sum(input: SparseTensor, dim=None) -> Tensor:  # PyTorch's name: torch.sparse.sum
    """Sum of a sparse tensor's entries (all, or over ``dim``), as a dense tensor."""
    dense = input.to_dense()
    return dense.sum() if dim is None else dense.sum(dim)
