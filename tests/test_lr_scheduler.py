"""minigrad.optim.lr_scheduler against PyTorch's learning rates (tests/fixtures/gen_optim.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler as S

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "lr_schedulers.npz"), allow_pickle=False)
CONFIGS = json.loads(str(FIX["configs"]))
LAMBDAS = {
    "pow095": lambda epoch: 0.95**epoch,
    "warmup10": lambda epoch: min(1.0, (epoch + 1) / 10),
}


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_optim", os.path.join(os.path.dirname(__file__), "fixtures",
                                                                            "gen_optim.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # no torch needed: it is imported only when the generator runs
    return mod


GEN = _gen_module()


def _build(cfg):
    p1 = mg.zeros(2, requires_grad=True)
    p2 = mg.zeros(2, requires_grad=True)
    params = [p1, p2] if cfg["lr2"] is None else [{"params": [p1]}, {"params": [p2], "lr": cfg["lr2"]}]
    opt = getattr(optim, cfg["opt_cls"])(params, **cfg["opt_kwargs"])
    return opt, GEN.make_scheduler(S, opt, cfg["cls"], cfg["kwargs"], LAMBDAS)


def _record(opt):
    row = []
    for g in opt.param_groups:
        row.append(g["lr"])
        row.append(g["betas"][0] if "betas" in g else g.get("momentum", 0.0))
    return row


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["name"] for c in CONFIGS])
def test_schedule_matches_pytorch(cfg):
    opt, sched = _build(cfg)
    ref = FIX[cfg["name"]]
    assert ref.shape[0] > 50
    rows = [_record(opt)]
    for i in range(ref.shape[0] - 1):
        opt.step()
        GEN.step_scheduler(sched, cfg["cls"], i)
        rows.append(_record(opt))
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    np.testing.assert_allclose(np.array(rows), ref, rtol=1e-12, atol=1e-15)


def test_state_dict_resume():
    opt, sched = _build(next(c for c in CONFIGS if c["name"] == "cosine"))
    ref = FIX["cosine"]
    for _ in range(20):
        opt.step()
        sched.step()
    sd_opt, sd_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in sd_sched and sd_sched["last_epoch"] == 20
    opt2, sched2 = _build(next(c for c in CONFIGS if c["name"] == "cosine"))
    opt2.load_state_dict(sd_opt)
    sched2.load_state_dict(sd_sched)
    for i in range(21, 30):
        opt2.step()
        sched2.step()
        np.testing.assert_allclose(_record(opt2), ref[i], rtol=1e-12)


def test_lambda_state_dict_leaves_functions_out():
    opt, sched = _build(next(c for c in CONFIGS if c["name"] == "lambda_pow"))
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, None]
    sched.load_state_dict(sd)


def test_step_before_optimizer_step_warns():
    w = mg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = S.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = optim.SGD([w], lr=0.1)
    sched2 = S.ExponentialLR(opt2, gamma=0.5)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
    assert sched2.get_last_lr() == [0.05]


def test_epoch_argument_uses_closed_form_with_warning():
    w = mg.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = S.StepLR(opt, step_size=3, gamma=0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(7)
    assert sched.get_last_lr() == [0.25]


def test_errors():
    w = mg.zeros(1, requires_grad=True)
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), step_size=1)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(optim.SGD([w], lr=0.1), step_size=1, last_epoch=3)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.OneCycleLR(optim.Adagrad([w]), max_lr=0.1, total_steps=5)
    sched = S.OneCycleLR(optim.SGD([w], lr=0.1, momentum=0.9), max_lr=0.1, total_steps=2)
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        for _ in range(3):
            sched.optimizer.step()
            sched.step()
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        S.LambdaLR(optim.SGD([w], lr=0.1), lr_lambda=[lambda e: 1.0, lambda e: 1.0])


@pytest.mark.parametrize("name", ["sequential_warmup_cosine", "plateau", "chained", "warm_restarts"])
def test_composite_and_plateau_state_dict_resume(name, tmp_path):
    """Checkpoint mid-schedule with minigrad.save, restore into fresh objects, continue: PyTorch's values."""
    cfg = next(c for c in CONFIGS if c["name"] == name)
    ref = FIX[name]
    opt, sched = _build(cfg)
    for i in range(17):
        opt.step()
        GEN.step_scheduler(sched, cfg["cls"], i)
    mg.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "ck")
    ck = mg.load(tmp_path / "ck")
    opt2, sched2 = _build(cfg)
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    for i in range(17, 40):
        opt2.step()
        GEN.step_scheduler(sched2, cfg["cls"], i)
        np.testing.assert_allclose(_record(opt2), ref[i + 1], rtol=1e-12, atol=1e-15)
