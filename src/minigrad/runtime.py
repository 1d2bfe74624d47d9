"""Process-level tuning: how many threads the array library's BLAS uses.

``set_num_threads(n)`` / ``get_num_threads()`` are PyTorch's names. minigrad's big kernels
(matmul, the convolutions' im2col products) run in numpy's BLAS, which by default starts one
worker thread per core. The matrices of a learner's models are small: waking those threads on
every matmul costs more than it saves, and on a busy machine a matmul waits for every one of
them. So at import minigrad asks BLAS for **one thread** (measured: README's "Threads" section),
unless the program already chose (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS`` set) or ``MINIGRAD_NUM_THREADS`` says otherwise (a number, or ``0`` to leave
numpy's own setting alone). The setting is the whole process's: numpy code outside minigrad
gets the same number of BLAS threads.

How: through ``threadpoolctl`` when it is installed (the optional extra ``minigrad[threads]``;
it knows OpenBLAS, MKL and BLIS on every platform); else through OpenBLAS's own C setter,
found in the libraries this process loaded (numpy's Linux wheels bundle OpenBLAS), so the core
keeps numpy as its only dependency. Where neither reaches the BLAS (say, Apple's Accelerate),
the calls change nothing and ``get_num_threads`` reports the last number asked for.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["set_num_threads", "get_num_threads"]

_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_DEFAULT_THREADS = 1
_requested: list = [None]  # the last number asked for (what get_num_threads reports when BLAS can't say)


def _openblas_functions() -> list:
    """[(set_num_threads, get_num_threads)] of the OpenBLAS libraries loaded in this process
    (Linux: read from /proc/self/maps; elsewhere, none)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        # numpy's wheels build OpenBLAS with a prefixed, 64-bit-integer interface.
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    getter.restype = ctypes.c_int
                    found.append((setter, getter))
                    break
            else:
                continue
            break
    return found


def _threadpoolctl():
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None
    return threadpool_info, threadpool_limits


def set_num_threads(n: int) -> None:
    """Set the number of threads numpy's BLAS uses for matmul and convolution (whole process).

    As ``torch.set_num_threads``. minigrad starts with 1 (see the module's documentation
    for why and how to change the default); more threads pay off only for large matrices
    on an otherwise idle machine.

    Args:
        n: the number of threads, at least 1.

    Examples:
        >>> import minigrad
        >>> minigrad.set_num_threads(2)
        >>> minigrad.get_num_threads()
        2
        >>> minigrad.set_num_threads(1)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer number of threads, got {n!r}")
    _requested[0] = n
    tp = _threadpoolctl()
    if tp is not None:
        tp[1](limits=n, user_api="blas")  # applied at once; the returned object is not needed
        return
    for setter, _ in _openblas_functions():
        setter(ctypes.c_int(n))


def get_num_threads() -> int:
    """The number of threads numpy's BLAS uses (the largest, if several BLAS are loaded).

    As ``torch.get_num_threads``.

    Returns:
        int: the thread count BLAS reports, or the last one set when it cannot be asked.

    Examples:
        >>> import minigrad
        >>> minigrad.get_num_threads() >= 1
        True
    """
    tp = _threadpoolctl()
    if tp is not None:
        counts = [i["num_threads"] for i in tp[0]() if i.get("user_api") == "blas"]
        if counts:
            return max(counts)
    else:
        counts = [getter() for _, getter in _openblas_functions()]
        if counts:
            return max(counts)
    if _requested[0] is not None:
        return _requested[0]
    return os.cpu_count() or 1


def _default_threads() -> int | None:
    """The number of BLAS threads to set at import, or None to leave BLAS alone."""
    own = os.environ.get("MINIGRAD_NUM_THREADS", "").strip()
    if own:
        if not own.isdigit():
            raise ValueError(f"MINIGRAD_NUM_THREADS must be a non-negative integer (0: leave BLAS alone), got {own!r}")
        return int(own) or None
    if any(os.environ.get(v, "").strip() for v in _ENV_VARS):
        return None  # the program (or its launcher) chose already; BLAS read it at load
    return _DEFAULT_THREADS


def _apply_default() -> None:
    n = _default_threads()
    if n is not None:
        set_num_threads(n)
