"""minigrad.optim against PyTorch trajectories (tests/fixtures/gen_optim.py) and the Optimizer API."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "optim_trajectories.npz"), allow_pickle=False)
CONFIGS = json.loads(str(FIX["configs"]))


def _loss(W, b, X, T):
    return ((W @ X + b[:, None]).tanh() - T).pow(2).sum() + 0.1 * (W**4).sum()


def _make(cfg, W, b):
    kw = dict(cfg["kwargs"])
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    if cfg["group2"] is None:
        params = [W, b]
    else:
        g2 = dict(cfg["group2"])
        if "betas" in g2:
            g2["betas"] = tuple(g2["betas"])
        params = [{"params": [W]}, {"params": [b], **g2}]
    return getattr(optim, cfg["cls"])(params, **kw)


def _fresh():
    W = mg.tensor(FIX["W0"], requires_grad=True)
    b = mg.tensor(FIX["b0"], requires_grad=True)
    return W, b, mg.tensor(FIX["X"]), mg.tensor(FIX["T"])


def _flat(W, b):
    return np.concatenate([W.numpy().ravel(), b.numpy().ravel()])


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["name"] for c in CONFIGS])
def test_trajectory_matches_pytorch(cfg):
    W, b, X, T = _fresh()
    opt = _make(cfg, W, b)
    ref = FIX[cfg["name"]]
    assert ref.shape[0] >= 30
    for i in range(ref.shape[0]):
        opt.zero_grad()
        _loss(W, b, X, T).backward()
        opt.step()
        np.testing.assert_allclose(_flat(W, b), ref[i], rtol=1e-5, atol=1e-9, err_msg=f"{cfg['name']} step {i + 1}")
    assert W.dtype == mg.float64 and W.is_leaf and W.requires_grad


@pytest.mark.parametrize("cfg", CONFIGS, ids=[c["name"] for c in CONFIGS])
def test_resume_from_state_dict(cfg):
    """Stop after 12 steps, reload the state dict (saved with minigrad.save) into a new optimizer: same path."""
    W, b, X, T = _fresh()
    opt = _make(cfg, W, b)
    ref = FIX[cfg["name"]]
    for _ in range(12):
        opt.zero_grad()
        _loss(W, b, X, T).backward()
        opt.step()
    sd = opt.state_dict()
    W2 = mg.tensor(W.numpy(), requires_grad=True)
    b2 = mg.tensor(b.numpy(), requires_grad=True)
    opt2 = _make(cfg, W2, b2)
    opt2.load_state_dict(sd)
    for i in range(12, 20):
        opt2.zero_grad()
        _loss(W2, b2, X, T).backward()
        opt2.step()
        np.testing.assert_allclose(_flat(W2, b2), ref[i], rtol=1e-5, atol=1e-9)
    # the loaded buffers are copies: stepping opt2 left opt's state alone
    for k, v in sd["state"].items():
        for name, t in v.items():
            assert t is not opt2.state_dict()["state"][k][name]


def test_float32_params_stay_float32_and_bump_version():
    w = mg.randn(5, requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta):
        opt = cls([w], lr=0.01)
        v0 = w._version
        w.grad = mg.ones(5)
        opt.step()
        assert w.dtype == mg.float32
        assert w._version > v0
        for s in opt.state[w].values():
            if s.ndim:
                assert s.dtype == mg.float32


def test_update_after_saving_for_backward_raises():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    y = (w * w).sum()  # saves w
    opt.step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_state_dict_layout():
    a = mg.zeros(2, requires_grad=True)
    b = mg.zeros(3, requires_grad=True)
    c = mg.zeros(1, requires_grad=True)
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    for p in (a, b, c):
        p.grad = mg.ones_like(p)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][1]["lr"] == 0.5
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 1, 2}
    assert set(sd["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][1]["step"].item() == 1.0 and sd["state"][1]["exp_avg"].shape == (3,)


def test_load_state_dict_restores_hyperparameters_and_casts():
    a = mg.zeros(2, dtype=mg.float64, requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = mg.ones(2, dtype=mg.float64)
    opt.step()
    sd = opt.state_dict()
    b = mg.zeros(2, dtype=mg.float32, requires_grad=True)
    opt2 = optim.SGD([b], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["momentum"] == 0.9
    assert opt2.param_groups[0]["params"][0] is b
    assert opt2.state[b]["momentum_buffer"].dtype == mg.float32


def test_load_state_dict_mismatch_errors():
    a = mg.zeros(2, requires_grad=True)
    b = mg.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    a.grad = mg.ones(2)
    opt.step()
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([mg.zeros(3, requires_grad=True)], lr=0.1, momentum=0.9).load_state_dict(opt.state_dict())


def test_zero_grad():
    w = mg.ones(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and np.all(w.grad.numpy() == 0)
    opt.zero_grad()
    assert w.grad is None
    opt.step()  # no gradient: nothing changes
    assert np.all(w.numpy() == 1)


def test_step_closure_returns_loss_with_grad_enabled():
    w = mg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w.numpy(), [3.0 - 0.1 * 6.0], rtol=1e-6)


def test_add_param_group_and_param_names():
    a = mg.zeros(2, requires_grad=True)
    b = mg.zeros(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.2})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == 0.2
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    named = optim.SGD([("w", a), ("v", b)], lr=0.1)
    assert named.param_groups[0]["param_names"] == ["w", "v"]


def test_adagrad_state_created_at_construction():
    a = mg.zeros(2, requires_grad=True)
    opt = optim.Adagrad([a], initial_accumulator_value=0.5)
    np.testing.assert_array_equal(opt.state[a]["sum"].numpy(), [0.5, 0.5])
    assert opt.state[a]["step"].item() == 0.0


def test_defaults():
    a = mg.zeros(1, requires_grad=True)
    assert optim.SGD([a]).defaults["lr"] == 1e-3
    assert optim.AdamW([a]).defaults["weight_decay"] == 0.01
    assert optim.Adam([a]).defaults["weight_decay"] == 0
    assert optim.RMSprop([a]).defaults["lr"] == 0.01
    assert optim.Adadelta([a]).defaults["lr"] == 1.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "beta parameter at index 0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda p: optim.Adam(p, eps=-1.0), "epsilon"),
        (lambda p: optim.AdamW(p, weight_decay=-1.0), "weight_decay"),
        (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.5), "lr_decay"),
        (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
    ],
)
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([mg.zeros(2, requires_grad=True)])


def test_invalid_params():
    w = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="ordered"):
        optim.SGD([{"params": {w}}], lr=0.1)


def test_lr_change_in_group_takes_effect():
    w = mg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    w.grad = mg.tensor([1.0])
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.5])


def test_grad_shape_mismatch_is_clear():
    w = mg.zeros(3, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = mg.zeros(3)
    w.grad._data = np.zeros(4, dtype=np.float32)
    with pytest.raises(RuntimeError, match="does not match"):
        opt.step()
