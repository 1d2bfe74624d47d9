"""The program that tests/test_distributed.py runs under ``mpiexec -n 2`` (and the data it shares with it).

``python mpi_worker.py checks OUTDIR``: every rank runs the collectives and the data-parallel
trainings and saves what it got to ``OUTDIR/rank<r>.npz``; the test computes what each should
be (numpy, and single-process minigrad training) and compares. All checks share one MPI start.
``python mpi_worker.py fail``: rank 1 raises while rank 0 waits in a collective.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.nn.parallel import DistributedDataParallel as DDP

STEPS, GLOBAL_BATCH, WORLD = 20, 8, 2
DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64}
# (dtype, optimizer, bucket_cap_mb): a tiny cap puts each parameter in a bucket of its own.
TRAININGS = [("float64", "sgd", None), ("float64", "adam", 1e-6), ("float32", "sgd", 1e-6), ("float32", "adam", None)]


def rank_value(rank: int, dtype: str) -> np.ndarray:
    """The (3, 4) array rank ``rank`` contributes to each collective (small positive integers, so every
    reduction is exact in every dtype)."""
    return ((np.arange(12).reshape(3, 4) % 5 + 1) * (rank + 1) + rank).astype(DTYPES[dtype])


def mlp(seed: int, dtype: str) -> nn.Module:
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    return model.double() if dtype == "float64" else model


def data(dtype: str):
    """``STEPS`` global batches: X (STEPS, GLOBAL_BATCH, 6) and class labels (STEPS, GLOBAL_BATCH)."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((STEPS, GLOBAL_BATCH, 6)).astype(DTYPES[dtype]), rng.integers(0, 3, (STEPS, GLOBAL_BATCH))


def make_optimizer(name: str, params):
    return optim.SGD(params, lr=0.1, momentum=0.9) if name == "sgd" else optim.Adam(params, lr=0.01)


def rows(rank: int, world: int = WORLD) -> slice:
    """Rank ``rank``'s share of a global batch (all of it when ``world`` is 1)."""
    per = GLOBAL_BATCH // world
    return slice(rank * per, (rank + 1) * per)


def loss_of(model, X, y, batch: int, part: slice):
    return F.cross_entropy(model(mg.tensor(X[batch, part])), mg.tensor(y[batch, part]))


def train(model, optimizer, X, y, part: slice) -> None:
    for step in range(STEPS):
        optimizer.zero_grad()
        loss_of(model, X, y, step, part).backward()
        optimizer.step()


def params_of(model) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


def fresh(rank: int, dtype: str, layout: str):
    """(holder, tensor): a tensor holding this rank's value, with its own array, or a strided view into a
    larger one (the holder, whose other elements must stay -7)."""
    if layout == "contiguous":
        holder = rank_value(rank, dtype).copy()
        return holder, mg.from_numpy(holder)
    holder = np.full((3, 8), -7, dtype=DTYPES[dtype])
    holder[:, 1::2] = rank_value(rank, dtype)
    return holder, mg.from_numpy(holder)[:, 1::2]


def check_collectives(rank: int, out: dict) -> None:
    for dtype in DTYPES:
        for layout in ("contiguous", "strided"):
            ops = [("sum", dist.ReduceOp.SUM), ("max", dist.ReduceOp.MAX), ("min", dist.ReduceOp.MIN),
                   ("product", dist.ReduceOp.PRODUCT)]
            if dtype != "int64":
                ops.append(("avg", dist.ReduceOp.AVG))
            for name, op in ops:
                holder, t = fresh(rank, dtype, layout)
                dist.all_reduce(t, op=op)
                out[f"{dtype}/{layout}/all_reduce_{name}"] = holder
            holder, t = fresh(rank, dtype, layout)
            work = dist.all_reduce(t, async_op=True)
            work.wait()
            out[f"{dtype}/{layout}/all_reduce_async"] = holder
            holder, t = fresh(rank, dtype, layout)
            dist.broadcast(t, src=1)
            out[f"{dtype}/{layout}/broadcast"] = holder
            holder, t = fresh(rank, dtype, layout)
            dist.reduce(t, dst=0, op=dist.ReduceOp.SUM)
            out[f"{dtype}/{layout}/reduce"] = holder
            holder, t = fresh(rank, dtype, layout)
            gathered_holders = [fresh(rank, dtype, layout) for _ in range(WORLD)]
            for h, _ in gathered_holders:
                h[...] = -7 if layout == "strided" else 0
            dist.all_gather([g for _, g in gathered_holders], t)
            out[f"{dtype}/{layout}/all_gather"] = np.stack([h for h, _ in gathered_holders])
            out[f"{dtype}/{layout}/all_gather_input"] = holder
    int_tensor = mg.from_numpy(rank_value(rank, "int64"))
    try:
        dist.all_reduce(int_tensor, op=dist.ReduceOp.AVG)
        out["error/avg_of_int64"] = "no error"
    except TypeError as exc:
        out["error/avg_of_int64"] = str(exc)
    try:
        dist.all_gather([mg.zeros(3, 4)], mg.zeros(3, 4))
        out["error/all_gather_list"] = "no error"
    except ValueError as exc:
        out["error/all_gather_list"] = str(exc)
    dist.barrier()


def check_training(rank: int, out: dict) -> None:
    for dtype, opt_name, cap in TRAININGS:
        X, y = data(dtype)
        model = DDP(mlp(100 + rank, dtype), bucket_cap_mb=cap)  # each rank seeded differently
        optimizer = make_optimizer(opt_name, model.parameters())
        train(model, optimizer, X, y, rows(rank))
        for i, p in enumerate(params_of(model)):
            out[f"train/{dtype}/{opt_name}/{i}"] = p
    out["state_dict_keys"] = np.array(list(model.state_dict()))
    out["module_is_wrapped"] = np.array(type(model.module).__name__)


def check_no_sync(rank: int, out: dict) -> None:
    X, y = data("float64")
    model = DDP(mlp(7 + rank, "float64"))
    with model.no_sync():
        loss_of(model, X, y, 0, rows(rank)).backward()
    for i, p in enumerate(model.parameters()):
        out[f"no_sync/local/{i}"] = p.grad.numpy().copy()
    loss_of(model, X, y, 1, rows(rank)).backward()
    for i, p in enumerate(model.parameters()):
        out[f"no_sync/synced/{i}"] = p.grad.numpy().copy()


def check_unused_parameter(rank: int, out: dict) -> None:
    """A parameter that gets no gradient: the averaging never completes and the next forward says why.
    (It is registered last, so it is alone in the first bucket and no all-reduce was started.)"""
    model = nn.Linear(3, 2).double()
    model.unused = nn.Parameter(mg.zeros(2, dtype=mg.float64))
    ddp = DDP(model, bucket_cap_mb=1e-6)
    ddp(mg.ones(4, 3, dtype=mg.float64)).sum().backward()
    try:
        ddp(mg.ones(4, 3, dtype=mg.float64))
        out["error/unused_parameter"] = "no error"
    except RuntimeError as exc:
        out["error/unused_parameter"] = str(exc)


def check_buffers(rank: int, out: dict) -> None:
    """BatchNorm's buffers: rank 0's are copied to every rank at each training forward; an evaluation
    forward under no_grad talks to no one, so rank 0 may run it alone."""
    mg.manual_seed(rank)
    ddp = DDP(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double())
    x = mg.tensor(np.arange(12.0).reshape(4, 3) * (rank + 1))
    ddp(x).sum().backward()  # each rank updates the running stats from its own batch
    out["buffers/after_one_step"] = ddp.module[1].running_mean.numpy().copy()
    ddp(x).sum().backward()  # first copies rank 0's running stats, then updates them from this batch
    out["buffers/after_two_steps"] = ddp.module[1].running_mean.numpy().copy()
    if rank == 0:
        ddp.eval()
        with mg.no_grad():
            ddp(x)
    dist.barrier()


def check_sampler(rank: int, out: dict) -> None:
    from minigrad.utils.data.distributed import DistributedSampler

    for n in (10, 11):
        out[f"sampler/{n}"] = np.array(list(DistributedSampler(range(n), shuffle=False)))


def main() -> None:
    mode = sys.argv[1]
    dist.init_process_group("mpi")
    rank = dist.get_rank()
    if mode == "fail":
        print(f"rank {rank}: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}", flush=True)
        dist.barrier()  # both ranks have printed before rank 1's abort can cut rank 0 short
        if rank == 1:
            raise ValueError("rank 1 fails on purpose")
        dist.all_reduce(mg.ones(3))  # waits for rank 1, which never comes
        print("rank 0 got past the collective", flush=True)
        return
    out: dict = {"world_size": np.array(dist.get_world_size())}
    check_collectives(rank, out)
    check_training(rank, out)
    check_no_sync(rank, out)
    check_unused_parameter(rank, out)
    check_buffers(rank, out)
    check_sampler(rank, out)
    np.savez(os.path.join(sys.argv[2], f"rank{rank}.npz"), **out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
