"""Smoke test of the benchmark suite: every workload runs at tiny size, and minigrad
agrees with the hand-written numpy floor (no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is a top-level package beside src/, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import common, runner, workloads_minigrad, workloads_numpy, workloads_torchlike  # noqa: E402
from benchmarks import data as D  # noqa: E402


def _pair(name: str):
    d = D.make(name, "tiny")
    try:
        mg = workloads_minigrad.make(name, d)
    except common.Unavailable as e:  # a piece of minigrad not written yet
        pytest.skip(f"minigrad {name}: {e}")
    return mg, workloads_numpy.make(name, D.make(name, "tiny"))


@pytest.mark.parametrize("name", common.WORKLOADS)
def test_checksums_agree_with_numpy_floor(name):
    mg, np_floor = _pair(name)
    c_mg = mg.checksum()
    c_np = np_floor.checksum()
    assert np.isfinite(c_mg) and np.isfinite(c_np)
    assert runner._agree(c_mg, c_np, name), (name, c_mg, c_np)
    mg.run()  # the timed unit runs after the checksum, as in the worker
    np_floor.run()


needs_compile = pytest.mark.skipif(not hasattr(minigrad, "compile"), reason="minigrad.compile is not there yet")


@needs_compile
@pytest.mark.parametrize("name", common.WORKLOADS)
def test_compiled_workloads_give_eager_numbers_bit_for_bit(name):
    # The compiled variant runs the same step through minigrad.compile: its checksum (final
    # loss, plus the gradients' sums) must be eager's exactly, and after another timed unit
    # the state it leaves (parameters, gradients) too. A graph break would warn: an error here.
    eager = workloads_minigrad.make(name, D.make(name, "tiny"))
    comp = workloads_minigrad.make(name, D.make(name, "tiny"), compiled=True)
    assert comp.compiled and "minigrad.compile" in comp.variant
    assert comp.checksum() == eager.checksum()
    for _ in range(2):  # the second unit replays the plan the first recorded (or checksum did)
        out_e, out_c = eager.run(), comp.run()
        assert np.array_equal(out_c.detach().numpy(), out_e.detach().numpy()), name
    state_e = _state(eager)
    state_c = _state(comp)
    assert len(state_e) == len(state_c) > 0
    for (key, a), (_, b) in zip(state_e, state_c):
        assert np.array_equal(a, b), (name, key)


def _state(w):
    """Every tensor a workload keeps (inputs, parameters) and its gradient, as arrays."""
    tensors = [(k, v) for k, v in sorted(vars(w).items()) if isinstance(v, minigrad.Tensor)]
    tensors += [(f"param{i}", p) for i, p in enumerate(getattr(w, "params", None) or [])]
    out = []
    for key, t in tensors:
        out.append((key, t.detach().numpy().copy()))
        out.append((key + ".grad", None if t.grad is None else t.grad.numpy().copy()))
    return [(k, np.array([]) if a is None else a) for k, a in out]


def test_compiled_variant_is_unavailable_without_compile(monkeypatch):
    monkeypatch.delattr(minigrad, "compile", raising=False)
    with pytest.raises(common.Unavailable, match="compile"):
        workloads_minigrad.make("tiny_ops", D.make("tiny_ops", "tiny"), compiled=True)


def test_record_cost_and_step_peak_plumbing():
    # With a stand-in "compiler" that runs the step as it is (a fresh callable per compile),
    # the worker's recording and memory figures come out, shaped as the report reads them.
    import time

    from benchmarks import worker

    w = workloads_minigrad.make("moons", D.make("moons", "tiny"))
    compiles = []

    def fake_compile(fn):
        compiles.append(fn)
        return lambda *args: fn(*args)

    rec = worker.record_cost(w, time.perf_counter, fake_compile, repeat=2)
    assert len(compiles) == 2
    assert set(rec) == {"eager_step_s", "first_call_s", "record_s", "check_s", "replay_s", "record_steps",
                        "check_steps", "replay_steps"}
    assert all(v > 0 for v in rec.values())
    peak_mg, held_mg = worker.step_peak_bytes(lambda n, d: workloads_minigrad.make(n, d), "moons", "tiny")
    peak_np, held_np = worker.step_peak_bytes(workloads_numpy.make, "moons", "tiny")
    x_bytes = D.make("moons", "tiny")["X"].nbytes
    assert peak_mg > held_mg > x_bytes and peak_np > held_np > x_bytes  # the data is in it (numpy's arrays are traced)


def test_compiled_table_reports_ratios_recording_peaks_and_bit_equality():
    res = {"unit": "ms", "rounds": [{"minigrad": 4.0, "compiled": 1.0, "numpy": 1.0, "torch": 8.0},
                                    {"minigrad": 6.0, "compiled": 3.0, "numpy": 2.0, "torch": 8.0}],
           "libs": {"minigrad": {"status": "ready", "checksum": 1.0, "step_peak": 2 * 2**20},
                    "compiled": {"status": "ready", "checksum": 1.0 + 1e-7, "step_peak": 2**20,
                                 "record": {"eager_step_s": 0.01, "first_call_s": 0.05, "record_s": 0.02,
                                            "check_s": 0.015, "replay_s": 0.003, "record_steps": 2.0,
                                            "check_steps": 1.5, "replay_steps": 0.3},
                                 "warnings": []},
                    "numpy": {"status": "ready", "checksum": 1.0, "step_peak": 2**19}}}
    runner.summarize("mlp_step", res)
    assert res["ratio_compiled_numpy"] == 1.25 and res["ratio_compiled_torch"] == 0.25
    assert res["ratio_compiled_minigrad"] == pytest.approx((0.25 + 0.5) / 2)
    assert res["libs"]["compiled"]["checksum_ok"] and res["libs"]["compiled"]["same_as_eager"] is False
    md = "\n".join(runner.compiled_table({"workloads": {"mlp_step": res}}))
    row = next(line for line in md.splitlines() if line.startswith("| mlp_step"))
    assert "| 1.25x (1.00–1.50) |" in row and "| 0.25x (0.125–0.375) |" in row and "| 2.00 + 1.50 |" in row
    assert "| 2.00 / 1.00 / 0.5 |" in row and "differs from eager" in row
    res["libs"]["compiled"] = {"status": "unavailable", "reason": "minigrad.compile is not there (yet)"}
    md = "\n".join(runner.compiled_table({"workloads": {"mlp_step": res}}))
    assert "| unavailable |" in md and "not there (yet)" in md


@pytest.mark.parametrize("api", ["raw", "auto"])
def test_mlp_variants_agree(api):
    d = D.make("mlp_step", "tiny")
    try:
        mg = workloads_minigrad.make("mlp_step", d, api=api)
    except common.Unavailable as e:
        pytest.skip(str(e))
    assert runner._agree(mg.checksum(), workloads_numpy.make("mlp_step", d).checksum(), "mlp_step")


def test_numpy_floor_gradients_match_minigrad_elementwise():
    # Checksums sum the gradients; compare them element by element too.
    d = D.make("tiny_ops", "tiny")
    a = minigrad.tensor(d["a"], requires_grad=True)
    b = minigrad.tensor(d["b"], requires_grad=True)
    out = workloads_torchlike.tiny_program(a, b)
    out.backward()
    ref, da, db = workloads_numpy.tiny_fwd_bwd(d["a"], d["b"])
    np.testing.assert_allclose(out.item(), ref, rtol=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), da, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), db, rtol=1e-4, atol=1e-6)

    d = D.make("big_elementwise", "tiny")
    x = minigrad.tensor(d["x"], requires_grad=True)
    (x.tanh() * x.sigmoid() + (-(x * x)).exp()).sum().backward()
    _, g = workloads_numpy.make("big_elementwise", d).run()
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-4, atol=1e-6)

    d = D.make("deep_chain", "tiny")
    mg = workloads_minigrad.make("deep_chain", d)
    mg.run()
    _, gx, gw = workloads_numpy.make("deep_chain", d).run()
    np.testing.assert_allclose(mg.x.grad.numpy(), gx, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(mg.w.grad.numpy(), gw, rtol=1e-4, atol=1e-6)


def test_missing_piece_is_unavailable_not_a_crash():
    L = workloads_torchlike.Lib(minigrad, nn=None, F=None, optim=None)
    with pytest.raises(common.Unavailable, match="conv2d"):
        workloads_torchlike.make(L, "cnn_step", D.make("cnn_step", "tiny"))
    # The MLP falls back to raw tensor ops and says so.
    w = workloads_torchlike.make(L, "mlp_step", D.make("mlp_step", "tiny"))
    assert "manual SGD" in w.variant and "log_softmax" in w.variant


def test_checksum_mismatch_is_flagged():
    res = {"libs": {"numpy": {"status": "ready", "checksum": 1.0},
                    "minigrad": {"status": "ready", "checksum": 1.5}},
           "rounds": [{"numpy": 1.0, "minigrad": 2.0}, {"numpy": 1.0, "minigrad": 4.0}], "unit": "ms"}
    runner.summarize("mlp_step", res)
    assert res["libs"]["minigrad"]["checksum_ok"] is False
    assert res["libs"]["numpy"]["checksum_ok"] is True
    assert res["ratio_minigrad_numpy"] == 3.0
    assert res["ratio_minigrad_torch"] is None


def test_runner_end_to_end(tmp_path):
    # Real subprocesses, interleaved rounds, JSON + Markdown; torch via an interpreter
    # that does not exist must come out "unavailable", not crash the suite.
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--size", "tiny", "--rounds", "2",
           "--only", "tiny_ops", "--only", "moons", "--pause", "0", "--clock", "cpu",
           "--torch-python", str(tmp_path / "no-such-python"), "--out-dir", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["clock"] == "cpu"
    for name in ("tiny_ops", "moons"):
        res = report["workloads"][name]
        assert len(res["rounds"]) == 2
        for lib in ("minigrad", "numpy"):
            info = res["libs"][lib]
            assert info["status"] == "ready" and info["checksum_ok"], (name, lib, info)
            assert info["median"] > 0 and info["peak_rss_growth_mb"] >= 0
        assert res["libs"]["torch"]["status"] == "unavailable"
        assert len(res["ratios_minigrad_numpy"]) == 2
        comp = res["libs"]["compiled"]
        if hasattr(minigrad, "compile"):  # runs beside eager and gives its numbers exactly
            assert comp["status"] == "ready" and comp["same_as_eager"], comp
            assert comp["record"]["record_steps"] > 0 and comp["step_peak"] > 0
            assert len(res["ratios_compiled_numpy"]) == 2
        else:
            assert comp["status"] == "unavailable" and "compile" in comp["reason"]
    md = (tmp_path / "latest.md").read_text()
    assert "| tiny_ops | us/op |" in md and "| moons | s |" in md


@pytest.mark.parametrize("case", [("tiny_ops", "fwd+bwd", "2"), ("chain", "fwd+bwd", "20"),
                                  ("moons", "fwd+bwd+step", "2"),
                                  pytest.param(("tiny_ops", "compiled", "2"), marks=needs_compile),
                                  pytest.param(("moons", "compiled", "2"), marks=needs_compile)])
def test_instruction_count_programs_run(case):
    """benchmarks.instructions runs these under callgrind (slow); here they just have to run."""
    import os

    from benchmarks import instructions

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]))
    done = subprocess.run([sys.executable, "-c", instructions.PROGRAM, *case], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {c[0] for c in instructions.CASES} == {"tiny_ops", "chain", "moons"}
    assert ("tiny_ops", "compiled", 200) in instructions.CASES
