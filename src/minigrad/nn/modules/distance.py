"""``nn.modules.distance``: PairwiseDistance and CosineSimilarity (PyTorch's module path; the classes live in ``minigrad.nn``)."""

# ruff: noqa: F401  (this module re-exports)

from ..linear import CosineSimilarity, PairwiseDistance
