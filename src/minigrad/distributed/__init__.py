"""Collective communication between processes over MPI, as ``torch.distributed``.

One process per rank, started by ``mpiexec -n N python train.py`` or by
``python -m minigrad.distributed.run --nproc-per-node N train.py``. Each calls
``init_process_group()`` (backend ``"mpi"``, the only one) and then the collectives below,
all with PyTorch's names and semantics: they work in place on the tensors given, every rank
calls them in the same order, and ``async_op=True`` returns a ``Work`` to ``wait()`` on.

The messages are numpy buffers handed to MPI through mpi4py's buffer interface (no pickling);
a non-contiguous tensor is copied into a contiguous buffer and the result copied back.
mpi4py is imported on first use (``pip install "minigrad[distributed]"`` brings it and the
MPICH library). After ``init_process_group``, an exception that no one catches on any rank
prints its traceback and aborts the whole job, so no other rank waits forever in a collective.
"""

from __future__ import annotations

import enum
import importlib.util
import sys
import time
from typing import Callable

from .. import backend as B
from ..tensor import Tensor

__all__ = [
    "ReduceOp", "Work", "is_available", "is_mpi_available", "is_initialized", "init_process_group",
    "destroy_process_group", "get_rank", "get_world_size", "get_backend", "all_reduce", "broadcast",
    "reduce", "all_gather", "barrier",
]

xp = B.xp
_INSTALL_HINT = (
    "minigrad.distributed needs mpi4py and an MPI library: pip install \"minigrad[distributed]\" "
    "(mpi4py and the MPICH wheel), or, on a cluster, mpi4py built against the system's MPI"
)


class ReduceOp(enum.Enum):
    """How ``all_reduce`` and ``reduce`` combine the ranks' tensors (``AVG``: the sum over the world size)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


_MPI = None  # the mpi4py.MPI module, imported on first use
_comm = None  # MPI.COMM_WORLD while the default process group is initialized


def _mpi():
    """mpi4py's MPI module (importing it initializes MPI in this process)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
        _MPI = MPI
    return _MPI


def is_available() -> bool:
    """True when the communication layer (mpi4py) can be imported."""
    return importlib.util.find_spec("mpi4py") is not None


is_mpi_available = is_available


def is_initialized() -> bool:
    """True between ``init_process_group()`` and ``destroy_process_group()``."""
    return _comm is not None


def _world():
    if _comm is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _comm


def _check_group(group, name: str) -> None:
    if group is not None:
        raise NotImplementedError(f"{name}: only the default group (group=None, every rank) is supported")


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the default process group: every process that ``mpiexec`` started.

    ``backend`` is ``"mpi"`` (or None). Rank and world size come from MPI; ``world_size`` and
    ``rank``, when given, must agree with it. The other arguments (rendezvous settings of
    PyTorch's other backends) are accepted and unused, so PyTorch scripts run unchanged.
    """
    global _comm
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: minigrad.distributed has only the 'mpi' backend, got "
                         f"backend={backend!r} (launch with mpiexec or python -m minigrad.distributed.run)")
    if _comm is not None:
        raise ValueError("trying to initialize the default process group twice!")
    comm = _mpi().COMM_WORLD
    for given, actual, what in ((world_size, comm.Get_size(), "world_size"), (rank, comm.Get_rank(), "rank")):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {what}={given} but MPI started this process with "
                             f"{what}={actual}")
    _install_abort_on_exception()
    _comm = comm


def destroy_process_group(group=None) -> None:
    """Leave the default process group (MPI itself is finalized when the process exits)."""
    global _comm
    _check_group(group, "destroy_process_group")
    _comm = None


def get_rank(group=None) -> int:
    """This process's rank, 0 .. world size - 1."""
    _check_group(group, "get_rank")
    return _world().Get_rank()


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    _check_group(group, "get_world_size")
    return _world().Get_size()


def get_backend(group=None) -> str:
    """``"mpi"``."""
    _check_group(group, "get_backend")
    _world()
    return "mpi"


def _install_abort_on_exception() -> None:
    """Make an uncaught exception print its traceback and then abort every rank (MPI_Abort),
    instead of this rank exiting while the others wait for it in a collective."""
    previous = sys.excepthook
    if getattr(previous, "_minigrad_aborts", False):
        return

    def excepthook(exc_type, exc, tb):
        previous(exc_type, exc, tb)
        sys.stdout.flush()
        sys.stderr.flush()
        if _MPI is not None and _MPI.COMM_WORLD.Get_size() > 1:
            # Abort kills every rank at once; give mpiexec's forwarder a moment to relay the traceback
            # this rank just wrote (on a busy machine it was cut after its first line).
            time.sleep(1.0)
            _MPI.COMM_WORLD.Abort(1)

    excepthook._minigrad_aborts = True
    sys.excepthook = excepthook


# -- collectives -------------------------------------------------------------------------------
class Work:
    """A collective in flight (``async_op=True``): ``wait()`` completes it and leaves the result in
    the tensors; ``is_completed()`` asks without waiting."""

    def __init__(self, request, finish: Callable[[], None] | None = None) -> None:
        self._request = request
        self._finish = finish
        self._done = False

    def is_completed(self) -> bool:
        """True once the collective has finished (then its result is in the tensors)."""
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Block until the collective has finished and its result is in the tensors."""
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


def _run(request, finish: Callable[[], None] | None, async_op: bool):
    work = Work(request, finish)
    if async_op:
        return work
    work.wait()
    return None


def _buffer(tensor, name: str, writes: bool = True):
    """(contiguous array to hand to MPI, the tensor's own array to copy the result back into, or None)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(tensor).__name__}")
    a = tensor._data
    if a.__class__ is not B.ndarray:
        raise RuntimeError(f"{name}: tensors on {tensor.device} are not supported by the mpi backend (CPU only)")
    if writes and not a.flags.writeable:
        raise RuntimeError(f"{name}: the tensor's memory is read-only, so the result cannot be written into it")
    try:
        _mpi_type(a.dtype)
    except (KeyError, ValueError) as exc:
        raise TypeError(f"{name}: MPI has no datatype for {tensor.dtype}") from exc
    if a.flags.c_contiguous:
        return a, None
    return xp.ascontiguousarray(a), a


def _mpi_type(dtype):
    from mpi4py.util.dtlib import from_numpy_dtype

    return from_numpy_dtype(dtype)


def _written(tensor, buf, target) -> None:
    """The collective wrote ``buf``: copy it into a non-contiguous tensor and count the change."""
    if target is not None:
        target[...] = buf
    tensor._bump()


_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
            ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}


def _mpi_op(op, tensor, name: str):
    """The MPI reduction for ``op`` on ``tensor``'s dtype (a clear error where it has no meaning)."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}: op must be a ReduceOp, got {op!r}")
    kind = tensor._data.dtype.kind
    if kind == "b":
        raise TypeError(f"{name}: cannot reduce a bool tensor with {op}; convert it to an integer dtype first")
    if op is ReduceOp.AVG and kind != "f":
        raise TypeError(f"{name}: ReduceOp.AVG needs a floating-point tensor, got {tensor.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iu":
        raise TypeError(f"{name}: {op} needs an integer tensor, got {tensor.dtype}")
    return getattr(_mpi(), _MPI_OPS[op])


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` across all ranks with ``op``, in place: every rank ends with the result."""
    _check_group(group, "all_reduce")
    comm = _world()
    mpi_op = _mpi_op(op, tensor, "all_reduce")
    buf, target = _buffer(tensor, "all_reduce")
    request = comm.Iallreduce(_MPI.IN_PLACE, buf, op=mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            xp.divide(buf, comm.Get_size(), out=buf)
        _written(tensor, buf, target)

    return _run(request, finish, async_op)


def _check_rank(value, name: str, what: str) -> int:
    size = _world().Get_size()
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
        raise ValueError(f"{name}: {what}={value!r} is not a rank of this group (0 .. {size - 1})")
    return value


def broadcast(tensor: Tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    _check_group(group, "broadcast")
    src = _check_rank(src if group_src is None else group_src, "broadcast", "src")
    comm = _world()
    buf, target = _buffer(tensor, "broadcast", writes=comm.Get_rank() != src)
    request = comm.Ibcast(buf, root=src)
    return _run(request, lambda: _written(tensor, buf, target) if comm.Get_rank() != src else None, async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: int | None = None):
    """Combine ``tensor`` across all ranks with ``op`` into rank ``dst``'s ``tensor`` (the others keep theirs)."""
    _check_group(group, "reduce")
    dst = _check_rank(dst if group_dst is None else group_dst, "reduce", "dst")
    comm = _world()
    mpi_op = _mpi_op(op, tensor, "reduce")
    root = comm.Get_rank() == dst
    buf, target = _buffer(tensor, "reduce", writes=root)
    if root:
        request = comm.Ireduce(_MPI.IN_PLACE, buf, op=mpi_op, root=dst)
    else:
        request = comm.Ireduce(buf, None, op=mpi_op, root=dst)

    def finish():
        if root:
            if op is ReduceOp.AVG:
                xp.divide(buf, comm.Get_size(), out=buf)
            _written(tensor, buf, target)

    return _run(request, finish, async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` (one tensor per rank, each of ``tensor``'s shape and dtype) with rank r's ``tensor``."""
    _check_group(group, "all_gather")
    comm = _world()
    size = comm.Get_size()
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list must hold one tensor per rank ({size}), got "
                         f"{len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__}")
    send, _ = _buffer(tensor, "all_gather", writes=False)
    for i, t in enumerate(tensor_list):
        _buffer(t, "all_gather")
        if t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] is {tuple(t.shape)} {t.dtype}, but the input tensor "
                             f"is {tuple(tensor.shape)} {tensor.dtype}")
    received = xp.empty((size,) + send.shape, dtype=send.dtype)
    request = comm.Iallgather(send, received)

    def finish():
        for t, part in zip(tensor_list, received):
            t._data[...] = part
            t._bump()

    return _run(request, finish, async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank has reached this call."""
    _check_group(group, "barrier")
    return _run(_world().Ibarrier(), None, async_op)
