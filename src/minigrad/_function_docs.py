"""The documentation of top-level functions whose modules keep one-line definitions
(factories, random state), attached at import (as PyTorch's ``torch/_torch_docs.py``).

An entry here is used when the function has no docstring of its own, or a one-line one; a
longer docstring written at the definition wins. Every example runs as a doctest
(``tests/test_docs.py``).
"""

from __future__ import annotations

from . import factories as F

_MAKE_ARGS = """    dtype: the element type (default: the default float dtype, ``minigrad.float32``).
    device: ``'cpu'`` (the only device).
    requires_grad: record ops on the result, for gradients."""

_SIZE = "    *size: the sizes of the dimensions, as integers or one tuple or list."

DOCS = {
    F.tensor: """A new tensor holding a copy of ``data``.

Python floats become the default float dtype (``float32``), Python ints ``int64``, bools
``bool``; a numpy array keeps its dtype; a Tensor is copied.

Args:
    data: a number, a (nested, rectangular) list or tuple, a numpy array or a Tensor.
    dtype: the element type (default: inferred from ``data`` as above).
    device: ``'cpu'``.
    requires_grad: record ops on the result for gradients (floating dtypes only).

Returns:
    Tensor: a leaf tensor.

Examples:
    >>> minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    tensor([[1., 2.],
            [3., 4.]], requires_grad=True)
    >>> minigrad.tensor([1, 2]).dtype == minigrad.int64
    True
""",
    F.as_tensor: """A tensor from ``data``, sharing a numpy array's memory when no cast is needed.

Examples:
    >>> a = np.zeros(2, dtype=np.float32)
    >>> t = minigrad.as_tensor(a)
    >>> a[0] = 5.0
    >>> t
    tensor([5., 0.])
""",
    F.from_numpy: """A tensor sharing ``array``'s memory (writes to either are seen by both).

Examples:
    >>> a = np.arange(3)
    >>> t = minigrad.from_numpy(a)
    >>> t[0] = 7
    >>> a
    array([7, 1, 2])
""",
    F.zeros: f"""A tensor filled with 0.

Args:
{_SIZE}
{_MAKE_ARGS}

Examples:
    >>> minigrad.zeros(2, 3)
    tensor([[0., 0., 0.],
            [0., 0., 0.]])
""",
    F.ones: f"""A tensor filled with 1.

Args:
{_SIZE}
{_MAKE_ARGS}

Examples:
    >>> minigrad.ones(2, dtype=minigrad.int64)
    tensor([1, 1])
""",
    F.empty: f"""A new tensor of the given size (minigrad fills it with zeros; PyTorch leaves it
uninitialised, so never read it before writing).

Args:
{_SIZE}
{_MAKE_ARGS}
""",
    F.full: f"""A tensor of ``size`` filled with ``fill_value``.

Args:
    size: a tuple or list of sizes.
    fill_value: the value.
{_MAKE_ARGS}

Examples:
    >>> minigrad.full((2,), 0.5)
    tensor([0.5000, 0.5000])
""",
    F.zeros_like: """``zeros`` of ``input``'s shape, and its dtype unless ``dtype`` is given.

Examples:
    >>> minigrad.zeros_like(minigrad.tensor([[1, 2]]))
    tensor([[0, 0]])
""",
    F.ones_like: """``ones`` of ``input``'s shape, and its dtype unless ``dtype`` is given.""",
    F.empty_like: """``empty`` of ``input``'s shape, and its dtype unless ``dtype`` is given.""",
    F.full_like: """``full`` of ``input``'s shape, and its dtype unless ``dtype`` is given.""",
    F.rand_like: """``rand`` of ``input``'s shape, and its dtype unless ``dtype`` is given.""",
    F.randn_like: """``randn`` of ``input``'s shape, and its dtype unless ``dtype`` is given.""",
    F.randperm: """A random permutation of ``0 .. n-1`` (``int64``).

Examples:
    >>> sorted(minigrad.randperm(4).tolist())
    [0, 1, 2, 3]
""",
    F.arange: """Values from ``start`` to ``end`` (excluded) by ``step``.

``arange(end)`` starts at 0. The result is ``int64`` when all arguments are integers, else
the default float dtype.

Args:
    start: the first value (or ``end`` when it is the only argument).
    end: the bound, not included.
    step: the spacing.
    dtype: the element type (default: as above).
    device: ``'cpu'``.
    requires_grad: record ops on the result.

Examples:
    >>> minigrad.arange(4)
    tensor([0, 1, 2, 3])
    >>> minigrad.arange(0, 1, 0.25)
    tensor([0.0000, 0.2500, 0.5000, 0.7500])
""",
    F.linspace: """``steps`` values evenly spaced from ``start`` to ``end`` (both included).

Examples:
    >>> minigrad.linspace(0, 1, 5)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
""",
    F.logspace: """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent.

Examples:
    >>> minigrad.logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
""",
    F.eye: """The identity matrix: ``n`` rows, ``m`` columns (``m = n`` by default).

Examples:
    >>> minigrad.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
""",
}


def _autograd_docs() -> dict:
    from . import autograd as A

    return {
        A.grad: """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

Runs the same backward walk as ``Tensor.backward``, pruned to the part of the graph that
leads to ``inputs``, and returns one gradient per input instead of adding into ``.grad``: a
leaf's ``.grad`` is never touched.

Args:
    outputs: a tensor or a sequence of tensors to differentiate.
    inputs: a tensor or a sequence of tensors (requiring grad) to differentiate with respect to.
    grad_outputs: the gradients with respect to ``outputs`` (the vectors of the
        vector-Jacobian products); may be None for one-element outputs (then 1).
    retain_graph: keep the saved values so the graph can be walked again; defaults to
        ``create_graph``.
    create_graph: record the backward pass, so the returned gradients can be differentiated
        again (Hessians, gradient penalties).
    allow_unused: return None for an input the outputs do not depend on, instead of raising.
    materialize_grads: return zeros instead of None for such inputs.

Returns:
    tuple: one Tensor (or None) per input.

Examples:
    >>> x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x ** 3).sum()
    >>> (dy,) = minigrad.autograd.grad(y, x, create_graph=True)    # 3 x²
    >>> (d2y,) = minigrad.autograd.grad(dy.sum(), x)                # 6 x
    >>> dy.detach(), d2y, x.grad
    (tensor([ 3., 12.]), tensor([ 6., 12.]), None)
""",
        A.backward: """Accumulate the gradients of ``tensors`` into ``.grad`` of the graph's tensors.

``minigrad.autograd.backward(y)`` is ``y.backward()``; with several tensors their gradients
are summed (one walk). See ``Tensor.backward`` for the semantics: accumulation across calls,
intermediate ``.grad``, ``retain_graph`` and ``create_graph``.

Args:
    tensors: a tensor or a sequence of tensors.
    grad_tensors: their gradients (None for one-element tensors).
    retain_graph: keep the saved values for another walk; defaults to ``create_graph``.
    create_graph: record the backward pass, for higher derivatives.
    inputs: only these tensors get their ``.grad`` accumulated.

Examples:
    >>> a = minigrad.tensor(2.0, requires_grad=True)
    >>> minigrad.autograd.backward([a * 3, a * a])
    >>> a.grad                     # 3 + 2a
    tensor(7.)
""",
        A.no_grad: """Turn off recording, in a ``with`` block or a decorated function.

Inside, ops compute as usual but record nothing: results have ``requires_grad=False`` and no
``grad_fn``, no values are saved for backward (less memory, less time), and in-place updates
of leaves that require grad are allowed — which is how optimizers update parameters
(``w -= lr * w.grad``). Grad mode is per thread; the previous mode comes back at the end of
the block (also on an exception), so ``no_grad`` and ``enable_grad`` nest.

Examples:
    >>> w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    >>> with minigrad.no_grad():
    ...     y = w * 2
    ...     w -= 0.5          # allowed: not recorded
    >>> y.requires_grad, w
    (False, tensor([0.5000, 1.5000], requires_grad=True))
    >>> @minigrad.no_grad()
    ... def predict(x):
    ...     return x * w
    >>> predict(minigrad.ones(2)).requires_grad
    False
""",
        A.enable_grad: """Turn recording back on, in a ``with`` block or a decorated function (inside a
``no_grad`` region, for example); the previous mode comes back at the end.

Examples:
    >>> x = minigrad.ones(1, requires_grad=True)
    >>> with minigrad.no_grad():
    ...     with minigrad.enable_grad():
    ...         y = x * 2
    >>> y.requires_grad
    True
""",
        A.set_grad_enabled: """Set recording on (``mode=True``) or off, at once; as a context manager,
the previous mode comes back at the end of the block.

Examples:
    >>> x = minigrad.ones(1, requires_grad=True)
    >>> with minigrad.set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    >>> minigrad.is_grad_enabled()
    True
""",
        A.inference_mode: """As ``no_grad`` (``inference_mode(False)`` does nothing): minigrad has no
separate inference tensors. A context manager and a decorator.""",
        A.is_grad_enabled: """True when ops are recorded for backward in this thread (outside ``no_grad``).

Examples:
    >>> with minigrad.no_grad():
    ...     minigrad.is_grad_enabled()
    False
""",
    }


_ELEMENTWISE = """

Args:
    input: a tensor (a number or an array is taken as a constant).

Returns:
    Tensor: of the same shape (integer input gives the default float dtype)."""

# Fuller documentation of the most used top-level ops, by name (their definitions keep one line).
BY_NAME = {
    "exp": "``e ** input`` elementwise; its gradient is the result itself." + _ELEMENTWISE + """

Examples:
    >>> minigrad.exp(minigrad.tensor([0.0, 1.0]))
    tensor([1.0000, 2.7183])
""",
    "log": "Natural logarithm elementwise (``-inf`` at 0, ``nan`` below)." + _ELEMENTWISE + """

Examples:
    >>> minigrad.log(minigrad.tensor([1.0, 100.0]))
    tensor([0.0000, 4.6052])
""",
    "tanh": "Hyperbolic tangent elementwise; gradient ``1 - tanh²``." + _ELEMENTWISE + """

Examples:
    >>> x = minigrad.tensor([0.0, 1.0], requires_grad=True)
    >>> y = minigrad.tanh(x)
    >>> y.sum().backward()
    >>> y.detach(), x.grad
    (tensor([0.0000, 0.7616]), tensor([1.0000, 0.4200]))
""",
    "sigmoid": "``1 / (1 + exp(-input))`` elementwise, finite for any input." + _ELEMENTWISE + """

Examples:
    >>> minigrad.sigmoid(minigrad.tensor([-1000.0, 0.0, 2.0]))
    tensor([0.0000, 0.5000, 0.8808])
""",
    "relu": """``max(input, 0)`` elementwise; gradient 1 above 0 and 0 elsewhere (0 at 0, as PyTorch).

Args:
    input: a tensor.

Returns:
    Tensor: of the same shape and dtype.

Examples:
    >>> minigrad.relu(minigrad.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
""",
    "sum": """The sum of the elements, over ``dim`` or all of them.

Args:
    input: a tensor.
    dim: an int or a tuple of ints (negative counts from the end); None sums everything.
    keepdim: keep the summed dimensions with size 1.
    dtype: the result's dtype (integer and bool inputs sum to ``int64`` by default).

Returns:
    Tensor: 0-d when everything is summed. Its gradient is the incoming one broadcast back.

Examples:
    >>> x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> minigrad.sum(x), x.sum(dim=0), x.sum(1, keepdim=True)
    (tensor(10.), tensor([4., 6.]), tensor([[3.],
            [7.]]))
""",
    "mean": """The arithmetic mean, over ``dim`` or all elements (floating input only, as PyTorch).

Args:
    input: a floating tensor.
    dim: an int or a tuple of ints; None averages everything.
    keepdim: keep the reduced dimensions with size 1.
    dtype: cast to this dtype first.

Examples:
    >>> minigrad.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=1)
    tensor([1.5000, 3.5000])
""",
    "cat": """Concatenate tensors along an existing dimension ``dim``; each input gets its slice of the gradient.

Args:
    tensors: a sequence of tensors with equal shapes except along ``dim``.
    dim: the dimension to join along.

Examples:
    >>> a, b = minigrad.zeros(2, 1), minigrad.ones(2, 2)
    >>> minigrad.cat([a, b], dim=1)
    tensor([[0., 1., 1.],
            [0., 1., 1.]])
""",
    "stack": """Stack tensors of one shape along a new dimension ``dim``.

Examples:
    >>> minigrad.stack([minigrad.tensor([1, 2]), minigrad.tensor([3, 4])], dim=1)
    tensor([[1, 3],
            [2, 4]])
""",
    "reshape": """The elements of ``input`` in a new shape (one size may be -1, inferred): a view when
possible, else a copy.

Examples:
    >>> minigrad.reshape(minigrad.arange(6), (3, -1))
    tensor([[0, 1],
            [2, 3],
            [4, 5]])
""",
    "where": """``input`` where ``condition`` is True, else ``other``, elementwise with broadcasting; the
gradient goes to the side that was chosen.

Args:
    condition: a bool tensor.
    input: values where True (tensor or number).
    other: values where False (tensor or number).

Examples:
    >>> x = minigrad.tensor([-1.0, 2.0])
    >>> minigrad.where(x > 0, x, 0.0)
    tensor([0., 2.])
""",
    "maximum": """Elementwise maximum of ``input`` and ``other``, broadcasting; on a tie each gets half the gradient.

Examples:
    >>> minigrad.maximum(minigrad.tensor([1.0, 5.0]), minigrad.tensor([3.0, 2.0]))
    tensor([3., 5.])
""",
    "pow": """``input ** exponent`` elementwise with broadcasting, differentiable in both.

Examples:
    >>> minigrad.pow(minigrad.tensor([2.0, 3.0]), 2)
    tensor([4., 9.])
""",
    "squeeze": """A view of ``input`` without its size-1 dimensions (only ``dim``, when given and of size 1).

Examples:
    >>> tuple(minigrad.squeeze(minigrad.zeros(2, 1, 3)).shape)
    (2, 3)
""",
    "unsqueeze": """A view of ``input`` with a size-1 dimension inserted at ``dim``.

Examples:
    >>> tuple(minigrad.unsqueeze(minigrad.zeros(3), 1).shape)
    (3, 1)
""",
    "transpose": """A view of ``input`` with dimensions ``dim0`` and ``dim1`` swapped.

Examples:
    >>> minigrad.transpose(minigrad.tensor([[1, 2, 3]]), 0, 1)
    tensor([[1],
            [2],
            [3]])
""",
    "permute": """A view of ``input`` with its dimensions in the order ``dims``.

Examples:
    >>> tuple(minigrad.permute(minigrad.zeros(2, 3, 4), (2, 0, 1)).shape)
    (4, 2, 3)
""",
    "flatten": """``input`` with dimensions ``start_dim`` to ``end_dim`` merged into one.

Examples:
    >>> tuple(minigrad.flatten(minigrad.zeros(2, 3, 4), start_dim=1).shape)
    (2, 12)
""",
}


def _members() -> dict:
    """{(class, name): docstring} for one-line methods and properties outside the tables."""
    from .autograd.graph import Node
    from .optim import lr_scheduler as S
    from .tensor import Tensor
    from .utils.data import RandomSampler

    state = """Returns the scheduler's state (everything but the optimizer) as a dict; ``load_state_dict``
restores it."""
    return {
        (Node, "register_hook"): """Register ``fn(grad)``, called with the gradient of this node's output
before it is used (``Tensor.register_hook`` of a non-leaf tensor lands here).""",
        (S.LRScheduler, "load_state_dict"): """Restore the state saved by ``state_dict()``.""",
        (S.LambdaLR, "load_state_dict"): """Restore the state saved by ``state_dict()`` (the lambdas
themselves are not saved, only callable objects' ``__dict__``, as in PyTorch).""",
        (S.ReduceLROnPlateau, "load_state_dict"): """Restore the state saved by ``state_dict()``.""",
        (S.ReduceLROnPlateau, "in_cooldown"): """True while the cooldown after a reduction lasts.""",
        (S._Composite, "load_state_dict"): """Restore the state saved by ``state_dict()``, with each
wrapped scheduler's.""",
        (RandomSampler, "num_samples"): """How many indices one pass draws (the data set's length unless
``num_samples`` was given).""",
        (Tensor, "is_cpu"): """True: minigrad's tensors live on the CPU.""",
        (Tensor, "is_meta"): """False: minigrad has no meta tensors (shape-only tensors without data).""",
        (Tensor, "is_mps"): """False: minigrad has no Apple-GPU tensors.""",
        (Tensor, "is_xpu"): """False: minigrad has no XPU tensors.""",
        (Tensor, "layout"): """The memory layout: ``minigrad.strided`` for dense tensors, as PyTorch's.""",
        (S.LRScheduler, "state_dict"): state,
    }


def _attach() -> None:
    from .ops import movement

    DOCS[movement.movedim] = """``input`` with dimension(s) ``source`` moved to position(s)
``destination`` (a view); the other dimensions keep their order.

Examples:
    >>> tuple(minigrad.movedim(minigrad.zeros(2, 3, 4), 0, -1).shape)
    (3, 4, 2)
"""
    DOCS.update(_autograd_docs())
    import sys

    package = sys.modules[__name__.rpartition(".")[0]]
    for name, doc in BY_NAME.items():
        fn = getattr(package, name, None)
        if fn is not None:
            DOCS[fn] = doc
    for fn, doc in DOCS.items():
        own = (fn.__doc__ or "").strip()
        if "\n" not in own:  # none, or one line: ours is fuller
            fn.__doc__ = doc
    for (cls, name), doc in _members().items():
        member = cls.__dict__.get(name)
        if member is not None and not (getattr(member, "__doc__", None) or "").strip():
            member.__doc__ = doc


_attach()
