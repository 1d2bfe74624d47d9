"""``nn.modules.container``: containers (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
