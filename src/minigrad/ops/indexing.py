"""Indexing (``t[idx]``, ``t[idx] = v``) and in-place ops with version counters.

In-place ops mutate the array itself (views see it) and bump the version counter
shared by the tensor and its views, so backward can refuse a saved value that was
overwritten. On a tensor in a graph they are recorded: the out-of-place op is
applied to the old value, and the tensor takes over the new node.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from .. import backend as B
from ..autograd import graph
from . import movement as M
from .elementwise import sign
from .registry import constant, constant_like, is_tensor, make_tensor

if TYPE_CHECKING:
    from ..tensor import Tensor

xp = B.xp
_state = graph._state
_GRAD_OFF = graph.GRAD_OFF


def normalize_index(index, shape):
    """(numpy index with arrays in place of tensors, is_advanced)."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    advanced = False
    pos = 0  # the dim of ``shape`` the next item indexes (None after an Ellipsis)
    for item in index:
        if item is Ellipsis:
            pos = None
        elif pos is not None and item is not None:
            pos += 1
        if is_tensor(item):
            item = item._data
            if item.ndim == 0 and item.dtype.kind in "iu":
                item = int(item)
        elif isinstance(item, (list, range)):
            item = xp.asarray(item)
            if item.dtype.kind not in "iub":
                if item.size == 0:
                    item = item.astype(B.int64)
                else:
                    raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {item.dtype}")
        if isinstance(item, B.ndarray) or (item.__class__ in B.BY_CLASS and not isinstance(item, B.generic)):
            if item.dtype.kind == "b" and item.ndim > 0:
                if pos is not None:
                    at = pos - 1
                    if tuple(shape[at:at + item.ndim]) != item.shape:
                        raise IndexError(
                            f"The shape of the mask {list(item.shape)} at index {at} does not match the shape "
                            f"of the indexed tensor {list(shape)} at index {at}"
                        )
                    pos += item.ndim - 1
                out.extend(B.XP[item.__class__].nonzero(item))
                advanced = True
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {item.dtype}")
            advanced = True
        elif isinstance(item, bool):
            advanced = True
        elif isinstance(item, slice) and item.step is not None and item.step <= 0:
            # PyTorch has no negative strides (numpy would return a reversed view).
            raise ValueError("step must be greater than zero")
        elif not (item is None or item is Ellipsis or isinstance(item, (int, slice, B.generic))):
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and long or byte tensors are valid "
                f"indices (got {type(item).__name__})"
            )
        out.append(item)
    return tuple(out), advanced


def _on_device(idx: tuple, shape, bk) -> tuple:
    """``idx`` (normalized) with its host index arrays moved to ``bk``'s device (as PyTorch takes CPU
    index tensors for a CUDA tensor) and every integer index array checked against its dimension
    (CuPy would wrap an out-of-range index around silently)."""
    consumed = sum(1 for i in idx if i is not None and i is not Ellipsis and i.__class__ is not bool)
    out = []
    dim = 0
    for item in idx:
        if item is Ellipsis:
            dim += len(shape) - consumed
        elif item is not None and item.__class__ is not bool:
            if isinstance(item, B.ndarray):
                item = bk.from_host(item)
            if item.__class__ is bk.ndarray and item.dtype.kind in "iu" and dim < len(shape):
                bk.check_indices(item, shape[dim], "index")
            dim += 1
        out.append(item)
    return tuple(out)


def _check_index(x, idx):
    try:
        x._data[idx]
    except IndexError as e:
        raise IndexError(f"index out of range for tensor of shape {tuple(x.shape)}: {e}") from None


def link_view(out: Tensor, base: Tensor, idx=None) -> Tensor:
    """Mark ``out = base[idx]`` (basic indexing) as a view of ``base`` (see ``movement.make_view``)."""
    if idx is None:
        return M.make_view(out, base)
    return M.make_view(out, base, lambda t: M.getitem_(t, idx, t.shape, False),
                       lambda v, t: M.index_put_op(t, v, idx))


def getitem(x: Tensor, index) -> Tensor:
    idx, advanced = normalize_index(index, x.shape)
    if advanced and x._data.__class__ is not B.ndarray:  # on a device: index arrays there, bounds checked
        idx = _on_device(idx, x.shape, B.backend_of(x._data))
    if not advanced and Ellipsis not in idx:
        # numpy returns a copy (a numpy scalar) when integers index every axis; with a trailing
        # ``...`` (which selects nothing more) it returns a 0-d view, as PyTorch does.
        idx = idx + (Ellipsis,)
    try:
        out = M.getitem_(x, idx, x.shape, advanced)
    except IndexError:
        _check_index(x, idx)
        raise
    if not advanced:
        link_view(out, x, idx)
    return out


def setitem(x: Tensor, index, value) -> None:
    idx, advanced = normalize_index(index, x.shape)
    if advanced and x._data.__class__ is not B.ndarray:
        idx = _on_device(idx, x.shape, B.backend_of(x._data))
    if not is_tensor(value):
        value = constant_like(value if isinstance(value, B.ndarray) else xp.asarray(value, dtype=x._data.dtype), x)
    if value._data.dtype != x._data.dtype:
        value = value.to(x._data.dtype) if value._rg else constant(value._data.astype(x._data.dtype))
    if value._data.__class__ is not x._data.__class__:  # a CPU value written into a CUDA tensor, or back
        value = value.to(x.device)
    try:
        target_shape = x._data[idx].shape
    except IndexError as e:
        raise IndexError(f"index out of range for tensor of shape {tuple(x.shape)}: {e}") from None
    try:
        xp.broadcast_shapes(value.shape, target_shape)
    except ValueError:
        raise RuntimeError(
            f"setitem: shape mismatch: value tensor of shape {tuple(value.shape)} cannot be broadcast "
            f"to indexing result of shape {target_shape}"
        ) from None
    if not (_state.enabled and (x._rg or value._rg)):
        _check_leaf(x, "__setitem__")
        if not B.writeable(x._data):
            raise RuntimeError(f"__setitem__: the tensor (shape {tuple(x.shape)}) is a read-only expanded view")
        x._data[idx] = value._data
        x._bump()
        return
    if value.shape != target_shape and value.ndim <= len(target_shape):
        # index_put's VJP for the value is g[idx] (the target's shape): broadcast the
        # value first, so broadcast_to's VJP sums its gradient back to its own shape.
        value = M.broadcast_to(value, target_shape)
    inplace(x, "__setitem__", lambda s: M.index_put_op(s, value, idx), value)


def _check_leaf(x: Tensor, name: str) -> None:
    if x._rg and x.grad_fn is None and _state.enabled:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation "
            "(wrap the update in `with minigrad.no_grad():`)"
        )


def _write(x: Tensor, arr, name: str) -> None:
    dst = x._data
    if arr.__class__ is not dst.__class__ and not isinstance(arr, B.generic):
        arr = B.to_backend(arr, B.backend_of(dst))  # copy_ across devices, as PyTorch's
    if arr.shape != dst.shape:
        try:
            if xp.broadcast_shapes(arr.shape, dst.shape) != dst.shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(
                f"{name}: output with shape {tuple(dst.shape)} doesn't match the broadcast shape "
                f"{tuple(xp.broadcast_shapes(arr.shape, dst.shape)) if _broadcastable(arr.shape, dst.shape) else arr.shape}"
            ) from None
    if arr.dtype != dst.dtype and not xp.can_cast(arr.dtype, dst.dtype, casting="same_kind"):
        raise RuntimeError(f"{name}: result type {arr.dtype} can't be cast to the desired output type {dst.dtype}")
    if not B.writeable(dst):
        raise RuntimeError(
            f"{name}: unsupported operation: the tensor (shape {tuple(dst.shape)}) is a read-only "
            "expanded view; more than one element refers to a single memory location. Clone it first."
        )
    B.XP[dst.__class__].copyto(dst, arr, casting="unsafe")
    x._bump()


def _broadcastable(a, b) -> bool:
    try:
        xp.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _broadcasts_into(src: tuple, dst: tuple) -> bool:
    try:
        return xp.broadcast_shapes(src, dst) == dst
    except ValueError:
        return False


def arith_inplace(x: Tensor, ufunc, other, alpha=1):
    """The common untracked case of ``add_``/``sub_``/``mul_``/``div_`` (optimizer steps):
    one numpy ufunc writing into x's array. Returns None when the general path is needed
    (recording, dtype or shape questions, read-only views), which then decides or raises."""
    other_is_tensor = is_tensor(other)
    if (x._rg or (other_is_tensor and other._rg)) and (not _GRAD_OFF or _state._enabled):
        return None  # recorded: the general path
    dst = x._data
    if other_is_tensor:
        o = other._data
        if o.__class__ is not dst.__class__:
            return None  # another device (the general path raises) or a numpy scalar
    elif isinstance(other, B.ndarray):
        o = other
    elif other.__class__ is float or other.__class__ is int:
        o = other  # a Python number never widens x (numpy's weak scalars agree with PyTorch here)
    else:
        return None
    if alpha != 1:
        o = o * alpha
    if dst.__class__ is not B.ndarray:
        if isinstance(o, B.ndarray):
            return None  # a host array with a device tensor: the general path raises
        ufunc = getattr(B.XP[dst.__class__], ufunc.__name__)  # that array module's ufunc of this name
        if not B.writeable(dst) or dst.dtype.kind != "f":
            return None
    elif not dst.flags.writeable or dst.dtype.kind != "f":
        return None
    if isinstance(o, B.ndarray):
        if o.dtype.kind not in "biuf" or (o.shape != dst.shape and not _broadcasts_into(o.shape, dst.shape)):
            return None  # (the general path names the op and both shapes when they do not broadcast)
    ufunc(dst, o, out=dst)  # (casting="same_kind" is a ufunc's default with out=)
    x._bump()
    return x


def inplace(x: Tensor, name: str, fn, *others, keeps_input: bool = False) -> Tensor:
    """Apply ``fn`` (an out-of-place op of x) in place.

    ``keeps_input``: fn's VJPs never read x's old value, so no copy of it is kept.
    """
    recording = _state.enabled and (x._rg or any(is_tensor(o) and o._rg for o in others))
    _check_leaf(x, name)
    if not recording:
        prev = _state.enabled
        _state.enabled = False
        try:
            result = fn(x.detach())
        finally:
            _state.enabled = prev
        _write(x, result._data, name)
        return x
    if x._base is not None:
        return _inplace_on_view(x, name, fn)
    old = make_tensor(x._data if keeps_input else x._data.copy(), x._rg, x.grad_fn)
    if keeps_input:
        old._vc = x._counter()
    result = _keep_on_graph(fn(old), old)
    _write(x, result._data, name)
    x.grad_fn = result.grad_fn
    x._rg = True
    x.grad_fn.out_ref = weakref.ref(x)
    _refresh_views(x)
    return x


def _keep_on_graph(result: Tensor, old: Tensor) -> Tensor:
    """``result``, on the graph of ``old`` when it is not already: a new value that ignores the old
    one (zero_, fill_, copy_ of a constant) leaves the tensor on the graph, as in PyTorch (ZeroBackward,
    FillBackward ...), its old value getting a zero gradient."""
    if result.grad_fn is not None or not old._rg:
        return result
    return M.where_(constant_like(xp.ones((), dtype=bool), old), result, sign(old))


def _inplace_on_view(x: Tensor, name: str, fn) -> Tensor:
    """In-place op on a view while recording, as PyTorch: the base's new value is its old value
    with the view's region replaced by ``fn(view)``; the base and all its live views get new grad_fns."""
    root, replay, place, multi = x._base
    if multi is not None:
        raise RuntimeError(
            f"{name}: Output 0 of {multi} is a view and is being modified inplace. This view is the output of a "
            "function that returns multiple views. Such functions do not allow the output views to be modified "
            "inplace. You should replace the inplace operation by an out-of-place one (or clone the piece first)."
        )
    if place is None:
        raise RuntimeError(
            f"{name}: unsupported operation: the tensor (shape {tuple(x.shape)}) is an expanded view; "
            "more than one element refers to a single memory location. Clone it first."
        )
    if root._rg and root.grad_fn is None:
        raise RuntimeError(
            f"{name}: a view of a leaf Variable that requires grad is being used in an in-place operation "
            "(wrap the update in `with minigrad.no_grad():`)"
        )
    old_root = make_tensor(root._data.copy(), root._rg, root.grad_fn)
    result = fn(replay(old_root))
    new_root = _keep_on_graph(place(result, old_root), old_root)
    _write(root, new_root._data, name)  # x shares the memory and sees the new values
    if new_root.grad_fn is not None:
        root.grad_fn = new_root.grad_fn
        root._rg = True
        root.grad_fn.out_ref = weakref.ref(root)
    _refresh_views(root, also=x)
    return x


def _refresh_views(root: Tensor, also: Tensor | None = None) -> None:
    """Re-derive the grad_fn of every live view of ``root`` from root's current graph."""
    views = [v for v in M.views_of(root) if v._base is not None and v._base[0] is root]
    if also is not None and all(v is not also for v in views):
        views.append(also)
    for v in views:
        nv = v._base[1](root)
        v.grad_fn = nv.grad_fn
        v._rg = nv._rg
        if nv.grad_fn is not None:
            nv.grad_fn.out_ref = weakref.ref(v)


def fill(x: Tensor, name: str, value) -> Tensor:
    _check_leaf(x, name)
    if _state.enabled and (x.grad_fn is not None or is_tensor(value) and value._rg):
        if not is_tensor(value):
            value = constant_like(xp.asarray(value, dtype=x._data.dtype), x)
        return inplace(x, name, lambda s: M.broadcast_to(value.to(x.device, x.dtype), x.shape), value,
                       keeps_input=True)
    if not B.writeable(x._data):
        raise RuntimeError(f"{name}: the tensor (shape {tuple(x.shape)}) is a read-only expanded view")
    x._data[...] = value.to(x.device)._data if is_tensor(value) else value
    x._bump()
    return x


def copy_(x: Tensor, src) -> Tensor:
    if not is_tensor(src):
        src = constant(xp.asarray(src))
    if src._rg and _state.enabled or x.grad_fn is not None and _state.enabled:
        return inplace(x, "copy_", lambda s: M.broadcast_to(src.to(x.device, x.dtype), x.shape), src,
                       keeps_input=True)
    _check_leaf(x, "copy_")
    _write(x, src._data, "copy_")
    return x


def overwrite(x: Tensor, name: str, arr) -> Tensor:
    """Fill x with fresh values (random init); recorded ops see a constant."""
    _check_leaf(x, name)
    if x.grad_fn is not None and _state.enabled:
        return inplace(x, name, lambda s: constant_like(arr.astype(x._data.dtype), x), keeps_input=True)
    _write(x, arr.astype(x._data.dtype, copy=False), name)
    return x
