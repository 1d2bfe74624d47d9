"""``save`` / ``load``: objects of tensors, arrays and plain Python data in one ``.npz`` file, never pickle.

File format (a normal numpy ``.npz`` zip archive, written exactly at the path given):

- ``__minigrad__``: a 0-d unicode array holding JSON ``{"format": "minigrad", "version": 1, "root": NODE}``;
- ``a0``, ``a1``, ...: one member per distinct tensor / ndarray / numpy scalar.

A NODE is JSON ``null``/``true``/``false``/number/string for ``None``/bools/ints/floats/strings,
or an object with one tag: ``{"list": [...]}``, ``{"tuple": [...]}``,
``{"dict": [[key, value], ...], "cls": "dict" | "OrderedDict" | "Counter"}``,
``{"tensor": "a0", "dtype": ..., "requires_grad": ..., "parameter": ...}``,
``{"ndarray": "a1"}`` or ``{"scalar": "a2"}``. So every container keeps its exact type (a tuple
stays a tuple, an int key an int) and a tensor its dtype and ``requires_grad``.

Loading reads the archive with ``numpy.load(allow_pickle=False)`` and parses JSON: nothing in
the file is ever executed, so a file from an untrusted source cannot run code. A pickle file
(for instance from ``torch.save``) or an ``.npz`` whose members are object arrays is refused
with a clear error.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import Counter, OrderedDict
from typing import Any

from . import backend as B
from . import dtypes as D
from .size import Size
from .tensor import Tensor, check_device

xp = B.xp

__all__ = ["save", "load"]

_HEADER = "__minigrad__"
_FORMAT = "minigrad"
_VERSION = 1
_ARRAY_KINDS = "biufc"  # bool, ints, floats, complex: arrays numpy stores without pickle
_DICT_CLASSES = {dict: "dict", OrderedDict: "OrderedDict", Counter: "Counter"}
_DICT_BY_NAME = {v: k for k, v in _DICT_CLASSES.items()}
_SUPPORTED = ("Tensor, numpy array or scalar, None, bool, int, float, str, Size, dtype, and list / tuple / dict "
              "(str, int, float, bool, None or tuple keys) of these")


def _is_parameter(t: Tensor) -> bool:
    cls = type(t)
    return cls is not Tensor and cls.__name__ == "Parameter" and cls.__module__.startswith("minigrad.")


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {}
        self.memo: dict[int, dict] = {}
        self.keep: list = []  # keep memoised objects alive so ids stay unique while encoding

    def _array(self, arr) -> str:
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        return name

    def node(self, obj, where: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and type(obj) is int:
            return obj
        if isinstance(obj, float) and type(obj) is float:
            return obj
        if isinstance(obj, Tensor):
            key = id(obj)
            if key not in self.memo:
                arr = B.backend_of(obj._data).to_host(obj._data)  # (a CUDA tensor is written from a host copy)
                self._check_array(arr, where)
                self.memo[key] = {"tensor": self._array(arr), "dtype": str(arr.dtype),
                                  "requires_grad": bool(obj.requires_grad), "parameter": _is_parameter(obj)}
                if arr is not obj._data:
                    self.memo[key]["device"] = str(obj.device)
                self.keep.append(obj)
            return self.memo[key]
        if isinstance(obj, B.ndarray):
            key = id(obj)
            if key not in self.memo:
                self._check_array(obj, where)
                self.memo[key] = {"ndarray": self._array(obj)}
                self.keep.append(obj)
            return self.memo[key]
        if isinstance(obj, B.generic):
            self._check_array(xp.asarray(obj), where)
            return {"scalar": self._array(xp.asarray(obj))}
        if type(obj) is list:
            return {"list": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if type(obj) is tuple:
            return {"tuple": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        if type(obj) is Size:
            return {"size": list(obj)}
        if type(obj) is D.dtype:
            return {"dtype_object": str(obj).removeprefix("minigrad.")}
        if type(obj) in _DICT_CLASSES:
            items = []
            for k, v in obj.items():
                items.append([self.key(k, where), self.node(v, f"{where}[{k!r}]")])
            return {"dict": items, "cls": _DICT_CLASSES[type(obj)]}
        hint = " - save its state_dict() instead" if callable(getattr(obj, "state_dict", None)) else ""
        raise TypeError(f"minigrad.save: can't save {type(obj).__module__}.{type(obj).__qualname__} at {where}"
                        f"{hint} (supported: {_SUPPORTED})")

    def key(self, k, where: str):
        if k is None or type(k) in (str, int, float, bool):
            return k
        if type(k) is tuple:
            return {"tuple": [self.key(v, where) for v in k]}
        raise TypeError(f"minigrad.save: dict key {k!r} of type {type(k).__name__} at {where} is not supported "
                        "(keys may be str, int, float, bool, None or tuples of these)")

    @staticmethod
    def _check_array(arr, where: str) -> None:
        if arr.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"minigrad.save: can't save an array of dtype {arr.dtype} at {where} "
                            "(only bool, integer, floating and complex arrays can be saved without pickle)")


def save(obj: Any, f, pickle_module=None, pickle_protocol: int | None = None, **kwargs) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, None, and lists/tuples/dicts of these) to ``f``.

    ``f`` is a path (the file is written exactly there, whatever its suffix) or a writable binary
    file object. ``pickle_module`` must be None: minigrad never pickles.
    """
    if pickle_module is not None:
        raise TypeError("minigrad.save never pickles: pickle_module is not supported")
    unknown = set(kwargs) - {"_use_new_zipfile_serialization", "_disable_byteorder_record"}
    if unknown:
        raise TypeError(f"save() got unexpected keyword arguments {sorted(unknown)}")
    enc = _Encoder()
    root = enc.node(obj, "obj")
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root}, allow_nan=True)
    members = {_HEADER: xp.array(header)}
    members.update(enc.arrays)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "wb") as fh:  # a file object, so numpy does not append ".npz" to the name
            xp.savez(fh, **members)
    else:
        xp.savez(f, **members)


class _Decoder:
    def __init__(self, npz, source: str, map_location=None) -> None:
        self.npz = npz
        self.source = source
        self.memo: dict[str, Any] = {}
        self.map_location = map_location

    def device(self, saved: str):
        """Where a tensor saved on ``saved`` (``'cpu'``, ``'cuda:0'``) is loaded: PyTorch's
        ``map_location`` rules (a device for all, a {saved: target} dict, else where it was)."""
        m = self.map_location
        if m is None or callable(m):
            return saved
        if isinstance(m, dict):
            return m.get(saved, saved)
        return m

    def bad(self, msg: str) -> RuntimeError:
        return RuntimeError(f"minigrad.load: {self.source} is not a valid minigrad file: {msg}")

    def array(self, name):
        if not isinstance(name, str) or name not in self.npz.files or name == _HEADER:
            raise self.bad(f"the structure refers to a missing array member {name!r}")
        try:
            arr = self.npz[name]
        except ValueError as e:  # object arrays: numpy refuses to unpickle them with allow_pickle=False
            raise RuntimeError(f"minigrad.load: refusing to read array member {name!r} of {self.source}: {e} "
                               "(minigrad.load never unpickles, so files from untrusted sources cannot run code)"
                               ) from None
        if not isinstance(arr, B.ndarray):  # numpy hands back raw bytes for a member that is not .npy
            raise self.bad(f"array member {name!r} is not a .npy array")
        if arr.dtype.kind not in _ARRAY_KINDS:
            raise self.bad(f"array member {name!r} has unsupported dtype {arr.dtype}")
        return arr

    def node(self, n):
        if n is None or isinstance(n, (bool, int, float, str)):
            return n
        if not isinstance(n, dict):
            raise self.bad(f"unexpected structure element {type(n).__name__}")
        if "list" in n:
            return [self.node(v) for v in self._seq(n["list"])]
        if "tuple" in n:
            return tuple(self.node(v) for v in self._seq(n["tuple"]))
        if "size" in n:
            sizes = self._seq(n["size"])
            if not all(type(v) is int and v >= 0 for v in sizes):
                raise self.bad(f"a Size holds something other than non-negative ints: {sizes!r}")
            return Size(sizes)
        if "dtype_object" in n:
            if n["dtype_object"] not in D._BY_NAME:
                raise self.bad(f"unknown dtype {n['dtype_object']!r}")
            return D._BY_NAME[n["dtype_object"]]
        if "dict" in n:
            cls = _DICT_BY_NAME.get(n.get("cls", "dict"))
            if cls is None:
                raise self.bad(f"unknown dict class {n.get('cls')!r}")
            out = cls()
            for item in self._seq(n["dict"]):
                if not isinstance(item, list) or len(item) != 2:
                    raise self.bad("a dict entry is not a [key, value] pair")
                key = self.key(item[0])
                out[key] = self.node(item[1])
            return out
        if "tensor" in n:
            name = n["tensor"]
            if name in self.memo:
                return self.memo[name]
            arr = self.array(name)
            if str(arr.dtype) != n.get("dtype"):
                raise self.bad(f"tensor {name!r} is stored as {arr.dtype} but recorded as {n.get('dtype')!r}")
            rg = bool(n.get("requires_grad", False))
            if rg and arr.dtype.kind != "f":
                raise self.bad(f"tensor {name!r} of dtype {arr.dtype} is marked requires_grad")
            saved = n.get("device", "cpu")
            if not isinstance(saved, str):
                raise self.bad(f"tensor {name!r} records a device that is not a string: {saved!r}")
            target = self.device(saved)
            if target != "cpu":
                arr = B.to_backend(arr, check_device(target))
            if n.get("parameter"):
                from .nn import Parameter

                t = Parameter(Tensor._make(arr, False, None), requires_grad=rg)
            else:
                t = Tensor._make(arr, False, None)
                if rg:
                    t.requires_grad_(True)
            self.memo[name] = t
            return t
        if "ndarray" in n:
            name = n["ndarray"]
            if name not in self.memo:
                self.memo[name] = self.array(name)
            return self.memo[name]
        if "scalar" in n:
            arr = self.array(n["scalar"])
            if arr.ndim != 0:
                raise self.bad(f"scalar member {n['scalar']!r} has shape {arr.shape}")
            return arr[()]
        raise self.bad(f"unknown structure tag(s) {sorted(n)}")

    def key(self, k):
        if k is None or isinstance(k, (bool, int, float, str)):
            return k
        if isinstance(k, dict) and set(k) == {"tuple"}:
            return tuple(self.key(v) for v in self._seq(k["tuple"]))
        raise self.bad(f"unsupported dict key {k!r}")

    def _seq(self, v) -> list:
        if not isinstance(v, list):
            raise self.bad(f"expected a JSON list, got {type(v).__name__}")
        return v


def _describe(f) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, bytes, os.PathLike)) else f"file object {f!r}"


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args) -> Any:
    """Read an object written by ``minigrad.save`` from a path or a readable binary file object.

    Never unpickles: a pickle file, an archive with object arrays, or a truncated / tampered
    file raises ``RuntimeError`` and runs nothing. Tensors saved from a GPU load back there unless
    ``map_location`` (a device for all, or a ``{saved: target}`` dict of device strings) says
    otherwise (a callable is accepted and ignored);
    ``weights_only`` is accepted for PyTorch compatibility (loading is always weights-only safe).
    """
    if pickle_module is not None:
        raise TypeError("minigrad.load never unpickles: pickle_module is not supported")
    if pickle_load_args:  # PyTorch hands these to pickle; minigrad never unpickles, so none can apply
        raise TypeError(f"load() got unexpected keyword arguments {sorted(pickle_load_args)} "
                        "(minigrad.load never unpickles, so pickle's load arguments do not apply)")
    if map_location is not None and not callable(map_location) and not isinstance(map_location, dict):
        check_device(map_location)
    source = _describe(f)
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    if isinstance(data, str):
        raise TypeError("minigrad.load: the file object must be opened in binary mode ('rb')")
    if not data.startswith(b"PK"):
        if data[:1] == b"\x80" or data[:1] in (b"(", b"]", b"}", b"c"):
            raise RuntimeError(
                f"minigrad.load: {source} looks like a pickle (for example from torch.save or pickle.dump), "
                "not a minigrad file. minigrad.load never unpickles, so files from untrusted sources cannot run "
                "code; convert the data with numpy / minigrad.save instead."
            )
        raise RuntimeError(f"minigrad.load: {source} is not a minigrad file (not an .npz zip archive; "
                           f"first bytes {data[:8]!r})")
    try:
        npz = xp.load(io.BytesIO(data), allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise RuntimeError(f"minigrad.load: {source} is truncated or corrupt ({type(e).__name__}: {e})") from None
    if not hasattr(npz, "files"):  # a bare .npy array
        raise RuntimeError(f"minigrad.load: {source} is a plain .npy array, not a minigrad file")
    with npz:
        if _HEADER not in npz.files:
            if any(name.endswith(".pkl") or name.endswith("data.pkl.npy") for name in npz.zip.namelist()):
                raise RuntimeError(
                    f"minigrad.load: {source} looks like a PyTorch checkpoint (torch.save writes a zip holding a "
                    "pickle). minigrad.load never unpickles, so files from untrusted sources cannot run code; "
                    "in PyTorch, convert the tensors to numpy arrays and write them with numpy.savez, or load "
                    "them into minigrad and use minigrad.save."
                )
            raise RuntimeError(f"minigrad.load: {source} is an .npz archive but not a minigrad file "
                               f"(no {_HEADER!r} member; members: {npz.files[:5]})")
        dec = _Decoder(npz, source, map_location)
        try:
            header_arr = dec.npz[_HEADER]
            if not isinstance(header_arr, B.ndarray) or header_arr.dtype.kind != "U" or header_arr.ndim != 0:
                raise dec.bad("the structure member is not a JSON string")
            header = json.loads(str(header_arr))
            if not isinstance(header, dict) or header.get("format") != _FORMAT:
                raise dec.bad("the structure does not name the minigrad format")
            if header.get("version") != _VERSION:
                raise dec.bad(f"unsupported format version {header.get('version')!r} (this minigrad reads "
                              f"version {_VERSION})")
            return dec.node(header.get("root"))
        except RuntimeError:
            raise
        except json.JSONDecodeError as e:
            raise dec.bad(f"the structure is not valid JSON ({e})") from None
        except RecursionError:
            raise dec.bad("the structure is nested too deeply") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
            raise RuntimeError(f"minigrad.load: {source} is truncated or corrupt ({type(e).__name__}: {e})"
                               ) from None


# PyTorch's allow-list for its weights-only unpickler. minigrad.load never unpickles, so no
# global is ever needed to load a file; programs that register theirs still run, and can read
# back what they registered.
_safe_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Register globals as safe for weights-only loading (as ``torch.serialization.add_safe_globals``).

    Accepted so PyTorch programs run unchanged: ``load`` never unpickles, so it needs none of them.
    """
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"add_safe_globals: expected a list of globals, got {type(safe_globals).__name__}")
    _safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    """The globals registered with ``add_safe_globals`` (a copy)."""
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Forget every global registered with ``add_safe_globals``."""
    _safe_globals.clear()


class safe_globals:  # PyTorch's name
    """Context manager registering globals as safe within its block (as ``torch.serialization.safe_globals``)."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        self._before = get_safe_globals()
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc) -> None:
        _safe_globals[:] = self._before
