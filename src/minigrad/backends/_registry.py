"""Which array backend serves which arrays and which device: looked up per call.

Every array class minigrad holds maps to its backend (``BY_CLASS``) and to its array module
(``XP``), so an op picks numpy or cupy from its inputs with one dict lookup, as Chainer's
``get_array_module`` (DESIGN rule 8); tensors on different devices coexist in one process.
A device type maps to the backend making its arrays (``for_device``): numpy for ``'cpu'``,
cupy for ``'cuda'``, imported on first use so ``import minigrad`` never imports cupy.
"""

from __future__ import annotations

from ._base import ArrayBackend, device_unavailable

__all__ = ["BY_CLASS", "XP", "backend_of", "for_device", "register", "set_device_backend"]


# Plain dicts (a dict subclass would lose CPython's fast subscript); numpy's scalar types are
# entered by the numpy backend.
BY_CLASS: dict = {}  # array class -> ArrayBackend
XP: dict = {}  # array class -> its array module (numpy, cupy): ``XP[a.__class__]``
_BY_DEVICE: dict = {}  # device type -> ArrayBackend
_ON_LOAD: list = []  # callbacks told when a backend other than numpy's is first registered


def on_device_backend(callback) -> None:
    """Call ``callback(backend)`` when a device backend (not numpy's) is registered (now, if one is)."""
    _ON_LOAD.append(callback)
    for bk in _BY_DEVICE.values():
        callback(bk)


def register(backend: ArrayBackend) -> None:
    """Make ``backend`` serve its array class."""
    BY_CLASS[backend.ndarray] = backend
    XP[backend.ndarray] = backend.xp


def backend_of(a) -> ArrayBackend:
    """The backend of the array ``a`` (TypeError for something that is not an array)."""
    try:
        return BY_CLASS[a.__class__]
    except KeyError:
        raise TypeError(f"expected an array, got {type(a).__name__!r}") from None


def set_device_backend(device_type: str, backend: ArrayBackend | None) -> None:
    """Let ``backend`` make ``device_type``'s arrays (None: back to the default, loaded lazily).
    The test suite installs its CuPy-shaped stand-in as ``'cuda'`` this way."""
    old = _BY_DEVICE.pop(device_type, None)
    if old is not None and old.device_type != "cpu":
        BY_CLASS.pop(old.ndarray, None)
        XP.pop(old.ndarray, None)
    if backend is not None:
        _BY_DEVICE[device_type] = backend
        register(backend)
        for callback in _ON_LOAD:
            callback(backend)


def for_device(device_type: str) -> ArrayBackend:
    """The backend making ``device_type``'s arrays; cupy is imported here, on first use.

    Raises ``DeviceUnavailableError`` when the device cannot be used.
    """
    try:
        return _BY_DEVICE[device_type]
    except KeyError:
        pass
    if device_type == "cuda":
        from . import _cupy

        set_device_backend("cuda", _cupy.load())
        return _BY_DEVICE["cuda"]
    raise device_unavailable(f"placing a tensor on {device_type!r}", device_type)


def loaded(device_type: str) -> ArrayBackend | None:
    """The backend of ``device_type`` if it is loaded already (never imports anything)."""
    return _BY_DEVICE.get(device_type)
