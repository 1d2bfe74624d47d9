"""Documentation for ``nn`` names whose definitions are one line (container protocol methods,
``reset_parameters``, the simplest activations), attached at import.

An entry is used only where the definition has no docstring of its own: one written at the
definition wins. Examples run as doctests (``tests/test_docs.py``).
"""

from __future__ import annotations

from . import activation, container, functional, init, linear, normalization, rnn, sparse
from .module import Module

_RESET = """Re-initialise the parameters as the constructor does (PyTorch's default initialisation)."""

METHODS = {
    Module: {
        "forward": """The computation of the module: override it in a subclass.

Call the module (``module(x)``), not ``forward`` directly: the call also runs the registered
forward hooks.

Examples:
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter(minigrad.tensor(2.0))
    ...     def forward(self, x):
    ...         return x * self.scale
    >>> Affine()(minigrad.tensor([1.0, 3.0]))
    tensor([2., 6.], grad_fn=<MulBackward0>)
""",
        "named_buffers": """Yield ``(name, buffer)`` for the buffers of this module (and its sub-modules,
if ``recurse``), names prefixed with ``prefix``.

Examples:
    >>> [name for name, _ in nn.BatchNorm1d(3).named_buffers()]
    ['running_mean', 'running_var', 'num_batches_tracked']
""",
        "buffers": """Yield the buffers (state that is not a parameter, e.g. BatchNorm's running mean)
of this module and, if ``recurse``, of its sub-modules.""",
        "named_children": """Yield ``(name, module)`` for the direct sub-modules.

Examples:
    >>> [name for name, _ in nn.Sequential(nn.Linear(2, 2), nn.ReLU()).named_children()]
    ['0', '1']
""",
        "children": """Yield the direct sub-modules.""",
        "modules": """Yield this module and all its sub-modules, depth first, each once.""",
        "get_submodule": """The sub-module at the dotted path ``target`` (``"encoder.0"``); raises
``AttributeError`` naming the missing part.""",
        "get_parameter": """The parameter at the dotted path ``target`` (``"0.weight"``).

Examples:
    >>> tuple(nn.Sequential(nn.Linear(2, 3)).get_parameter("0.weight").shape)
    (3, 2)
""",
        "get_buffer": """The buffer at the dotted path ``target`` (``"bn.running_mean"``).""",
        "requires_grad_": """Set ``requires_grad`` of every parameter (e.g. False to freeze them); returns self.

Examples:
    >>> m = nn.Linear(2, 1).requires_grad_(False)
    >>> [p.requires_grad for p in m.parameters()]
    [False, False]
""",
        "half": """Cast floating parameters and buffers to ``float16``, in place; returns self.""",
        "type": """Cast floating parameters and buffers to ``dst_type``, in place; returns self.""",
        "cpu": """Returns self (everything already lives on the CPU).""",
        "cuda": """Raises: minigrad has no CUDA device.""",
    },
    container.Sequential: {
        "append": """Add ``module`` at the end; returns self.

Examples:
    >>> net = nn.Sequential(nn.Linear(2, 2))
    >>> len(net.append(nn.ReLU()))
    2
""",
        "extend": """Add the modules of ``sequential`` (any iterable of modules) at the end; returns self.""",
        "insert": """Insert ``module`` before position ``index``; returns self.""",
        "pop": """Remove the module at ``key`` (an index) and return it.""",
    },
    container.ModuleList: {
        "append": """Add ``module`` at the end; returns self.""",
        "extend": """Add the modules of an iterable at the end; returns self.""",
        "insert": """Insert ``module`` before position ``index``.""",
        "pop": """Remove the module at ``key`` (an index) and return it.""",
    },
    container.ModuleDict: {
        "clear": """Remove every module.""",
        "items": """The ``(name, module)`` pairs, in insertion order.""",
        "keys": """The names, in insertion order.""",
        "values": """The modules, in insertion order.""",
        "pop": """Remove the module named ``key`` and return it.""",
        "update": """Add the modules of a mapping or of ``(name, module)`` pairs.""",
    },
    container.ParameterList: {
        "append": """Add ``value`` (made a Parameter if it is a plain Tensor) at the end; returns self.""",
        "extend": """Add the values of an iterable at the end; returns self.""",
    },
    container.ParameterDict: {
        "items": """The ``(name, parameter)`` pairs, in insertion order.""",
        "keys": """The names, in insertion order.""",
        "values": """The parameters, in insertion order.""",
        "update": """Add the parameters of a mapping or of ``(name, parameter)`` pairs.""",
    },
    linear.Linear: {"reset_parameters": _RESET},
    linear.Bilinear: {"reset_parameters": _RESET},
    sparse.Embedding: {"reset_parameters": _RESET},
    normalization.LayerNorm: {"reset_parameters": _RESET},
    normalization.GroupNorm: {"reset_parameters": _RESET},
    normalization._NormBase: {
        "reset_parameters": """Reset the running statistics, and the affine weight and bias to 1 and 0.""",
        "reset_running_stats": """Reset the running mean to 0, the running variance to 1 and the batch count to 0.""",
    },
    activation.PReLU: {"reset_parameters": _RESET},
    rnn.RNNBase: {
        "reset_parameters": """Re-initialise every weight and bias uniformly in ``(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``, as PyTorch does.""",
        "all_weights": """The parameters of each layer and direction, as lists, in PyTorch's order.""",
    },
    rnn.RNNCellBase: {"reset_parameters": _RESET},
}

CLASSES = {
    activation.Tanh: """Applies ``tanh`` elementwise.

Examples:
    >>> nn.Tanh()(minigrad.tensor([0.0, 100.0]))
    tensor([0., 1.])
""",
    activation.Sigmoid: """Applies ``1 / (1 + exp(-x))`` elementwise.

Examples:
    >>> nn.Sigmoid()(minigrad.tensor([0.0]))
    tensor([0.5000])
""",
    activation.LogSigmoid: """Applies ``log(sigmoid(x))`` elementwise, computed stably.""",
    activation.Softsign: """Applies ``x / (1 + |x|)`` elementwise.""",
    activation.Softshrink: """Applies soft shrinkage: ``x - lambd`` above ``lambd``, ``x + lambd`` below
``-lambd``, 0 between.""",
    activation.Hardshrink: """Applies hard shrinkage: ``x`` where ``|x| > lambd``, else 0.""",
    activation.Tanhshrink: """Applies ``x - tanh(x)`` elementwise.""",
}

FUNCTIONS = {
    functional.tanh: """``tanh(input)`` elementwise (as ``minigrad.tanh``).""",
    functional.sigmoid: """``1 / (1 + exp(-input))`` elementwise (as ``minigrad.sigmoid``).""",
    functional.relu_: """``relu`` in place; returns ``input``.""",
    functional.relu6: """``min(max(input, 0), 6)`` elementwise.

Examples:
    >>> F.relu6(minigrad.tensor([-1.0, 3.0, 8.0]))
    tensor([0., 3., 6.])
""",
    functional.softsign: """``input / (1 + |input|)`` elementwise.""",
    functional.tanhshrink: """``input - tanh(input)`` elementwise.""",
    functional.softmin: """Softmin along ``dim``: ``softmax(-input, dim)``.""",
    init.zeros_: """Fill ``tensor`` with 0, in place (without recording); returns it.""",
    init.ones_: """Fill ``tensor`` with 1, in place (without recording); returns it.

Examples:
    >>> nn.init.ones_(minigrad.empty(2))
    tensor([1., 1.])
""",
}


def _missing(obj) -> bool:
    return not (getattr(obj, "__doc__", None) or "").strip()


def _attach() -> None:
    for cls, docs in METHODS.items():
        for name, doc in docs.items():
            member = cls.__dict__.get(name)
            if member is None:  # renamed or moved: tests/test_docs.py names the stale entry
                continue
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if _missing(member):
                member.__doc__ = doc
    for cls, doc in CLASSES.items():
        if "__doc__" not in cls.__dict__ or _missing(cls):
            cls.__doc__ = doc
    for fn, doc in FUNCTIONS.items():
        if _missing(fn):
            fn.__doc__ = doc


_attach()
