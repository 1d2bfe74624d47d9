"""minigrad.nn against PyTorch's numbers: forward values and the gradients of inputs and parameters.

Reference values come from tests/fixtures/gen_nn.py (float64). Module cases copy the PyTorch module's
state dict into the minigrad module with load_state_dict, which also checks that the keys match.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F

_PATH = os.path.join(os.path.dirname(__file__), "fixtures", "nn_ref.npz")
_REF = np.load(_PATH, allow_pickle=False)
_CASES = json.loads(str(_REF["__cases__"]))

RTOL, ATOL = 1e-7, 1e-9


def _close(actual, expected, what):
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind == "f":
        assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != {expected.dtype}"
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def _entries(name, section):
    prefix = f"{name}|{section}|"
    return {k[len(prefix):]: _REF[k] for k in _REF.files if k.startswith(prefix)}


@pytest.mark.parametrize("case", _CASES, ids=[c["name"] for c in _CASES])
def test_matches_pytorch(case):
    name = case["name"]
    inputs = _entries(name, "in")
    xs = [minigrad.tensor(inputs[str(i)], requires_grad=case["grad"][i]) for i in range(len(inputs))]
    consts = _entries(name, "const")
    ns = {"nn": nn, "F": F, "torch": minigrad}
    ns.update({f"x{i}": x for i, x in enumerate(xs)})
    ns.update({f"c{i}": minigrad.tensor(consts[str(i)]) for i in range(len(consts))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div(reduction='mean') warns, as PyTorch's
        if case["kind"] == "module":
            m = eval(case["expr"], ns)
            m.double()
            pre = _entries(name, "pre")
            assert list(m.state_dict().keys()) == list(pre.keys()), "state_dict keys differ from PyTorch's"
            m.load_state_dict({k: minigrad.tensor(v) for k, v in pre.items()})
            y = m(*xs)
            for k, v in _entries(name, "post").items():
                _close(m.state_dict()[k].numpy(), v, f"{name}: state {k} after forward")
            params = dict(m.named_parameters())
        else:
            y = eval(case["expr"], ns)
            params = {}
    _close(y.numpy(), _REF[f"{name}|out"], f"{name}: output")
    if f"{name}|gout" not in _REF.files:
        assert not y.requires_grad or y.dtype == minigrad.int64
        return
    (y * minigrad.tensor(_REF[f"{name}|gout"])).sum().backward()
    for i, x in enumerate(xs):
        key = f"{name}|gin|{i}"
        if key in _REF.files:
            assert x.grad is not None, f"{name}: input {i} got no gradient"
            _close(x.grad.numpy(), _REF[key], f"{name}: gradient of input {i}")
    gp = _entries(name, "gp")
    for k, p in params.items():
        if k in gp:
            assert p.grad is not None, f"{name}: parameter {k} got no gradient"
            _close(p.grad.numpy(), gp[k], f"{name}: gradient of parameter {k}")
        else:
            assert p.grad is None or not np.any(p.grad.numpy()), f"{name}: {k} should get no gradient"


def test_every_case_has_reference_values():
    assert len(_CASES) > 150
    for c in _CASES:
        assert f"{c['name']}|out" in _REF.files


@pytest.mark.torch
def test_fixture_is_what_the_generator_writes(tmp_path):
    """The committed fixture is reproducible from tests/fixtures/gen_nn.py (needs PyTorch)."""
    torch = pytest.importorskip("torch")
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_nn", os.path.join(os.path.dirname(__file__), "fixtures",
                                                                          "gen_nn.py"))
    gen = importlib.util.module_from_spec(spec)
    default = torch.get_default_dtype()
    try:
        spec.loader.exec_module(gen)  # (the generator makes float64 torch's default, at import)
        path = str(tmp_path / "nn_ref.npz")
        gen.main(path)
    finally:
        torch.set_default_dtype(default)  # later torch tests expect PyTorch's float32 default
    fresh = np.load(path, allow_pickle=False)
    assert sorted(fresh.files) == sorted(_REF.files)
    for k in _REF.files:
        np.testing.assert_array_equal(fresh[k], _REF[k], err_msg=k)
