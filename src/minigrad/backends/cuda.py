"""``minigrad.backends.cuda``: CUDA's flags, as ``torch.backends.cuda`` (``matmul.allow_tf32``
and the like; they change nothing in minigrad, defaults are PyTorch's)."""

from __future__ import annotations

import warnings

__all__ = ["get_float32_matmul_precision", "is_built", "matmul", "set_float32_matmul_precision"]


_precision = ["highest"]  # float32 matmul precision: one fact behind allow_tf32 and the top-level calls


def get_float32_matmul_precision() -> str:
    """``'highest'``, ``'high'`` or ``'medium'``, as ``torch.get_float32_matmul_precision``."""
    return _precision[0]


def set_float32_matmul_precision(precision: str) -> None:
    """Set the float32 matmul precision flag (numpy always computes in full float32: it is
    recorded, as ``matmul.allow_tf32`` reads it, and changes no result)."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _precision[0] = precision


class _MatmulFlags:
    """``backends.cuda.matmul``: settable cuBLAS flags; an unknown name raises as PyTorch's."""

    _FLAGS = ("allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction",
              "allow_fp16_accumulation")

    def __init__(self) -> None:
        object.__setattr__(self, "allow_fp16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_bf16_reduced_precision_reduction", True)
        object.__setattr__(self, "allow_fp16_accumulation", False)

    @property
    def allow_tf32(self) -> bool:
        """Whether float32 matmuls may use TensorFloat-32 (the precision is not ``'highest'``)."""
        return _precision[0] != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _precision[0] = "high" if value else "highest"

    def __setattr__(self, name: str, value) -> None:
        if name != "allow_tf32" and name not in _MatmulFlags._FLAGS:
            raise AttributeError(f"Unknown attribute {name}")
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        raise AttributeError(f"Unknown attribute {name}")


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether minigrad can use CUDA: CuPy is installed (the GPU itself is ``cuda.is_available()``'s question)."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None
