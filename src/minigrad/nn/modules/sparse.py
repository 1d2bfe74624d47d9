"""``nn.modules.sparse``: Embedding (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..sparse import Embedding
