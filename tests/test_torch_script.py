"""A PyTorch training script runs on minigrad with only the imports changed, and gives PyTorch's losses.

The script text is ``SCRIPT`` in tests/fixtures/gen_optim.py; that generator ran it on PyTorch
and stored the initial weights, the per-step losses (2 epochs, checkpoint with torch.save,
reload into a fresh model / optimizer / scheduler, 1 resumed epoch) and the final logits.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import minigrad as torch  # the only change a PyTorch user makes
import minigrad.nn as nn
from minigrad.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_optim", os.path.join(HERE, "fixtures", "gen_optim.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # safe without torch: torch is imported only under __main__
    return mod


def _run(tmp_path, fix, script):
    init = {k[len("init/"):]: fix[k] for k in fix.files if k.startswith("init/")}
    ns = {"torch": torch, "nn": nn, "DataLoader": DataLoader, "TensorDataset": TensorDataset,
          "X": fix["X"], "y": fix["y"], "INIT": init, "CKPT": str(tmp_path / "checkpoint.pt")}
    exec(script, ns)
    return ns


def test_pytorch_script_gives_pytorch_losses(tmp_path):
    fix = np.load(os.path.join(HERE, "fixtures", "torch_script.npz"), allow_pickle=False)
    ns = _run(tmp_path, fix, _gen_module().SCRIPT)
    losses = np.array(ns["losses"])
    assert losses.shape == fix["losses"].shape == (18,)
    np.testing.assert_allclose(losses, fix["losses"], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(ns["final_logits"], fix["final_logits"], rtol=1e-4, atol=1e-5)
    assert ns["final_lr"] == pytest.approx(float(fix["final_lr"]), rel=1e-12)
    assert os.listdir(tmp_path) == ["checkpoint.pt"]
    assert losses[-6:].mean() < losses[:6].mean()  # it trains


def test_resuming_matches_uninterrupted_training(tmp_path):
    """The checkpoint restores everything: the resumed epoch equals a third epoch without the restart."""
    fix = np.load(os.path.join(HERE, "fixtures", "torch_script.npz"), allow_pickle=False)
    script = _gen_module().SCRIPT
    uninterrupted = script.replace("run_epoch(model2, optimizer2, scheduler2)", "run_epoch(model, optimizer, scheduler)")
    ns = _run(tmp_path, fix, uninterrupted)
    np.testing.assert_allclose(np.array(ns["losses"]), fix["losses"], rtol=2e-5, atol=1e-6)


@pytest.mark.torch
def test_script_runs_on_torch_too(tmp_path):
    real_torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TDataLoader
    from torch.utils.data import TensorDataset as TTensorDataset

    fix = np.load(os.path.join(HERE, "fixtures", "torch_script.npz"), allow_pickle=False)
    init = {k[len("init/"):]: fix[k] for k in fix.files if k.startswith("init/")}
    ns = {"torch": real_torch, "nn": real_torch.nn, "DataLoader": TDataLoader, "TensorDataset": TTensorDataset,
          "X": fix["X"], "y": fix["y"], "INIT": init, "CKPT": str(tmp_path / "ckpt.pt")}
    exec(_gen_module().SCRIPT, ns)
    np.testing.assert_allclose(np.array(ns["losses"]), fix["losses"], rtol=1e-6)
