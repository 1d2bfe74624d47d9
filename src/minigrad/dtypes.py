"""dtypes with PyTorch's names, the default float dtype, and PyTorch's type promotion."""

from __future__ import annotations

from functools import lru_cache

from . import backend as B


class dtype:
    """A tensor element type, as ``torch.dtype``: ``minigrad.float32`` prints as
    ``minigrad.float32`` and has ``is_floating_point``, ``is_signed``, ``is_complex`` and
    ``itemsize``.

    Each wraps a numpy dtype, its ``.dtype`` attribute, so numpy takes a minigrad dtype
    wherever it takes a dtype (``np.zeros(3, dtype=minigrad.float64)``), and it compares and
    hashes equal to that numpy dtype. ``bfloat16`` comes from the optional ``ml_dtypes``
    package, loaded on first use.
    """

    __slots__ = ("_np", "_name", "is_floating_point", "is_complex", "is_signed", "itemsize", "_hash")

    def __init__(self, np_dtype, name: str, is_floating_point: bool, is_signed: bool, itemsize: int) -> None:
        self._np = np_dtype  # None until first use for bfloat16
        self._name = name
        self.is_floating_point = is_floating_point
        self.is_complex = False
        self.is_signed = is_signed
        self.itemsize = itemsize
        self._hash = None

    @property
    def dtype(self):
        """The numpy dtype behind this one (what numpy reads when given a minigrad dtype)."""
        if self._np is None:
            self._np = _load_lazy(self._name)
        return self._np

    @property
    def kind(self) -> str:
        """numpy's one-letter category (``'f'``, ``'i'``...), for code written against numpy dtypes."""
        return "f" if self.is_floating_point else self.dtype.kind

    def __repr__(self) -> str:
        return f"minigrad.{self._name}"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        if type(other) is dtype:
            return other is self or other._name == self._name
        if isinstance(other, B.dtype) or (isinstance(other, type) and issubclass(other, B.generic)):
            try:
                return self.dtype == B.dtype(other)
            except (TypeError, ImportError):
                return False
        return NotImplemented

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        # Equal to the numpy dtype's hash, so a dict keyed by either finds the other.
        if self._hash is None:
            try:
                self._hash = hash(self.dtype)
            except ImportError:
                self._hash = hash(self._name)
        return self._hash

    def __reduce__(self):
        return (_by_name, (self._name,))


def _load_lazy(name: str):
    """The numpy dtype of a dtype that lives in an optional package (bfloat16: ``ml_dtypes``)."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError(f"minigrad.{name} needs the optional package ml_dtypes: "
                          "pip install 'minigrad[bfloat16]' (or pip install ml_dtypes)") from None
    np_dtype = B.dtype(getattr(ml_dtypes, name))
    _BY_NP[np_dtype] = _BY_NAME[name]
    return np_dtype


_BY_NP: dict = {}  # numpy dtype -> minigrad dtype
_BY_NAME: dict = {}


def _define(np_dtype, name: str) -> dtype:
    d = dtype(np_dtype, name, np_dtype.kind == "f", np_dtype.kind in "if", np_dtype.itemsize)
    _BY_NP[np_dtype] = _BY_NAME[name] = d
    return d


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def wrap(np_dtype) -> dtype:
    """The minigrad dtype of a numpy dtype (``Tensor.dtype`` of an array of it)."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        if np_dtype.name == "bfloat16":
            return _BY_NAME["bfloat16"]
        # e.g. uint16, or big-endian float32, from a numpy array: named as numpy names it
        d = dtype(np_dtype, np_dtype.name, np_dtype.kind == "f", np_dtype.kind in "if", np_dtype.itemsize)
        _BY_NP[np_dtype] = d
        _BY_NAME.setdefault(np_dtype.name, d)
    return d


float16 = half = _define(B.float16, "float16")
float32 = float = _define(B.float32, "float32")  # PyTorch's alias
float64 = double = _define(B.float64, "float64")
bfloat16 = dtype(None, "bfloat16", True, True, 2)
_BY_NAME["bfloat16"] = bfloat16
int8 = _define(B.int8, "int8")
int16 = short = _define(B.int16, "int16")
int32 = int = _define(B.int32, "int32")
int64 = long = _define(B.int64, "int64")
uint8 = _define(B.uint8, "uint8")
bool = _define(B.bool_, "bool")

_default = [B.float32]  # internal code works with numpy dtypes; the public API hands out the wrappers

# Category order used by promotion: bool < integer < floating.
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # "V": bfloat16, ml_dtypes' only kind here

_ALIASES = {
    "float": B.float32, "float32": B.float32, "double": B.float64, "float64": B.float64,
    "half": B.float16, "float16": B.float16, "int": B.int32, "int32": B.int32,
    "long": B.int64, "int64": B.int64, "short": B.int16, "int16": B.int16, "int8": B.int8,
    "uint8": B.uint8, "bool": B.bool_, "bfloat16": bfloat16,
}


def get_default_dtype() -> dtype:
    """The dtype Python floats and lists of floats become (``minigrad.float32`` unless changed)."""
    return _BY_NP[_default[0]]


def default_float():
    """The default floating dtype as the numpy dtype the engine computes with."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Set the default floating dtype (float32 or float64), as ``torch.set_default_dtype``."""
    d = as_dtype(d)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are supported, got {wrap(d)}")
    _default[0] = d


def as_dtype(d):
    """Normalise a dtype given as a minigrad dtype, a numpy dtype/type, a Python type or a
    name to the numpy dtype the engine computes with."""
    if d is None:
        return None
    if type(d) is dtype:
        return d._np if d._np is not None else d.dtype
    if isinstance(d, B.dtype):
        return d
    if isinstance(d, str):
        key = d.removeprefix("torch.").removeprefix("minigrad.")
        if key in _ALIASES:
            return as_dtype(_ALIASES[key])
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
