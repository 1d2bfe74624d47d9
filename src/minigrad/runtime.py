"""Process-level tuning, in one place: each piece is documented here and can be switched off.
These change the whole process, not only minigrad's arrays, which is why they live apart from the
backend (which only says how to compute on an array library).

- **MINIGRAD_NUM_THREADS**, the one environment knob for threads: ``n`` (1 or more) is the
  number of threads minigrad's kernels compute with, BLAS's (set at import) and the
  convolution pool's (below) alike; ``0`` leaves both to the environment (BLAS as numpy loaded
  it, the pool as the CPUs allow). Anything else raises at import, naming the variable.
- **BLAS threads**: ``set_num_threads`` / ``get_num_threads`` (below); one thread unless the
  environment says otherwise, set when minigrad is imported (``minigrad/__init__.py`` calls
  ``_apply_default``).
- **malloc** (glibc only): freed memory at the top of the heap is kept for the next training
  step, and very large arrays get their own mapping (``keep_freed_heap``, applied at import;
  ``MINIGRAD_MALLOC_TUNING=0`` leaves glibc's defaults).
- **garbage collector**: Python's cyclic collector runs less often (``fewer_gc_passes``, applied
  at import; ``MINIGRAD_GC_TUNING=0`` leaves Python's thresholds).
- **a thread pool** for the convolution kernels, which split their batch over a few threads
  (``split_batch``; as many as ``MINIGRAD_NUM_THREADS`` says, so ``1`` turns it off).

BLAS threads, in detail:

Process-level tuning: how many threads the array library's BLAS uses.

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
import gc
import os
import sys

import numpy

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


def _own_threads() -> int | None:
    """``MINIGRAD_NUM_THREADS``: the threads minigrad's kernels compute with (BLAS and the
    convolution pool alike), or None when it is unset or ``0`` (the environment decides)."""
    own = os.environ.get("MINIGRAD_NUM_THREADS", "").strip()
    if not own:
        return None
    if not own.isdigit():
        raise ValueError("MINIGRAD_NUM_THREADS must be a non-negative integer: the threads minigrad computes "
                         f"with (0: as the environment says), got {own!r}")
    return int(own) or None


def _default_threads() -> int | None:
    """The number of BLAS threads to set at import, or None to leave BLAS alone."""
    if os.environ.get("MINIGRAD_NUM_THREADS", "").strip():
        return _own_threads()  # (0: None, BLAS left alone)
    if any(os.environ.get(v, "").strip() for v in _ENV_VARS):
        return None  # the program (or its launcher) chose already; BLAS read it at load
    return _DEFAULT_THREADS


def _apply_default() -> None:
    n = _default_threads()
    if n is not None:
        set_num_threads(n)


# -- malloc ----------------------------------------------------------------------------------

# glibc malloc settings made at import (see keep_freed_heap); benchmarks/runner.py repeats them.
HEAP_KEEP = 128 << 20  # M_TRIM_THRESHOLD: freed memory at the heap's top kept for reuse, bytes
OWN_MAP_FROM = 16 << 20  # M_MMAP_THRESHOLD: allocations this big get their own mapping, bytes


def keep_freed_heap(keep: int = HEAP_KEEP, own_map_from: int = OWN_MAP_FROM) -> None:
    """Ask glibc's malloc to keep up to ``keep`` bytes of freed memory at the top of its heap,
    and to map allocations of ``own_map_from`` bytes or more on their own.

    Training allocates and frees the same large arrays every step (im2col columns,
    activations, gradients). By default glibc hands the top of its heap back to the OS
    as soon as it is free, so the next step faults every page in again, zero-filled by
    the kernel: about 40% of a small CNN's training step. Kept, memory freed by one step
    is reused by the next. Arrays of 16 MiB and more get their own mapping, returned to the
    OS when freed: a one-off big temporary (say float64 data before a cast to float32) then
    leaves no hole in the heap that the next arrays cannot fill (seen: +15 MiB of peak
    memory on 4M-element float32 work). Only glibc has ``mallopt``; elsewhere, or with
    ``MINIGRAD_MALLOC_TUNING=0``, nothing changes.
    """
    if os.environ.get("MINIGRAD_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return
    M_TRIM_THRESHOLD = -1
    M_MMAP_THRESHOLD = -3
    # Setting either turns off glibc's adaptive thresholds (which start by mapping every
    # array over 128 KiB afresh, zero-filled page faults on each step).
    mallopt(M_TRIM_THRESHOLD, int(keep))
    mallopt(M_MMAP_THRESHOLD, int(own_map_from))


# -- garbage collector -----------------------------------------------------------------------

def fewer_gc_passes(threshold0: int = 10_000) -> None:
    """Run Python's cyclic garbage collector less often, unless the program chose its own
    thresholds.

    Every recorded op leaves a few container objects (its Node, output Tensor, weak reference
    and tuples) that live until backward; with the default first-generation threshold (700
    allocations) the collector runs every hundred or so ops and its older generations rescan
    the whole graph held so far: about 40% of a 20,000-op chain's forward pass (graphs are freed
    by reference counting, so the collector finds nothing there). A threshold of 10,000 keeps
    its cost small. ``MINIGRAD_GC_TUNING=0`` leaves Python's settings alone. (The backward walk
    also pauses the collector while it runs: see ``autograd/engine.py``.)
    """
    if os.environ.get("MINIGRAD_GC_TUNING", "1") == "0" or gc.get_threshold() != (700, 10, 10):
        return
    gc.set_threshold(threshold0, 10, 10)


# -- thread pool for the convolution kernels ---------------------------------------------------
# numpy's copies, ufuncs and BLAS calls release the GIL, so the big convolution kernels run their
# batch in a few chunks on a small thread pool (as PyTorch's intra-op threads do). The count
# is MINIGRAD_NUM_THREADS (the same knob as BLAS's, same meaning), else OMP/OPENBLAS/MKL_NUM_THREADS,
# else the CPUs this process may use, at most 8; small work stays on the calling thread.

_NUM_THREADS = None
_POOL = None
_MIN_WORK = 1 << 17  # elements of work that pay for handing a chunk to another thread


def _num_threads() -> int:
    global _NUM_THREADS
    if _NUM_THREADS is None:
        n = _own_threads()
        if n is None:
            for var in _ENV_VARS:
                v = os.environ.get(var, "")
                if v.isdigit() and int(v) > 0:
                    n = int(v)
                    break
        if n is None:
            try:
                n = len(os.sched_getaffinity(0))
            except AttributeError:  # pragma: no cover - not Linux
                n = os.cpu_count() or 1
        _NUM_THREADS = max(1, min(n, 8))
    return _NUM_THREADS


def _quiet(part, lo, hi):
    with numpy.errstate(all="ignore"):  # as the op's own thread (PyTorch returns inf/nan silently)
        return part(lo, hi)


def split_batch(part, n: int, work: int) -> list:
    """``[part(lo, hi), ...]`` over chunks of ``range(n)``, the first chunk on this thread;
    one chunk only when ``work`` (elements) is too small to pay for handing work over."""
    global _POOL
    k = min(_num_threads(), n, max(1, work // _MIN_WORK))
    if k <= 1:
        return [part(0, n)]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_num_threads() - 1, thread_name_prefix="minigrad-conv")
    step = -(-n // k)
    bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
    futures = [_POOL.submit(_quiet, part, lo, hi) for lo, hi in bounds[1:]]
    results = [part(*bounds[0])]
    return results + [f.result() for f in futures]


# -- applied at import -------------------------------------------------------------------------

keep_freed_heap()
fewer_gc_passes()
