"""optim.LBFGS against PyTorch's trajectories (tests/fixtures/nnplus.npz, gen_nnplus.py), in float64."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim

FIX = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "nnplus.npz"), allow_pickle=False)

# The same table as gen_nnplus.LBFGS_CONFIGS (the generator imports torch, so it is not imported here).
CONFIGS = {
    "rosen_plain": ("rosen", {"lr": 0.1, "max_iter": 20}),
    "rosen_wolfe": ("rosen", {"line_search_fn": "strong_wolfe"}),
    "rosen_wolfe_hist3": ("rosen", {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 7}),
    "rosen_tol": ("rosen", {"line_search_fn": "strong_wolfe", "tolerance_grad": 1e-3, "max_iter": 50}),
    "reg_plain": ("reg", {"lr": 0.5, "max_iter": 10, "history_size": 5}),
    "reg_wolfe": ("reg", {"line_search_fn": "strong_wolfe", "max_iter": 15, "max_eval": 30}),
}


def _problem(problem: str):
    data = {k.split("/")[-1]: FIX[k] for k in FIX.files if k.startswith(f"lbfgs_data/{problem}/")}
    if problem == "rosen":
        x = mg.tensor(data["x0"], requires_grad=True)

        def loss_fn():
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return [x], loss_fn
    w1, b1, w2 = (mg.tensor(data[k], requires_grad=True) for k in ("w1", "b1", "w2"))
    X, Y = mg.tensor(data["X"]), mg.tensor(data["Y"])

    def loss_fn():
        return ((mg.tanh(X @ w1 + b1) @ w2 - Y) ** 2).mean()
    return [w1, b1, w2], loss_fn


def _closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return closure


def _flat(params) -> np.ndarray:
    return np.concatenate([p.detach().numpy().reshape(-1) for p in params])


def test_configs_match_the_generator():
    assert sorted(CONFIGS) == sorted({k.split("/")[1] for k in FIX.files if k.startswith("lbfgs/")})


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_lbfgs_trajectory_matches_pytorch(name):
    problem, kw = CONFIGS[name]
    params, loss_fn = _problem(problem)
    opt = optim.LBFGS(params, **kw)
    closure = _closure(opt, loss_fn)
    want_traj, want_loss = FIX[f"lbfgs/{name}/traj"], FIX[f"lbfgs/{name}/losses"]
    want_evals = FIX[f"lbfgs/{name}/evals"]
    for i in range(len(want_traj)):
        loss = opt.step(closure)
        # Dot products run on different BLAS builds (and PyTorch fuses p + t*d): equal to rounding.
        np.testing.assert_allclose(float(loss), want_loss[i], rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(_flat(params), want_traj[i], rtol=1e-9, atol=1e-9)
        st = opt.state[params[0]]
        assert [st["func_evals"], st["n_iter"]] == list(want_evals[i]), i


def test_lbfgs_state_dict_round_trip(tmp_path):
    """Two steps, save, load into a fresh model and optimizer, two more steps == four steps straight."""
    problem, kw = CONFIGS["rosen_wolfe_hist3"]
    params, loss_fn = _problem(problem)
    opt = optim.LBFGS(params, **kw)
    for _ in range(4):
        opt.step(_closure(opt, loss_fn))
    straight = _flat(params)

    params2, loss_fn2 = _problem(problem)
    opt2 = optim.LBFGS(params2, **kw)
    for _ in range(2):
        opt2.step(_closure(opt2, loss_fn2))
    mg.save({"params": [p.detach() for p in params2], "opt": opt2.state_dict()}, tmp_path / "ck.pt")
    ck = mg.load(tmp_path / "ck.pt")
    st = ck["opt"]["state"][0]
    assert {"d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss", "func_evals",
            "n_iter", "al"} <= set(st)
    assert len(st["old_dirs"]) <= 3 and st["d"].shape == (5,)

    params3, loss_fn3 = _problem(problem)
    with mg.no_grad():
        for p, q in zip(params3, ck["params"]):
            p.copy_(q)
    opt3 = optim.LBFGS(params3, **kw)
    opt3.load_state_dict(ck["opt"])
    for _ in range(2):
        opt3.step(_closure(opt3, loss_fn3))
    np.testing.assert_array_equal(_flat(params3), straight)


def test_lbfgs_multi_parameter_state_dict_loads():
    params, loss_fn = _problem("reg")
    opt = optim.LBFGS(params, line_search_fn="strong_wolfe", max_iter=3)
    opt.step(_closure(opt, loss_fn))
    sd = opt.state_dict()
    params2, loss_fn2 = _problem("reg")
    opt2 = optim.LBFGS(params2, line_search_fn="strong_wolfe", max_iter=3)
    opt2.load_state_dict(sd)  # flat vectors of 24 elements under a (3, 4) parameter: accepted
    assert opt2.state[params2[0]]["d"].shape == (24,)


def test_lbfgs_errors_and_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [x]}, {"params": [mg.tensor([1.0], requires_grad=True)]}])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.LBFGS([x], lr=-1)
    opt = optim.LBFGS([x], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(_closure(opt, lambda: (x ** 2).sum()))
    # float32: converges on a quadratic and keeps the parameter's dtype
    y = mg.tensor([3.0, -4.0], requires_grad=True)
    opt = optim.LBFGS([y], line_search_fn="strong_wolfe")
    opt.step(_closure(opt, lambda: ((y - mg.tensor([1.0, 2.0])) ** 2).sum()))
    assert y.dtype == mg.float32
    np.testing.assert_allclose(y.detach().numpy(), [1.0, 2.0], atol=1e-5)
    assert opt.state[y]["d"].dtype == mg.float32
