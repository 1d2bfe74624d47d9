"""The array-backend base class and the device error: the floor of ``minigrad.backends``."""

from __future__ import annotations

__all__ = ["ArrayBackend", "DeviceUnavailableError", "device_unavailable"]


class DeviceUnavailableError(RuntimeError, AssertionError):
    """Raised where a program asks for a device minigrad cannot use.

    PyTorch raises ``AssertionError("Torch not compiled with CUDA enabled")`` in its CPU build
    and ``RuntimeError`` in a CUDA build on a machine without a GPU; this is both, so a
    program's ``except`` written for either catches it.
    """


def device_unavailable(what: str, kind: str = "cuda") -> DeviceUnavailableError:
    """The error for ``what`` (an op or call) needing the unavailable device type ``kind``."""
    if kind == "cuda":
        why = ("CUDA is not available (device='cuda' needs CuPy and an NVIDIA GPU; "
               "minigrad.cuda.is_available() is False)")
    else:
        why = f"device type {kind!r} is not available: minigrad runs on 'cpu' and 'cuda'"
    return DeviceUnavailableError(f"{what}: {why}; use device='cpu'")


class ArrayBackend:
    """One array library: its ``xp`` module, its array class and the helpers that differ.

    Attributes: ``name``, ``device_type`` (``'cpu'``/``'cuda'``), ``xp``, ``ndarray`` (its
    array class), ``has_read_only`` (whether arrays carry a writeable flag), ``frompyfunc``
    (None where the library has none). Methods: ``scalar_array``, ``surely_finite``,
    ``broadcast_to``, ``as_strided``, ``where``, ``may_share_memory``, ``errstate``,
    ``read_only``, ``is_read_only``, ``to_host``, ``from_host``, ``erf``, ``check_indices``,
    ``synchronize`` (see the numpy backend for what each does).
    """

    name = ""
    device_type = ""
    xp = None
    ndarray = None
    has_read_only = False
    frompyfunc = None

    def __repr__(self) -> str:
        return f"<array backend {self.name} ({self.device_type})>"
