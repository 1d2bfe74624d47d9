"""Shape and indexing ops: the table, then composites (view, squeeze, stack, split ...).

``broadcast_to`` and ``sum_to`` are each other's VJP; the engine reduces every
broadcast input's gradient with ``sum_to``, the one place broadcasting is undone.
"""

from __future__ import annotations

import builtins
import weakref

from .. import backend as B
from ..autograd.graph import _state as _grad_state
from .reduce import dim_alias, normalize_dims
from .registry import constant, constant_like, defop, defunary, identity_vjp, is_tensor

xp = B.xp  # the host's module: shape arithmetic and host-side index building only
_XP = B.XP  # array class -> its array module: ``_XP[x.__class__]`` picks numpy or cupy per call


def _sum_to_fwd(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    )
    if not axes:
        return x.reshape(shape)
    return _XP[x.__class__].add.reduce(x, axis=axes, keepdims=True).reshape(shape)  # (numpy.sum's ufunc, called directly)


def _full_index(index, dim):
    """Index arrays addressing, for every element of ``index``, its target along ``dim``."""
    grids = list(_XP[index.__class__].indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


def _scatter_add_fwd(arrs, dim):
    x, index, src = arrs
    out = x.copy()
    B.backend_of(x).scatter_add(out, _full_index(index, dim), src)  # (on a GPU: float atomics, any order)
    return out


def _scatter_fwd(arrs, dim):
    x, index, src = arrs
    out = x.copy()
    out[_full_index(index, dim)] = src
    return out


def _getitem_backward_fwd(g, index, shape, advanced):
    out = _XP[g.__class__].zeros(shape, dtype=g.dtype)
    if advanced:
        B.backend_of(g).scatter_add(out, index, g)  # (on a GPU: float atomics, any order)
    else:
        out[index] = g
    return out


def _diagonal_view(x, off, d1, d2):
    """A writable view of the diagonal of ``x`` over dims ``d1``, ``d2`` (numpy's own diagonal is
    read-only): those dims removed, the diagonal appended last, as PyTorch's ``diagonal``."""
    n1, n2 = x.shape[d1], x.shape[d2]
    k = builtins.max(builtins.min(n1 + builtins.min(off, 0), n2 - builtins.max(off, 0)), 0)
    start = [0] * x.ndim
    if k:
        start[d2 if off >= 0 else d1] = builtins.abs(off)
    corner = x[tuple(slice(s, None) for s in start)] if k else x
    keep = [i for i in range(x.ndim) if i not in (d1, d2)]
    shape = tuple(x.shape[i] for i in keep) + (k,)
    strides = tuple(x.strides[i] for i in keep) + (x.strides[d1] + x.strides[d2],)
    return B.backend_of(corner).as_strided(corner, shape, strides)


def _diagonal_scatter_fwd(arrs, off, d1, d2):
    x, v = arrs
    out = x.copy()
    _diagonal_view(out, off, d1, d2)[...] = v
    return out


def out_diag_shape(t, off, d1, d2):
    """The shape of ``diagonal(t, off, d1, d2)``."""
    n1, n2 = t.shape[d1], t.shape[d2]
    k = builtins.max(builtins.min(n1 + builtins.min(off, 0), n2 - builtins.max(off, 0)), 0)
    return tuple(s for i, s in enumerate(t.shape) if i not in (d1, d2)) + (k,)


def zeros_of_shape(like, shape):
    """Zeros of ``shape`` in ``like``'s dtype: a constant Tensor, or an array for an array."""
    if is_tensor(like):
        return constant(_XP[like._data.__class__].zeros(shape, dtype=like._data.dtype))
    return _XP[like.__class__].zeros(shape, dtype=like.dtype)


def _index_put_fwd(arrs, index):
    x, v = arrs
    out = x.copy()
    out[index] = v
    return out


def _index_put_vjp_x(g, out, x, v, index):
    mask = _XP[g._data.__class__].zeros(g.shape, dtype=bool)
    mask[index] = True
    return where_(constant(mask), 0.0, g)


def _cat_vjp(g, out, inputs, params, mask):
    dim, sizes = params
    grads = []
    start = 0
    for size, needed in zip(sizes, mask):
        if needed:
            index = (slice(None),) * dim + (slice(start, start + size),)
            grads.append(g[index])
        else:
            grads.append(None)
        start += size
    return grads


def _pad_fwd(x, widths, value):
    return _XP[x.__class__].pad(x, widths, mode="constant", constant_values=value)


def _pad_vjp(g, out, x, widths, value):
    index = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(widths))
    return g[index]


# A row's callable is its name with a trailing ``_`` (the public function, without it, checks the
# arguments), except where that would be PyTorch's name of an in-place method (scatter_,
# scatter_add_, index_put_): these rows are out of place, so they end in ``_op``.
# fmt: off
#          maker      name            forward(x, *params)                                VJP(g, out, x, *params)
reshape_  = defunary("reshape",      lambda x, shape, old: x.reshape(shape),            lambda g, out, x, shape, old: reshape_(g, old, shape), array_safe=True)
permute_  = defunary("permute",      lambda x, dims, inv: x.transpose(dims),            lambda g, out, x, dims, inv: permute_(g, inv, dims), array_safe=True)
expand_   = defunary("broadcast_to", lambda x, shape, old: B.broadcast_to(x, shape),lambda g, out, x, shape, old: sum_to(g, old), array_safe=True)
sum_to_   = defunary("sum_to",       lambda x, shape, old: _sum_to_fwd(x, shape),     lambda g, out, x, shape, old: expand_(g, old, shape), array_safe=True)
getitem_  = defunary("getitem",      lambda x, index, shape, advanced: x[index],
                     lambda g, out, x, index, shape, advanced: getitem_backward(g, index, shape, advanced), array_safe=True)
getitem_backward = defunary("getitem_backward", _getitem_backward_fwd,
                     lambda g, out, x, index, shape, advanced: getitem_(g, index, shape, advanced), array_safe=True)
flip_     = defunary("flip",         lambda x, dims: _XP[x.__class__].flip(x, dims).copy(),    lambda g, out, x, dims: flip_(g, dims), array_safe=True)  # a copy, as PyTorch (numpy's flip is a view)
roll_     = defunary("roll",         lambda x, shifts, dims: _XP[x.__class__].roll(x, shifts, dims),   lambda g, out, x, shifts, dims: roll_(g, tuple(-s for s in shifts), dims), array_safe=True)
pad_      = defunary("pad",          _pad_fwd,                                               _pad_vjp, array_safe=True)
clone_    = defunary("clone",        lambda x, order="K": x.copy(order),                 identity_vjp, array_safe=True)
#          maker      name            forward(arrays, *params)                         VJPs
cat_      = defop("cat",             lambda arrs, dim, sizes: _XP[arrs[0].__class__].concatenate(arrs, axis=dim), _cat_vjp, dtype_rule="promote", array_safe=True)
gather_   = defop("gather",          lambda arrs, dim: _XP[arrs[0].__class__].take_along_axis(arrs[0], arrs[1], axis=dim), arity=2,
                  vjps=(lambda g, out, x, index, dim: scatter_add_op(zeros_of(x), index, g, dim), None), save="inputs", array_safe=True)
scatter_add_op = defop("scatter_add",  _scatter_add_fwd, arity=3, save="inputs",
                     vjps=(lambda g, out, x, index, src, dim: g,
                           None,
                           lambda g, out, x, index, src, dim: gather(g, dim, index)))
scatter_op  = defop("scatter",         _scatter_fwd, arity=3, save="inputs",
                  vjps=(lambda g, out, x, index, src, dim: scatter_op(g, index, zeros_of(src), dim),
                        None,
                        lambda g, out, x, index, src, dim: gather(g, dim, index)))
index_put_op = defop("index_put",      _index_put_fwd, arity=2,
                   vjps=(_index_put_vjp_x, lambda g, out, x, v, index: g[index]))
diagonal_ = defunary("diagonal",    lambda x, off, d1, d2, shape: _diagonal_view(x, off, d1, d2),
                     lambda g, out, x, off, d1, d2, shape: diagonal_scatter_(zeros_of_shape(g, shape), g, off, d1, d2), array_safe=True)
diagonal_scatter_ = defop("diagonal_scatter", _diagonal_scatter_fwd, arity=2,
                          vjps=(lambda g, out, x, v, off, d1, d2: diagonal_scatter_(g, zeros_of_shape(g, out_diag_shape(g, off, d1, d2)), off, d1, d2),
                                lambda g, out, x, v, off, d1, d2: diagonal_(g, off, d1, d2, g.shape)), array_safe=True)
# fmt: on



def zeros_of(t):
    """Zeros shaped like ``t``: a constant Tensor, or an array for an array (array-safe VJPs)."""
    if is_tensor(t):
        return constant(_XP[t._data.__class__].zeros(t.shape, dtype=t._data.dtype))
    return _XP[t.__class__].zeros(t.shape, dtype=t.dtype)


def where_(c, a, b):
    from .elementwise import where_ as w

    return w(c, a, b)


# ---------------------------------------------------------------------------
# Public forms.

def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the reverse of broadcasting to x's shape)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return sum_to_(x, shape, x.shape)


# Live views of a root tensor are listed on the root itself (``root._views``, weak references),
# so that an in-place write through one view or through the root re-derives every other view's
# grad_fn (as PyTorch). The list dies with the root; dead references are dropped as it grows.
_ref = weakref.ref


def views_of(root) -> list:
    """The live views registered for ``root``."""
    try:
        refs = root._views
    except AttributeError:
        return []
    views = [r() for r in refs]
    return [v for v in views if v is not None]


def _register_view(root, view) -> None:
    try:
        refs = root._views
    except AttributeError:
        root._views = [_ref(view)]
        return
    if len(refs) % 64 == 0:  # amortised: drop the views that died
        refs[:] = [r for r in refs if r() is not None]
    refs.append(_ref(view))


def make_view(out, x, replay=None, place=None):
    """Mark ``out`` as a view of ``x`` when it shares x's memory: it shares x's version counter
    (as in PyTorch) and keeps ``out._base = (root, replay_from_root, place_into_root, multi)``,
    where ``replay(t)`` redoes the view on a tensor shaped like the root and ``place(v, t)``
    returns t with v written into the viewed region; in-place ops on views use these to update
    the root's graph. ``multi`` names the op when the view is (a view of) one of several views
    returned at once (split, chunk, unbind), which PyTorch forbids modifying in place on a graph."""
    if out._data.base is None or not B.may_share_memory(out._data, x._data):
        return out
    out._vc = x._counter()
    if replay is None:
        return out
    if x._base is None:
        root, rep, plc, multi = x, replay, place, None
    else:
        root, r0, p0, multi = x._base
        rep = (lambda b: replay(r0(b)))
        plc = None if place is None or p0 is None else (lambda v, b: p0(place(v, r0(b)), b))
    out._base = (root, rep, plc, multi)
    # A view's grad_fn must be re-derived after an in-place op through its root or a sibling
    # view when the root is on a graph, or may join one (a tensor that does not require grad
    # becomes part of the graph when a value that does is written into it). In-place through
    # a view of a leaf that requires grad raises, so parameters' views (w.T) skip the registry;
    # views made under no_grad stay constants.
    if _grad_state.enabled and (root.grad_fn is not None or not root._rg):
        _register_view(root, out)
    return out


def _reshape_view(x, shape):
    old = x.shape
    return make_view(reshape_(x, shape, old), x, lambda t: reshape_(t, shape, old), lambda v, t: reshape_(v, old, shape))


def alias(x):
    """A new tensor on the same array (a view), on the graph."""
    return _reshape_view(x, x.shape)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _infer_shape(shape, size, op, old):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got shape {tuple(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {tuple(shape)}")
            known *= s
    if neg:
        if known == 0 or size % known:
            raise RuntimeError(f"{op}: shape {tuple(shape)} is invalid for input of size {size} (shape {old})")
        shape[neg[0]] = size // known
    elif known != size:
        raise RuntimeError(f"{op}: shape {tuple(shape)} is invalid for input of size {size} (shape {old})")
    return tuple(shape)


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(int(s) for s in shape[0])
    return tuple(int(s) for s in shape)


def view_strides(shape, strides, new_shape):
    """PyTorch's rule for viewing memory laid out as ``shape``/``strides`` with ``new_shape``:
    the new strides, or None when some new dim would span two contiguous subspaces.

    The old dims are grouped into chunks, maximal runs in which each dim steps exactly over the
    dims inside it (size-1 dims belong to any run: their stride is never used). A view exists
    when the new dims, read from the innermost, split every chunk exactly, never straddling two.
    """
    if builtins.any(s == 0 for s in shape):  # no elements: any strides will do
        out = []
        step = 1
        for s in reversed(new_shape):
            out.append(step)
            step *= builtins.max(s, 1)
        return tuple(reversed(out))
    chunks = []  # (number of elements, stride of the innermost dim), innermost chunk first
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size == 1:
            continue
        if chunks and stride == chunks[-1][0] * chunks[-1][1]:
            chunks[-1] = (chunks[-1][0] * size, chunks[-1][1])
        else:
            chunks.append((size, stride))
    out = [0] * len(new_shape)
    d = len(new_shape) - 1
    for numel, base in chunks:
        n = 1
        while d >= 0 and n < numel:
            out[d] = n * base
            n *= new_shape[d]
            d -= 1
        if n != numel:
            return None
    while d >= 0:  # what is left can only be size-1 dims
        if new_shape[d] != 1:
            return None
        out[d] = 1
        d -= 1
    return tuple(out)


def _viewable(arr, shape) -> bool:
    return arr.flags.c_contiguous or view_strides(arr.shape, arr.strides, shape) is not None


def reshape(x, *shape):
    """Reshape to ``shape`` (one -1 inferred): a view when the layout allows (PyTorch's view
    rule), else a copy."""
    shape = _infer_shape(_shape_args(shape), x._data.size, "reshape", x.shape)
    if shape == x.shape:
        return alias(x)
    if _viewable(x._data, shape):
        return _reshape_view(x, shape)
    out = reshape_(x, shape, x.shape)
    if B.may_share_memory(out._data, x._data):  # (numpy's rule agrees with PyTorch's; never a view here)
        out._data = out._data.copy()
    return out


_VIEW_ERROR = ("view size is not compatible with input tensor's size and stride (at least one dimension spans "
               "across two contiguous subspaces). Use .reshape(...) instead.")


def view(x, *shape):
    """The same memory seen with another shape; RuntimeError when the layout allows no view."""
    shape = _infer_shape(_shape_args(shape), x._data.size, "view", x.shape)
    if shape == x.shape:
        return alias(x)
    if not _viewable(x._data, shape):
        raise RuntimeError(f"{_VIEW_ERROR} (input shape {tuple(x.shape)}, strides {_elem_strides(x._data)}, "
                           f"view shape {shape})")
    return _reshape_view(x, shape)


def _elem_strides(arr) -> tuple:
    return tuple(s // arr.itemsize for s in arr.strides)


def contiguous(x):
    """``x`` itself when its memory is C-contiguous, else a contiguous copy (on the graph)."""
    if x._data.flags.c_contiguous:
        return x
    return clone_(x, "C")


def select(x, dim, index):
    """The view ``x[..., index, ...]`` along ``dim``, that dim removed."""
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dims(dim, x.ndim, "select")[0]
    n = x.shape[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {x.shape} at dimension {d}")
    return x[(slice(None),) * d + (index,)]


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The view of the diagonal over dims ``dim1``, ``dim2`` (removed; the diagonal is the last dim)."""
    if x.ndim < 2:
        raise RuntimeError(f"diagonal(): expected a tensor with at least 2 dimensions, got shape {x.shape}")
    d1 = normalize_dims(dim1, x.ndim, "diagonal")[0]
    d2 = normalize_dims(dim2, x.ndim, "diagonal")[0]
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    off = int(offset)
    shape = x.shape
    return make_view(diagonal_(x, off, d1, d2, shape), x, lambda t: diagonal_(t, off, d1, d2, shape),
                     lambda v, t: diagonal_scatter_(t, v, off, d1, d2))


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    """A copy of ``x`` with ``src`` written into its diagonal (see ``diagonal``)."""
    d1 = normalize_dims(dim1, x.ndim, "diagonal_scatter")[0]
    d2 = normalize_dims(dim2, x.ndim, "diagonal_scatter")[0]
    want = out_diag_shape(x, int(offset), d1, d2)
    if tuple(src.shape) != want:
        raise RuntimeError(f"diagonal_scatter(): src must have shape {want} (the diagonal of {tuple(x.shape)}), "
                           f"got {tuple(src.shape)}")
    return diagonal_scatter_(x, src, int(offset), d1, d2)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s = normalize_dims(start_dim, x.ndim, "flatten")[0]
    e = normalize_dims(end_dim, x.ndim, "flatten")[0]
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1:]
    if x._data.size == 0:
        n = 1
        for v in x.shape[s:e + 1]:
            n *= v
        shape = x.shape[:s] + (n,) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    """Split dim ``dim`` into ``sizes``."""
    d = normalize_dims(dim, x.ndim, "unflatten")[0]
    sizes = tuple(sizes)
    inner = _infer_shape(sizes, x.shape[d], "unflatten", x.shape)
    return reshape(x, x.shape[:d] + inner + x.shape[d + 1:])


def squeeze(x, dim=None, *, axis=None):
    """Remove size-1 dims (only ``dim`` when given; ``axis`` is its numpy alias)."""
    if axis is not None:
        dim = dim_alias("squeeze", dim, axis)
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = normalize_dims(dim, x.ndim, "squeeze") or ()
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x, dim=None, *, axis=None):
    """Insert a size-1 dim at ``dim`` (``axis`` is its numpy alias)."""
    if dim is None or axis is not None:
        dim = dim_alias("unsqueeze", dim, axis, required=True)
    n = x.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"unsqueeze: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    d = dim % n
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def _permute_view(x, norm, inv):
    return make_view(permute_(x, norm, inv), x, lambda t: permute_(t, norm, inv), lambda v, t: permute_(v, inv, norm))


_REVERSED = [tuple(range(n - 1, -1, -1)) for n in range(65)]


def reverse_dims(x):
    """All dims reversed (``x.T``), a view."""
    n = x._data.ndim
    if n < 2:
        return alias(x)
    norm = _REVERSED[n] if n <= 64 else tuple(range(n - 1, -1, -1))
    return _permute_view(x, norm, norm)


def permute(x, *dims):
    """Reorder dims (a view)."""
    dims = _shape_args(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims don't match: got {len(dims)} dims for shape {tuple(x.shape)}")
    norm = tuple(normalize_dims(d, x.ndim, "permute")[0] for d in dims) if x.ndim else ()
    if sorted(norm) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of the dims of shape {tuple(x.shape)}")
    inv = tuple(sorted(range(len(norm)), key=norm.__getitem__))
    return _permute_view(x, norm, inv)


def transpose(x, dim0, dim1):
    """Swap two dims (a view)."""
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return alias(x)
    d0 = normalize_dims(dim0, x.ndim, "transpose")[0]
    d1 = normalize_dims(dim1, x.ndim, "transpose")[0]
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    dims = tuple(dims)
    return make_view(permute_(x, dims, dims), x, lambda t: permute_(t, dims, dims), lambda v, t: permute_(v, dims, dims))


def t(x):
    """Transpose of a tensor with at most 2 dims."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, -1) if x.ndim == 2 else alias(x)


def broadcast_to(x, *shape):
    """Broadcast to ``shape`` (-1 keeps a dim); a read-only view; gradient summed back."""
    shape = _shape_args(shape)
    if len(shape) < x.ndim:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal "
            f"to the number of dimensions in the tensor ({x.ndim}); shape {tuple(x.shape)}"
        )
    lead = len(shape) - x.ndim
    full = []
    for i, s in enumerate(shape):
        if s == -1:
            if i < lead:
                raise RuntimeError(f"expand: -1 not allowed in a new leading dimension ({shape})")
            s = x.shape[i - lead]
        full.append(s)
    full = tuple(full)
    for i, s in enumerate(x.shape):
        if s != 1 and s != full[lead + i]:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({full[lead + i]}) must match the "
                f"existing size ({s}) at non-singleton dimension {lead + i}. Target sizes: "
                f"{list(full)}. Tensor sizes: {list(x.shape)}"
            )
    if full == x.shape:
        return alias(x)
    if _numel(full) == x._data.size and x._data.size:
        return reshape(x, full)  # only size-1 dims added: a writable view, as in PyTorch
    old = x.shape
    return make_view(expand_(x, full, old), x, lambda t: expand_(t, full, old), None)  # read-only: no place


expand = broadcast_to


def repeat(x, *sizes):
    """Tile ``x`` (``torch.Tensor.repeat``): broadcast then reshape, no gradient code."""
    sizes = _shape_args(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the number "
            f"of dims of the tensor ({x.ndim})"
        )
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    x = reshape(x, shape)
    inter = []
    target = []
    for r, s in zip(sizes, shape):
        inter += [1, s]
        target += [r, s]
    out = broadcast_to(reshape(x, inter), target)
    return reshape(out, tuple(r * s for r, s in zip(sizes, shape)))


def flip(x, dims):
    """Reverse the order along ``dims``."""
    return flip_(x, normalize_dims(dims, x.ndim, "flip") or ())


def roll(x, shifts, dims=None):
    """Roll elements along ``dims`` (over the flattened tensor when None)."""
    if dims is None:
        return roll(x.flatten(), shifts, 0).reshape(x.shape)
    shifts = tuple(shifts) if isinstance(shifts, (list, tuple)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (list, tuple)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    dims = tuple(normalize_dims(d, x.ndim, "roll")[0] for d in dims)
    return roll_(x, tuple(int(s) for s in shifts), dims)


def cat(tensors, dim=0, *, axis=None):
    """Concatenate along ``dim`` (``axis`` is its numpy alias); gradients are split back."""
    if axis is not None:
        dim = dim_alias("cat", dim, axis, 0)
    tensors = [t if is_tensor(t) else constant(t) for t in tensors]
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    ref = next((t for t in tensors if t.ndim > 0), tensors[0])
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor cannot be concatenated")
    d = normalize_dims(dim, ref.ndim, "cat")[0]
    # PyTorch skips legacy empty 1-D tensors.
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    for t in tensors:
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise RuntimeError(
                f"cat(): sizes of tensors must match except in dimension {d}; got shapes "
                f"{[tuple(x.shape) for x in tensors]}"
            )
    return cat_(tensors, d, tuple(t.shape[d] for t in tensors))


concat = concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    """Stack equally shaped tensors along a new ``dim`` (``axis`` is its numpy alias)."""
    if axis is not None:
        dim = dim_alias("stack", dim, axis, 0)
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shapes = {tuple(getattr(t, "shape", ())) for t in tensors}
    if len(shapes) != 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got shapes {sorted(shapes)}")
    n = tensors[0].ndim + 1 if hasattr(tensors[0], "ndim") else 1
    if not -n <= dim < n:
        raise IndexError(f"stack: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    d = dim % n
    return cat([unsqueeze(constant(t) if not hasattr(t, "_data") else t, d) for t in tensors], d)


def split(x, split_size_or_sections, dim=0):
    """Split into chunks of a size, or of the given sizes, along ``dim``."""
    d = normalize_dims(dim, x.ndim, "split")[0]
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n > 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size "
                f"at dimension {d}), but got split_sizes={sizes}"
            )
    out = []
    start = 0
    for s in sizes:
        out.append(x[(slice(None),) * d + (slice(start, start + s),)])
        start += s
    return _multi_output(out, "Split")


def _multi_output(views, name: str) -> tuple:
    """Mark views returned together by one call (see ``make_view``)."""
    for v in views:
        if v._base is not None:
            v._base = v._base[:3] + (name,)
    return tuple(views)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    d = normalize_dims(dim, x.ndim, "chunk")[0]
    n = x.shape[d]
    size = -(-n // chunks) if chunks > 0 else 0
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    return split(x, builtins.max(size, 1), d)


def unbind(x, dim=0):
    """Slices along ``dim``, that dim removed."""
    d = normalize_dims(dim, x.ndim, "unbind")[0]
    return _multi_output([x[(slice(None),) * d + (i,)] for i in range(x.shape[d])], "Unbind")


def movedim(x, source, destination):
    src = normalize_dims(source, x.ndim, "movedim")[0]
    dst = normalize_dims(destination, x.ndim, "movedim")[0]
    order = [i for i in range(x.ndim) if i != src]
    order.insert(dst, src)
    return permute(x, order)


def _gather_prep(x, dim, index, op):
    index = index if is_tensor(index) else constant_like(xp.asarray(index), x)
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype}")
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{op}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index shape {tuple(index.shape)}, input shape {tuple(x.shape)})"
        )
    d = normalize_dims(dim, x.ndim, op)[0] if x.ndim else 0
    idx = index._data
    if idx.size:
        size = x.shape[d] if x.ndim else 1
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -size or hi >= size:
            # PyTorch raises RuntimeError here (not IndexError as for t[i]).
            raise RuntimeError(f"{op}(): index {hi if hi >= size else lo} is out of bounds for dimension {d} with size {size}")
    return index, d


def gather(x, dim=None, index=None, *, axis=None):
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (``axis`` is its numpy alias)."""
    if dim is None or axis is not None:
        dim = dim_alias("gather", dim, axis, required=True)
    if index is None:
        raise TypeError("gather() missing 1 required argument: 'index'")
    index, d = _gather_prep(x, dim, index, "gather")
    for i, (si, sx) in enumerate(zip(index.shape, x.shape)):
        if i != d and si > sx:
            raise RuntimeError(
                f"gather(): Size does not match at dimension {i} expected index {tuple(index.shape)} to be "
                f"smaller than self {tuple(x.shape)} apart from dimension {d}"
            )
    if any(i != d and si < sx for i, (si, sx) in enumerate(zip(index.shape, x.shape))):
        x = x[tuple(slice(0, si) if i != d else slice(None) for i, si in enumerate(index.shape))]
    return gather_(x, index, d)


take_along_dim_ = gather


def take_along_dim(x, indices, dim=None, *, axis=None):
    """numpy's take_along_axis; flattened when ``dim`` is None (``axis`` is its numpy alias)."""
    if axis is not None:
        dim = dim_alias("take_along_dim", dim, axis)
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    d = normalize_dims(dim, x.ndim, "take_along_dim")[0]
    shape = list(xp.broadcast_shapes(tuple(s if i != d else 1 for i, s in enumerate(x.shape)),
                                     tuple(s if i != d else 1 for i, s in enumerate(indices.shape))))
    xs = list(shape)
    xs[d] = x.shape[d]
    ids = list(shape)
    ids[d] = indices.shape[d]
    return gather(broadcast_to(x, xs), d, broadcast_to(indices, ids))


def _src_prep(x, index, src, op):
    if not is_tensor(src):
        src = constant_like(src, x, x._data.dtype).expand(index.shape)
    if any(si > ss for si, ss in zip(index.shape, src.shape)):
        raise RuntimeError(f"{op}(): index {tuple(index.shape)} must not be larger than src {tuple(src.shape)}")
    if src.shape != index.shape:
        src = src[tuple(slice(0, s) for s in index.shape)]
    if src._data.dtype != x._data.dtype:
        src = src.to(x._data.dtype)
    return src


def scatter_add(x, dim, index, src):
    """Out-of-place ``scatter_add``: ``out[index[i][j]] += src[i][j]`` along ``dim``."""
    index, d = _gather_prep(x, dim, index, "scatter_add")
    return scatter_add_op(x, index, _src_prep(x, index, src, "scatter_add"), d)


def scatter(x, dim, index, src=None, *, value=None):
    """Out-of-place ``scatter``: ``out[index[i][j]] = src[i][j]`` along ``dim``."""
    index, d = _gather_prep(x, dim, index, "scatter")
    if src is None:
        src = value
    return scatter_op(x, index, _src_prep(x, index, src, "scatter"), d)


def index_select(x, dim=None, index=None, *, axis=None):
    """Rows (along ``dim``; ``axis`` is its numpy alias) picked by a 1-D integer ``index``."""
    if dim is None or axis is not None:
        dim = dim_alias("index_select", dim, axis, required=True)
    if index is None:
        raise TypeError("index_select() missing 1 required argument: 'index'")
    d = normalize_dims(dim, x.ndim, "index_select")[0]
    idx = index._data if is_tensor(index) else xp.asarray(index)
    if idx.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {tuple(idx.shape)}")
    return x[(slice(None),) * d + (idx.reshape(-1),)]


def pad_constant(x, pad, value=0.0):
    """``F.pad`` constant mode: ``pad`` = (last_lo, last_hi, prev_lo, prev_hi, ...)."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"pad: padding {pad} must have an even length at most 2*ndim (shape {tuple(x.shape)})")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if builtins.any(lo < 0 or hi < 0 for lo, hi in widths):
        index = tuple(slice(builtins.max(-lo, 0), s - builtins.max(-hi, 0) if hi < 0 else None)
                      for (lo, hi), s in zip(widths, x.shape))
        x = x[index]
        widths = [(builtins.max(lo, 0), builtins.max(hi, 0)) for lo, hi in widths]
    return pad_(x, tuple(widths), value)


def tril(x, diagonal=0):
    """Lower triangle (the rest zero) of the last two dims."""
    r, c = x.shape[-2:]
    keep = xp.tril(xp.ones((r, c), dtype=bool), diagonal)
    return where_(constant_like(keep, x), x, 0)


def triu(x, diagonal=0):
    """Upper triangle (the rest zero) of the last two dims."""
    r, c = x.shape[-2:]
    keep = xp.triu(xp.ones((r, c), dtype=bool), diagonal)
    return where_(constant_like(keep, x), x, 0)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is True (broadcast), else ``x``."""
    if is_tensor(mask) and mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype {mask.dtype}")
    if not is_tensor(value):
        value = constant_like(value, x, x._data.dtype)
    try:
        xp.broadcast_shapes(tuple(getattr(mask, "shape", ())), x.shape)
    except ValueError:
        raise RuntimeError(f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to the input's "
                           f"shape {tuple(x.shape)}") from None
    out = where_(mask, value.to(x._data.dtype) if value._data.dtype != x._data.dtype else value, x)
    if out.shape != x.shape:
        raise RuntimeError(f"masked_fill: mask of shape {tuple(mask.shape)} broadcasts beyond input shape {tuple(x.shape)}")
    return out


def diag(x, diagonal=0):
    """The diagonal of a 2-D tensor, or a 2-D tensor with a 1-D one on its diagonal."""
    if x.ndim == 1:
        n = x.shape[0] + builtins.abs(diagonal)
        rows = xp.arange(x.shape[0]) + builtins.max(-diagonal, 0)
        cols = xp.arange(x.shape[0]) + builtins.max(diagonal, 0)
        flat = constant_like((rows * n + cols).astype(B.int64), x)
        return scatter(constant_like(xp.zeros(n * n, dtype=x._data.dtype), x), 0, flat, x).reshape(n, n)
    if x.ndim == 2:
        r, c = x.shape
        if diagonal >= 0:
            k = builtins.max(builtins.min(r, c - diagonal), 0)
            return x[xp.arange(k), xp.arange(k) + diagonal]
        k = builtins.max(builtins.min(r + diagonal, c), 0)
        return x[xp.arange(k) - diagonal, xp.arange(k)]
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


def trace(x):
    """Sum of the main diagonal of a 2-D tensor."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return diag(x).sum()
