"""Data-parallel training of a digits MLP with DistributedDataParallel, as a PyTorch DDP script.

Run on N processes of this machine (one rank each), or with plain mpiexec:

    python -m minigrad.distributed.run --nproc-per-node 2 examples/ddp_digits.py --epochs 10
    mpiexec -n 2 python examples/ddp_digits.py

Each rank loads its share of every epoch (DistributedSampler), backward averages the gradients
over ranks, and rank 0 reports the test accuracy and saves the weights.
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn, optim
from minigrad.nn.parallel import DistributedDataParallel as DDP
from minigrad.utils.data import DataLoader, TensorDataset
from minigrad.utils.data.distributed import DistributedSampler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16, help="samples per rank and step")
    p.add_argument("--save", default=None, help="where rank 0 saves the weights (default: not saved)")
    args = p.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    X, y = mg.datasets.load_digits()
    X = (X - X.mean()) / X.std()
    perm = np.random.default_rng(0).permutation(len(y))  # the same split on every rank
    train, test = perm[:1347], perm[1347:]
    data = TensorDataset(X[train], y[train])

    mg.manual_seed(0)
    model = DDP(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sampler = DistributedSampler(data, seed=0)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a new order each epoch, the same on every rank
        for xb, yb in loader:
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()  # .grad: the average over ranks
            opt.step()

    if rank == 0:
        with mg.no_grad():  # a no_grad forward talks to no other rank: rank 0 evaluates alone
            accuracy = (model(X[test]).argmax(1) == y[test]).float().mean().item()
        print(f"{world} ranks, {args.epochs} epochs: test accuracy {100 * accuracy:.2f}%")
        if args.save:
            mg.save(model.module.state_dict(), args.save)  # keys without the "module." prefix
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
