"""``DistributedDataParallel``: the same model on every rank, gradients averaged after backward.

How it works (PyTorch's design, on MPI):

- At construction rank 0's parameters and buffers are broadcast, so every rank starts from
  the same model whatever its seed.
- The parameters are grouped into *buckets* of about ``bucket_cap_mb`` (the first one smaller,
  1 MiB), in reverse registration order: backward produces the last layers' gradients first.
- Each parameter gets a post-accumulate-grad hook. When every gradient of a bucket has been
  stored, the bucket is packed into one flat array and its sum over ranks is started
  (a non-blocking all-reduce), buckets always in the same order on every rank. When the last
  bucket has started, all are waited for and each ``.grad`` becomes the average over ranks.
- ``no_sync()`` skips that for the backward passes of forwards run inside it, so gradients
  accumulate locally until a later synchronized backward averages the accumulated sum.

So after ``loss.backward()`` every rank holds the same averaged gradients and the optimizer
steps keep the replicas bit-identical.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Callable, Iterator

from ... import backend as B
from ... import distributed as dist
from ...autograd.graph import is_grad_enabled
from ..module import Module

xp = B.xp

_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch starts with a small bucket so communication starts early
_DEFAULT_BUCKET_CAP_MB = 25


class _Bucket:
    """Parameters whose gradients travel together in one flat array and one all-reduce."""

    def __init__(self, params: list, dtype) -> None:
        self.params = params
        self.dtype = dtype
        self.numel = sum(p._data.size for p in params)
        self.pending = len(params)  # gradients not yet stored in this backward
        self.flat = None  # the packed gradients while their all-reduce is in flight
        self.work = None

    def launch(self) -> None:
        flat = xp.empty(self.numel, dtype=self.dtype)
        offset = 0
        for p in self.params:
            n = p._data.size
            flat[offset:offset + n] = p.grad._data.reshape(-1)
            offset += n
        self.flat = flat
        self.work = dist.all_reduce(_as_tensor(flat), dist.ReduceOp.SUM, async_op=True)

    def finish(self, world_size: int) -> None:
        """Wait for the sum and write the average into each parameter's ``.grad`` (in place)."""
        self.work.wait()
        xp.divide(self.flat, world_size, out=self.flat)
        offset = 0
        for p in self.params:
            n = p._data.size
            g = p.grad
            averaged = self.flat[offset:offset + n].reshape(p._data.shape)
            if g._data.flags.writeable and not g.requires_grad:
                g._data[...] = averaged
                g._bump()
            else:
                p.grad = _as_tensor(averaged.copy())
            offset += n
        self.flat = self.work = None
        self.pending = len(self.params)


def _as_tensor(array):
    from ...tensor import Tensor

    return Tensor._make(array, False, None)


def _assign_buckets(params: list, caps: list[int]) -> list[_Bucket]:
    """Group ``params`` in order into buckets of one dtype each, closing a bucket once it holds
    ``caps[i]`` bytes (the last cap repeats); a parameter larger than the cap gets its own."""
    buckets, open_by_dtype = [], {}
    for p in params:
        dt = p._data.dtype
        group = open_by_dtype.setdefault(dt, [[], 0])
        group[0].append(p)
        group[1] += p._data.nbytes
        if group[1] >= caps[min(len(buckets), len(caps) - 1)]:
            buckets.append(_Bucket(group[0], dt))
            del open_by_dtype[dt]
    buckets.extend(_Bucket(group[0], dt) for dt, group in open_by_dtype.items())
    return buckets


def _hook_for(ddp) -> Callable:
    """The parameters' post-accumulate hook: calls ``ddp._grad_ready`` through a weak reference, so the
    parameters (kept by the model) do not keep the wrapper alive in a reference cycle."""
    ref = weakref.ref(ddp)

    def hook(param) -> None:
        owner = ref()
        if owner is not None:
            owner._grad_ready(param)

    return hook


class DistributedDataParallel(Module):
    """Data-parallel training of ``module``, one replica per rank, as ``torch.nn.parallel.DistributedDataParallel``.

    ``DistributedDataParallel(module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
    init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False, ...)``.
    Needs ``minigrad.distributed.init_process_group()`` first. Calling it runs ``module``'s
    forward; the backward of that forward leaves in every parameter's ``.grad`` the average over
    ranks of the ranks' gradients. Such a forward (grad mode on, outside ``no_sync()``) first copies
    rank 0's buffers to every rank, when ``broadcast_buffers``, so all ranks must run it; under
    ``no_grad`` the forward is the module's alone (one rank may evaluate by itself). ``.module`` is
    the wrapped model; the state dict's keys start with ``module.``. Every parameter that requires
    grad must receive a gradient in every synchronized backward (``find_unused_parameters=True`` is
    not supported). ``device_ids``, ``output_device``, ``dim``, ``check_reduction``,
    ``gradient_as_bucket_view`` and ``static_graph`` (device placement and performance hints in
    PyTorch) are accepted and change nothing here.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, mixed_precision=None, device_mesh=None) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError("DistributedDataParallel: the default process group has not been initialized, "
                             "please make sure to call minigrad.distributed.init_process_group() first")
        if process_group is not None or device_mesh is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process group is supported")
        if mixed_precision is not None:
            raise NotImplementedError("DistributedDataParallel: mixed_precision is not supported")
        if find_unused_parameters:
            raise NotImplementedError("DistributedDataParallel: find_unused_parameters=True is not supported; "
                                      "every parameter that requires grad must get a gradient in each backward")
        params = [p for p in module.parameters() if p.requires_grad]
        if len({id(p) for p in params}) != len(params):
            raise ValueError("DistributedDataParallel: a parameter is registered twice in the module")
        self.module = module
        self.device_ids = device_ids
        self.broadcast_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.require_backward_grad_sync = True
        self.bucket_cap_mb = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        if init_sync:
            self._broadcast(list(module.parameters()) + list(module.buffers()))
        caps = [_FIRST_BUCKET_BYTES, int(self.bucket_cap_mb * 1024 * 1024)]
        self._buckets = _assign_buckets(params[::-1], caps)
        self._bucket_of = {}
        for i, bucket in enumerate(self._buckets):
            for p in bucket.params:
                self._bucket_of[id(p)] = i
        self._next_bucket = 0  # the next bucket to launch (they start in index order on every rank)
        self._sync_expected = False  # set by a forward whose backward is to be synchronized
        self._handles = [p.register_post_accumulate_grad_hook(_hook_for(self)) for p in params]

    @staticmethod
    def _broadcast(tensors: list) -> None:
        works = [dist.broadcast(t, src=0, async_op=True) for t in tensors]
        for w in works:
            w.wait()

    def forward(self, *inputs, **kwargs):
        if self._reduction_incomplete():
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not produce gradients for every parameter, "
                "so its gradient averaging never finished (not every parameter was used in the forward's loss). "
                "Every parameter that requires grad must receive a gradient in each synchronized backward.")
        # As PyTorch, only a forward whose backward will be synchronized talks to the other ranks (so one
        # rank may evaluate alone under no_grad).
        self._sync_expected = is_grad_enabled() and self.require_backward_grad_sync
        if self._sync_expected and self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast(buffers)
        return self.module(*inputs, **kwargs)

    def _reduction_incomplete(self) -> bool:
        return self._next_bucket > 0 or any(b.pending != len(b.params) for b in self._buckets)

    def _grad_ready(self, param) -> None:
        """Post-accumulate hook: ``param.grad`` is complete for this backward."""
        if not self._sync_expected:
            return
        buckets = self._buckets
        bucket = buckets[self._bucket_of[id(param)]]
        bucket.pending -= 1
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            buckets[self._next_bucket].launch()
            self._next_bucket += 1
        if self._next_bucket == len(buckets):  # every bucket is on its way: collect the averages
            world_size = dist.get_world_size()
            for b in buckets:
                b.finish(world_size)
            self._next_bucket = 0

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, forwards are not synchronized: their backward passes only accumulate ``.grad`` locally."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
