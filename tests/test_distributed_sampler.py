"""utils.data.distributed.DistributedSampler against PyTorch's indices (tests/fixtures/gen_distributed.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.utils.data import DataLoader, TensorDataset
from minigrad.utils.data.distributed import DistributedSampler

FIXTURES = Path(__file__).resolve().parent / "fixtures"
_spec = importlib.util.spec_from_file_location("gen_distributed", FIXTURES / "gen_distributed.py")
GEN = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(GEN)
REF = dict(np.load(FIXTURES / "distributed_sampler.npz"))
CASES = list(GEN.cases())


def _indices(n, world, shuffle, drop_last, seed, epoch) -> list[list[int]]:
    rows = []
    for rank in range(world):
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=shuffle, seed=seed,
                                     drop_last=drop_last)
        sampler.set_epoch(epoch)
        rows.append(list(sampler))
        assert len(sampler) == len(rows[-1])
    return rows


@pytest.mark.parametrize("case", [c for c in CASES if not c[2]], ids=lambda c: GEN.key(*c))
def test_unshuffled_indices_are_pytorchs(case):
    expected = REF[GEN.key(*case)]
    assert _indices(*case) == expected.tolist()


@pytest.mark.parametrize("case", [c for c in CASES if c[2]], ids=lambda c: GEN.key(*c))
def test_shuffled_indices_are_pytorchs(case):
    """The order comes from randperm under a generator seeded with seed + epoch, as PyTorch's."""
    expected = REF[GEN.key(*case)]
    assert _indices(*case) == expected.tolist()


def test_every_index_is_used_and_ranks_are_disjoint_when_the_length_divides():
    for shuffle in (False, True):
        rows = _indices(12, 3, shuffle, False, 0, 2)
        assert sorted(sum(rows, [])) == list(range(12))


def test_set_epoch_changes_the_order_and_the_same_epoch_repeats_it():
    sampler = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_in_a_data_loader():
    ds = TensorDataset(mg.arange(10))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=2, rank=1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
    assert len(loader) == 3


def test_errors():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="num_replicas must be at least 1"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(range(4))  # rank and world size from a process group that does not exist


@pytest.mark.torch
def test_fixture_is_what_the_generator_writes(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(GEN, "HERE", str(tmp_path))
    GEN.main()
    fresh = np.load(tmp_path / "distributed_sampler.npz")
    assert sorted(fresh.files) == sorted(REF)
    for k in REF:
        if k != "torch_version":
            np.testing.assert_array_equal(fresh[k], REF[k], err_msg=k)
