"""dtypes with PyTorch's names, the default float dtype, and PyTorch's type promotion."""

from __future__ import annotations

from functools import lru_cache

from . import backend as B

float16 = half = B.float16
float32 = float = B.float32  # noqa: A001 - PyTorch's alias
float64 = double = B.float64
int8 = B.int8
int16 = short = B.int16
int32 = int = B.int32  # noqa: A001
int64 = long = B.int64
uint8 = B.uint8
bool = B.bool_  # noqa: A001

_default = [B.float32]

# Category order used by promotion: bool < integer < floating.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}

_ALIASES = {
    "float": B.float32, "float32": B.float32, "double": B.float64, "float64": B.float64,
    "half": B.float16, "float16": B.float16, "int": B.int32, "int32": B.int32,
    "long": B.int64, "int64": B.int64, "short": B.int16, "int16": B.int16, "int8": B.int8,
    "uint8": B.uint8, "bool": B.bool_,
}


def get_default_dtype():
    """The dtype Python floats and lists of floats become (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float32 or float64), as ``torch.set_default_dtype``."""
    d = as_dtype(d)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {d}")
    _default[0] = d


def as_dtype(d):
    """Normalise a dtype given as a numpy dtype/type, a Python type or a name."""
    if d is None:
        return None
    if isinstance(d, B.dtype):
        return d
    if isinstance(d, str):
        key = d.removeprefix("torch.").removeprefix("minigrad.")
        if key in _ALIASES:
            return _ALIASES[key]
        raise TypeError(f"unknown dtype {d!r}")
    if d is _pyfloat:
        return _default[0]
    if d is _pyint:
        return B.int64
    if d is _pybool:
        return B.bool_
    try:
        return B.dtype(d)
    except TypeError:
        raise TypeError(f"unknown dtype {d!r}") from None


_pyfloat = (1.0).__class__
_pyint = (1).__class__
_pybool = (True).__class__






@lru_cache(maxsize=1024)
def promote(dims: tuple, zero_dims: tuple, scalars: tuple):
    """PyTorch's result dtype.

    ``dims`` are dtypes of operands with at least one dimension, ``zero_dims`` of
    0-d tensors and arrays, ``scalars`` of Python numbers (as the dtype they map to:
    bool, int64 or the default float). A lower tier only decides the dtype when it
    brings a higher category (bool < int < float) than every higher tier.
    """
    best_cat = -1
    result = None
    for tier in (dims, zero_dims, scalars):
        if not tier:
            continue
        cat = max(_CATEGORY[d.kind] for d in tier)
        if cat > best_cat:
            candidates = [d for d in tier if _CATEGORY[d.kind] == cat]
            r = candidates[0]
            for d in candidates[1:]:
                r = B.xp.promote_types(r, d)
            result = r
            best_cat = cat
    return result


def scalar_dtype(value):
    """The dtype PyTorch gives a Python number taking part in an op."""
    if isinstance(value, _pybool):
        return B.bool_
    if isinstance(value, _pyint):
        return B.int64
    if isinstance(value, _pyfloat):
        return _default[0]
    if isinstance(value, B.generic):
        d = value.dtype
        if d.kind == "f":
            return _default[0]
        if d.kind in "iu":
            return B.int64
        if d.kind == "b":
            return B.bool_
        return d
    raise TypeError(f"unsupported operand type {type(value).__name__}")


# PyTorch's ScalarType names, as its error messages print dtypes ("... but got Float").
_SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                      "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def scalar_type_name(dtype) -> str:
    """PyTorch's ScalarType name of ``dtype`` ("Float" for float32, "Long" for int64 ...)."""
    name = str(as_dtype(dtype))
    return _SCALAR_TYPE_NAMES.get(name, name)
