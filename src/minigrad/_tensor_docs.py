"""The documentation of ``Tensor``'s methods and properties, attached at import.

As in PyTorch (``torch/_tensor_docs.py``), the one-line methods of ``tensor.py`` stay one line
each, so the file reads as the list of what a Tensor can do; what each does, its arguments,
result and an example are written here, once. An entry here replaces a one-line docstring
written in ``tensor.py`` (a longer one wins). Methods that are also top-level functions (``x.exp()`` is
``minigrad.exp(x)``) share the function's docstring and have no entry here.

Every example runs as a doctest (``tests/test_docs.py``).
"""

from __future__ import annotations

from .tensor import Tensor

CLASS_DOC = """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

Make tensors with `minigrad.tensor(data)` or the factories (`zeros`, `randn`, ...). A tensor
holds a `numpy.ndarray` (``numpy()`` returns it) and, when it takes part in a graph, the
record of the op that made it.

``Tensor(data, *, dtype=None, requires_grad=False)`` builds a tensor from data, as
`minigrad.tensor` does.

Attributes:
    grad: the gradient accumulated by `backward()`, a Tensor of this tensor's shape, or None.
        Leaves and (unlike PyTorch) intermediate tensors both get one; it accumulates across
        backward calls until set to None (``optimizer.zero_grad()`` does that for parameters).
    grad_fn: the node of the op that made this tensor (``grad_fn.name()`` is e.g.
        ``'MulBackward0'``, ``grad_fn.next_functions`` leads to its inputs), or None for a leaf.
    requires_grad: whether ops on this tensor are recorded for backward.

Examples:
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.grad_fn.name()
    'SumBackward0'
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])
"""

_SAME_SHAPE = "Returns:\n    Tensor: of the same shape."


def _see(name: str, summary: str, example: str = "") -> str:
    """A method documented by the top-level function of the same meaning."""
    text = f"{summary}\n\nSee `minigrad.{name}` for the arguments."
    if example:
        text += "\n\nExamples:\n" + "\n".join("    " + line for line in example.strip().splitlines())
    return text


DOCS = {
    # -- metadata ------------------------------------------------------------------------------
    "requires_grad": """Whether ops on this tensor are recorded for backward (settable on leaves).

Only floating tensors may require grad. Setting it on a leaf is ``requires_grad_(value)``.

Examples:
    >>> x = minigrad.ones(2)
    >>> x.requires_grad
    False
    >>> x.requires_grad = True
    >>> (x * 2).requires_grad
    True
""",
    "shape": """The size of each dimension, as a tuple.

Examples:
    >>> tuple(minigrad.zeros(2, 3).shape)
    (2, 3)
""",
    "ndim": """The number of dimensions (``dim()``).

Examples:
    >>> minigrad.zeros(2, 3).ndim
    2
""",
    "dtype": """The element type (``minigrad.float32`` unless made otherwise).

Examples:
    >>> minigrad.tensor([1, 2]).dtype == minigrad.int64
    True
""",
    "device": """The device the data lives on: ``device(type='cpu')``.

Examples:
    >>> minigrad.ones(1).device
    device(type='cpu')
""",
    "is_leaf": """True for a tensor not made by a recorded op (made by the user, or with
``requires_grad=False``); backward fills the ``.grad`` of leaves that require grad.

Examples:
    >>> x = minigrad.ones(2, requires_grad=True)
    >>> x.is_leaf, (x * 2).is_leaf
    (True, False)
""",
    "is_cuda": """Whether the tensor is on a CUDA device (False: minigrad computes on the CPU).""",
    "T": """The tensor with its dimensions reversed (a view); for a matrix, its transpose.

Examples:
    >>> minigrad.tensor([[1, 2, 3], [4, 5, 6]]).T
    tensor([[1, 4],
            [2, 5],
            [3, 6]])
""",
    "mT": """The transpose of the last two dimensions (a view), for matrices and batches of them.

Examples:
    >>> tuple(minigrad.zeros(5, 2, 3).mT.shape)
    (5, 3, 2)
""",
    "retains_grad": """True for a non-leaf tensor that requires grad: in minigrad every such
tensor gets ``.grad`` from backward, as if ``retain_grad()`` had been called.""",
    "numel": """The number of elements.

Examples:
    >>> minigrad.zeros(2, 3).numel()
    6
""",
    "dim": """The number of dimensions.

Examples:
    >>> minigrad.zeros(2, 3).dim()
    2
""",
    "element_size": """The size of one element in bytes.

Examples:
    >>> minigrad.zeros(2).element_size(), minigrad.zeros(2, dtype=minigrad.float64).element_size()
    (4, 8)
""",
    "is_floating_point": """True when the dtype is a floating type.

Examples:
    >>> minigrad.tensor([1.0]).is_floating_point(), minigrad.tensor([1]).is_floating_point()
    (True, False)
""",
    "is_contiguous": """True (minigrad's tensors need no contiguity for any op).""",
    "contiguous": """The tensor itself (minigrad's tensors need no contiguity for any op).""",
    "size": """The shape, or the size of dimension ``dim``.

Args:
    dim: a dimension (negative counts from the end), or None for the whole shape.

Examples:
    >>> x = minigrad.zeros(2, 3)
    >>> tuple(x.size()), x.size(1), x.size(-2)
    ((2, 3), 3, 2)
""",
    # -- autograd -----------------------------------------------------------------------------
    "backward": """Compute the gradient of this tensor with respect to the graph's leaves.

Walks the graph that produced this tensor, from the newest op to the oldest, and adds
``d self / d t`` into ``t.grad`` for every tensor ``t`` of the graph that requires grad:
the leaves, and (unlike PyTorch) the intermediate tensors that are still referenced.
Gradients **accumulate**: a second backward adds to ``.grad``; set it to None (or call
``optimizer.zero_grad()``) to start again.

Args:
    gradient: the gradient of some final result with respect to this tensor, of this
        tensor's shape (the vector of the vector-Jacobian product). May be omitted for a
        one-element tensor (it is then 1); required otherwise.
    retain_graph: keep the values the graph saved for backward, so that backward can run
        through it again. Defaults to ``create_graph``. Without it, a second backward through
        an op that saved values raises ``RuntimeError``.
    create_graph: record the backward pass itself, so that the gradients have a graph of
        their own and can be differentiated again (second derivatives, gradient penalties).
    inputs: tensors to accumulate gradients into; the others' ``.grad`` are left alone.

Examples:
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x ** 3).sum()
    >>> y.backward(create_graph=True)
    >>> x.grad.detach(), x.grad.requires_grad    # 3 x², itself on a graph
    (tensor([ 3., 12.]), True)
    >>> g = x.grad.sum()
    >>> x.grad = None
    >>> g.backward()
    >>> x.grad                        # d/dx of sum(3 x²) = 6 x
    tensor([ 6., 12.])
    >>> z = minigrad.tensor([1.0, -1.0], requires_grad=True) * 2
    >>> z.backward(minigrad.tensor([0.5, 1.0]))    # non-scalar: pass the gradient
""",
    "detach": """A tensor on the same data, cut off the graph (``requires_grad=False``).

Ops on the result are not recorded; in-place changes to it are seen by this tensor (and
counted, so a backward that needs the old values raises).

Examples:
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> d = (x * 2).detach()
    >>> d.requires_grad, d.grad_fn is None
    (False, True)
""",
    "detach_": """Cut this tensor off the graph, in place (it becomes a leaf that does not
require grad); returns it.""",
    "requires_grad_": """Set whether this leaf's ops are recorded; returns the tensor.

Args:
    requires_grad: the new setting (only floating tensors may require grad; only leaves
        may change it).

Examples:
    >>> w = minigrad.zeros(3).requires_grad_()
    >>> w.requires_grad
    True
""",
    "retain_grad": """Nothing to do: every tensor that requires grad gets ``.grad`` in minigrad
(PyTorch needs this call for non-leaf tensors). Raises for a tensor that does not require grad.""",
    "register_hook": """Register ``hook(grad)``, called when this tensor's gradient is computed.

The hook may return a replacement gradient (or None to keep it); ``.grad`` stores the
result after all hooks.

Args:
    hook: a function of the gradient Tensor.

Returns:
    a handle whose ``remove()`` unregisters the hook.

Examples:
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> h = x.register_hook(lambda g: g * 10)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([20., 40.])
    >>> h.remove()
""",
    "data": """A tensor on the same data, detached from the graph; assigning to ``.data``
replaces the values without recording anything (PyTorch's untracked escape hatch).

Examples:
    >>> w = minigrad.ones(2, requires_grad=True)
    >>> w.data.mul_(3)
    tensor([3., 3.])
    >>> w
    tensor([3., 3.], requires_grad=True)
""",
    # -- conversion ---------------------------------------------------------------------------
    "numpy": """The underlying ``numpy.ndarray`` itself (no copy: they share memory).

Unlike PyTorch, this works on a tensor that requires grad.

Examples:
    >>> minigrad.tensor([1.0, 2.0]).numpy()
    array([1., 2.], dtype=float32)
""",
    "item": """The value of a one-element tensor as a Python number.

Examples:
    >>> minigrad.tensor([[2.5]]).item()
    2.5
""",
    "tolist": """The data as (nested) Python lists of Python numbers.

Examples:
    >>> minigrad.tensor([[1, 2], [3, 4]]).tolist()
    [[1, 2], [3, 4]]
""",
    "to": """This tensor converted to another dtype (differentiable) or device.

Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's dtype)
and the keywords ``dtype=``, ``device=``, ``copy=``. Returns the tensor itself when nothing
changes (unless ``copy=True``).

Examples:
    >>> minigrad.tensor([1.7, -1.7]).to(minigrad.int64)
    tensor([ 1, -1])
""",
    "cpu": """The tensor itself (it already lives on the CPU).""",
    "cuda": """Raises: minigrad has no CUDA device.""",
    "float": """``self.to(minigrad.float32)``.

Examples:
    >>> minigrad.tensor([1, 2]).float()
    tensor([1., 2.])
""",
    "double": """``self.to(minigrad.float64)``.""",
    "half": """``self.to(minigrad.float16)``.""",
    "long": """``self.to(minigrad.int64)`` (rounds toward zero).

Examples:
    >>> minigrad.tensor([2.9, -2.9]).long()
    tensor([ 2, -2])
""",
    "int": """``self.to(minigrad.int32)`` (rounds toward zero).""",
    "bool": """``self.to(minigrad.bool)`` (nonzero is True).

Examples:
    >>> minigrad.tensor([0.0, 0.5]).bool()
    tensor([False,  True])
""",
    "type_as": """This tensor converted to ``other``'s dtype.""",
    "clone": """A copy with its own memory, on the graph (the gradient flows back to this tensor).

Examples:
    >>> x = minigrad.tensor([1.0, 2.0])
    >>> y = x.clone()
    >>> y[0] = 5.0
    >>> x
    tensor([1., 2.])
""",
    "new_tensor": """A new tensor from ``data``, with this tensor's dtype unless ``dtype`` is given.""",
    "new_zeros": """A tensor of zeros of ``size``, with this tensor's dtype unless ``dtype`` is given.

Examples:
    >>> minigrad.tensor([1, 2]).new_zeros(2, 2)
    tensor([[0, 0],
            [0, 0]])
""",
    "new_ones": """A tensor of ones of ``size``, with this tensor's dtype unless ``dtype`` is given.""",
    "new_full": """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype unless
``dtype`` is given.""",
    "new_empty": """A new tensor of ``size`` with this tensor's dtype (minigrad fills it with zeros).""",
    # -- arithmetic -----------------------------------------------------------------------------
    "add": _see("add", "``self + alpha * other``, broadcasting.", """
>>> minigrad.tensor([1.0, 2.0]).add(minigrad.tensor([10.0, 20.0]), alpha=2)
tensor([21., 42.])
"""),
    "sub": _see("sub", "``self - alpha * other``, broadcasting."),
    "mul": _see("mul", "``self * other``, broadcasting."),
    "div": """``self / other``, broadcasting; always floating unless ``rounding_mode`` is given.

Args:
    other: a tensor, number or array.
    rounding_mode: None (true division), ``'trunc'`` or ``'floor'``.

Examples:
    >>> minigrad.tensor([5, -5]).div(2)
    tensor([ 2.5000, -2.5000])
    >>> minigrad.tensor([5, -5]).div(2, rounding_mode="floor")
    tensor([ 2, -3])
""",
    "floor_divide": _see("floor_divide", "``floor(self / other)`` (not differentiable)."),
    "remainder": _see("remainder", "``self mod other``, with the sign of ``other`` (Python's ``%``)."),
    "pow": _see("pow", "``self ** exponent``; differentiable in both."),
    "log2": """Base-2 logarithm, elementwise.

Examples:
    >>> minigrad.tensor([1.0, 8.0]).log2()
    tensor([0., 3.])
""",
    "log10": """Base-10 logarithm, elementwise.""",
    "square": _see("square", "``self * self``."),
    "reciprocal": _see("reciprocal", "``1 / self``."),
    "round": _see("round", "Round half to even, to ``decimals`` places (zero gradient)."),
    "trunc": """Round toward zero, elementwise (zero gradient).

Examples:
    >>> minigrad.tensor([1.7, -1.7]).trunc()
    tensor([ 1., -1.])
""",
    "clamp": """Clamp every element into ``[min, max]``.

The gradient is 1 where the element was inside (bounds included) and 0 where it was clamped.

Args:
    min: lower bound (number or tensor), or None.
    max: upper bound (number or tensor), or None.

Examples:
    >>> minigrad.tensor([-2.0, 0.5, 3.0]).clamp(min=0.0, max=1.0)
    tensor([0.0000, 0.5000, 1.0000])
""",
    "clamp_min": """``clamp(min=min)``.""",
    "clamp_max": """``clamp(max=max)``.""",
    "maximum": _see("maximum", "Elementwise maximum of ``self`` and ``other``."),
    "minimum": _see("minimum", "Elementwise minimum of ``self`` and ``other``."),
    "where": """``self`` where ``condition`` is True, else ``other`` (as ``minigrad.where(condition, self, other)``).

Examples:
    >>> x = minigrad.tensor([1.0, -2.0, 3.0])
    >>> x.where(x > 0, 0.0)
    tensor([1., 0., 3.])
""",
    "lerp": """Linear interpolation ``self + weight * (end - self)``.

Examples:
    >>> minigrad.tensor([0.0, 10.0]).lerp(minigrad.tensor([1.0, 20.0]), 0.5)
    tensor([ 0.5000, 15.0000])
""",
    "addcmul": """``self + value * tensor1 * tensor2``.""",
    "addcdiv": """``self + value * tensor1 / tensor2``.""",
    "isnan": _see("isnan", "True where the element is nan."),
    "isinf": _see("isinf", "True where the element is +inf or -inf."),
    "isfinite": _see("isfinite", "True where the element is finite."),
    "eq": _see("eq", "``self == other`` elementwise (bool)."),
    "ne": _see("ne", "``self != other`` elementwise (bool)."),
    "lt": _see("lt", "``self < other`` elementwise (bool)."),
    "le": _see("le", "``self <= other`` elementwise (bool)."),
    "gt": _see("gt", "``self > other`` elementwise (bool)."),
    "ge": _see("ge", "``self >= other`` elementwise (bool)."),
    "equal": """True when ``other`` has the same shape and the same elements.

Examples:
    >>> minigrad.tensor([1, 2]).equal(minigrad.tensor([1, 2]))
    True
""",
    "allclose": """True when every element is close to ``other``'s:
``|self - other| <= atol + rtol * |other|``.

Examples:
    >>> minigrad.tensor([1.0, 2.0]).allclose(minigrad.tensor([1.0, 2.0 + 1e-7]))
    True
""",
    "logical_not": _see("logical_not", "Elementwise not (bool)."),
    "logical_and": _see("logical_and", "Elementwise and (bool)."),
    "logical_or": _see("logical_or", "Elementwise or (bool)."),
    "logical_xor": _see("logical_xor", "Elementwise xor (bool)."),
    "softmax": _see("softmax", "Softmax along ``dim``: exponentials normalised to sum to 1.", """
>>> minigrad.tensor([1.0, 1.0]).softmax(dim=0)
tensor([0.5000, 0.5000])
"""),
    "log_softmax": _see("log_softmax", "Log of the softmax along ``dim``, computed stably."),
    # -- reductions -------------------------------------------------------------------------------
    "prod": _see("prod", "Product of the elements, over ``dim`` or all of them."),
    "var": _see("var", "Variance over ``dim`` (``correction=1``: the unbiased estimate, by default)."),
    "std": _see("std", "Standard deviation over ``dim`` (``correction=1`` by default)."),
    "max": _see("max", "The largest element, or ``(values, indices)`` along ``dim``.", """
>>> x = minigrad.tensor([[1, 5], [7, 2]])
>>> x.max()
tensor(7)
>>> values, indices = x.max(dim=1)
>>> values, indices
(tensor([5, 7]), tensor([1, 0]))
"""),
    "min": _see("min", "The smallest element, or ``(values, indices)`` along ``dim``."),
    "amax": _see("amax", "The largest elements over ``dim`` (ties share the gradient)."),
    "amin": _see("amin", "The smallest elements over ``dim`` (ties share the gradient)."),
    "argmax": _see("argmax", "Index of the largest element (first on ties), flat or along ``dim``."),
    "argmin": _see("argmin", "Index of the smallest element (first on ties), flat or along ``dim``."),
    "logsumexp": _see("logsumexp", "``log(sum(exp(self)))`` over ``dim``, computed stably."),
    "norm": _see("norm", "The vector ``p``-norm (Frobenius by default), over ``dim`` or all elements."),
    "cumsum": _see("cumsum", "Cumulative sum along ``dim``."),
    "all": _see("all", "True if every element is nonzero (over ``dim``, or all)."),
    "any": _see("any", "True if some element is nonzero (over ``dim``, or all)."),
    # -- shape ------------------------------------------------------------------------------------
    "reshape": """The same elements in a new shape: a view when possible, else a copy.

Args:
    *shape: the new sizes (or one tuple); one of them may be -1, inferred from the others.

Examples:
    >>> minigrad.arange(6).reshape(2, -1)
    tensor([[0, 1, 2],
            [3, 4, 5]])
""",
    "view": """A view of the same data with a new shape (writes through it change this tensor).

Args:
    *shape: the new sizes (or one tuple); one of them may be -1.

Examples:
    >>> x = minigrad.zeros(4)
    >>> v = x.view(2, 2)
    >>> v[0, 0] = 1.0
    >>> x
    tensor([1., 0., 0., 0.])
""",
    "view_as": """``self.view(other.shape)``.""",
    "reshape_as": """``self.reshape(other.shape)``.""",
    "flatten": _see("flatten", "Dimensions ``start_dim`` to ``end_dim`` merged into one.", """
>>> tuple(minigrad.zeros(2, 3, 4).flatten(1).shape)
(2, 12)
"""),
    "unflatten": _see("unflatten", "Dimension ``dim`` split into ``sizes``."),
    "squeeze": _see("squeeze", "A view without the size-1 dimensions (or only ``dim``, if size 1)."),
    "unsqueeze": _see("unsqueeze", "A view with a size-1 dimension inserted at ``dim``.", """
>>> tuple(minigrad.zeros(3).unsqueeze(0).shape)
(1, 3)
"""),
    "transpose": _see("transpose", "A view with dimensions ``dim0`` and ``dim1`` swapped."),
    "swapaxes": """``transpose(axis0, axis1)``: a view with the two dimensions swapped (numpy's name).""",
    "t": _see("t", "A view with the two dimensions of a matrix swapped (1-D and 0-D unchanged)."),
    "permute": _see("permute", "A view with the dimensions reordered as ``dims``.", """
>>> tuple(minigrad.zeros(2, 3, 4).permute(2, 0, 1).shape)
(4, 2, 3)
"""),
    "movedim": _see("movedim", "A view with dimension(s) ``source`` moved to ``destination``."),
    "expand": """A view with size-1 dimensions repeated to ``sizes`` (-1 keeps a size); no copy.

Examples:
    >>> minigrad.tensor([[1], [2]]).expand(2, 3)
    tensor([[1, 1, 1],
            [2, 2, 2]])
""",
    "expand_as": """``self.expand(other.shape)``.""",
    "broadcast_to": _see("broadcast_to", "A view broadcast to ``shape``."),
    "repeat": _see("repeat", "The tensor tiled ``sizes`` times along each dimension (a copy)."),
    "flip": _see("flip", "The elements in reverse order along ``dims``."),
    "roll": _see("roll", "Elements shifted by ``shifts`` along ``dims``, wrapping around."),
    "split": _see("split", "Views of pieces of size ``split_size`` (or of the listed sizes) along ``dim``."),
    "chunk": _see("chunk", "Views of ``chunks`` nearly equal pieces along ``dim``."),
    "unbind": _see("unbind", "The views ``self[i]`` along ``dim``, as a tuple."),
    "tril": _see("tril", "The lower triangle (elements at or below ``diagonal``); zeros elsewhere."),
    "triu": _see("triu", "The upper triangle (elements at or above ``diagonal``); zeros elsewhere."),
    "masked_fill": _see("masked_fill", "A copy with ``value`` where ``mask`` is True.", """
>>> x = minigrad.tensor([1.0, 2.0, 3.0])
>>> x.masked_fill(x > 1.5, 0.0)
tensor([1., 0., 0.])
"""),
    "gather": _see("gather", "Elements picked along ``dim`` by ``index``: ``out[i][j] = self[i][index[i][j]]`` (dim=1)."),
    "scatter": _see("scatter", "A copy with ``src`` (or ``value``) written at ``index`` along ``dim``."),
    "scatter_add": _see("scatter_add", "A copy with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."),
    "index_select": _see("index_select", "The entries ``index`` along ``dim`` (a copy)."),
    "take_along_dim": _see("take_along_dim", "Elements picked by ``indices`` along ``dim`` (flat when None)."),
    "diag": _see("diag", "The diagonal of a matrix, or a diagonal matrix from a vector."),
    "trace": _see("trace", "The sum of a matrix's diagonal."),
    "topk": _see("topk", "The ``k`` largest (or smallest) elements along ``dim`` and their indices."),
    "sort": _see("sort", "The elements sorted along ``dim``, and the indices that sort them."),
    "argsort": _see("argsort", "The indices that sort the elements along ``dim``."),
    "multinomial": _see("multinomial", "Indices drawn with probabilities proportional to the rows."),
    # -- linear algebra -----------------------------------------------------------------------------
    "outer": _see("outer", "Outer product of two vectors."),
    "dot": _see("dot", "Dot product of two vectors."),
    "matmul": """Matrix product with ``numpy.matmul``'s shape rules (``self @ other``).

1-D operands are vectors, 2-D matrices, and higher dimensions batches of matrices whose
batch dimensions broadcast. Both operands must have the same floating dtype.

Examples:
    >>> a = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> a.matmul(minigrad.tensor([1.0, 1.0]))
    tensor([3., 7.])
    >>> tuple((minigrad.zeros(5, 2, 3) @ minigrad.zeros(3, 4)).shape)
    (5, 2, 4)
""",
    "mm": _see("mm", "Product of two matrices (2-D only)."),
    "bmm": _see("bmm", "Batched product of two 3-D tensors."),
    "mv": _see("mv", "Product of a matrix and a vector."),
    # -- in-place -------------------------------------------------------------------------------------
    "add_": """In place: ``self += alpha * other``; returns self.

In-place ops change the tensor's data (and that of the views sharing it) and bump its
version counter. Under ``no_grad()`` they are how optimizers update parameters; on a
non-leaf tensor of a graph they are recorded; on a leaf that requires grad, outside
``no_grad()``, they raise. If an op saved the old value for backward, backward raises
instead of computing a wrong gradient.

Examples:
    >>> w = minigrad.ones(2, requires_grad=True)
    >>> with minigrad.no_grad():
    ...     w.add_(minigrad.tensor([1.0, 2.0]), alpha=-0.5)
    tensor([0.5000, 0.0000], requires_grad=True)
""",
    "sub_": """In place: ``self -= alpha * other``; returns self (see ``add_`` for the rules).""",
    "mul_": """In place: ``self *= other``; returns self (see ``add_`` for the rules).""",
    "div_": """In place: ``self /= other``; returns self (see ``add_`` for the rules).""",
    "pow_": """In place: ``self **= exponent``; returns self.""",
    "clamp_": """In place: ``clamp(min, max)``; returns self.""",
    "relu_": """In place: ``relu``; returns self.""",
    "sigmoid_": """In place: ``sigmoid``; returns self.""",
    "tanh_": """In place: ``tanh``; returns self.""",
    "exp_": """In place: ``exp``; returns self.""",
    "neg_": """In place: ``-self``; returns self.""",
    "sqrt_": """In place: ``sqrt``; returns self.""",
    "abs_": """In place: ``abs``; returns self.""",
    "addcmul_": """In place: ``self += value * tensor1 * tensor2``; returns self.""",
    "addcdiv_": """In place: ``self += value * tensor1 / tensor2``; returns self.""",
    "lerp_": """In place: ``self += weight * (end - self)``; returns self.""",
    "masked_fill_": """In place: ``value`` where ``mask`` is True; returns self.""",
    "zero_": """In place: fill with zeros; returns self.

Examples:
    >>> x = minigrad.ones(3)
    >>> x.zero_()
    tensor([0., 0., 0.])
""",
    "fill_": """In place: fill with ``value``; returns self.

Examples:
    >>> minigrad.zeros(2).fill_(7)
    tensor([7., 7.])
""",
    "copy_": """In place: copy ``src``'s values (broadcast, cast to this dtype) into self; returns self.

Examples:
    >>> x = minigrad.zeros(2, 2)
    >>> x.copy_(minigrad.tensor([1.0, 2.0]))
    tensor([[1., 2.],
            [1., 2.]])
""",
    "uniform_": """In place: fill with draws from the uniform distribution on ``[a, b)``; returns self.""",
    "normal_": """In place: fill with draws from the normal distribution ``N(mean, std²)``; returns self.""",
    "bernoulli_": """In place: fill with 1 with probability ``p``, else 0; returns self.""",
    "cauchy_": """In place: fill with draws from the Cauchy distribution (``median``, ``sigma``); returns self.""",
    "exponential_": """In place: fill with draws from the exponential distribution of rate ``lambd``; returns self.""",
    "geometric_": """In place: fill with draws from the geometric distribution (success probability ``p``,
counting trials from 1); returns self.""",
    "log_normal_": """In place: fill with ``exp`` of draws from ``N(mean, std²)``; returns self.""",
    "unsqueeze_": """In place: insert a size-1 dimension at ``dim``; returns self.""",
    "squeeze_": """In place: remove size-1 dimensions (or only ``dim``); returns self.""",
}


def _attach() -> None:
    Tensor.__doc__ = CLASS_DOC
    for name, doc in DOCS.items():
        member = Tensor.__dict__.get(name)
        if member is None:  # renamed or moved: tests/test_docs.py names the stale entry
            continue
        if not isinstance(member, property) and getattr(member, "__module__", None) != Tensor.__module__:
            continue  # the method is a top-level function itself (Tensor.min is minigrad.min): its docs
        # Properties and functions both take a docstring; a method shared with a top-level
        # function (Tensor.exp is minigrad.exp) has no entry here. A docstring of several
        # lines written in tensor.py wins.
        if "\n" not in (member.__doc__ or "").strip():
            member.__doc__ = doc


_attach()
