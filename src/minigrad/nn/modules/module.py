"""``nn.modules.module``: the Module base class (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..module import Module
