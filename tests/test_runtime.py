"""minigrad.set_num_threads / get_num_threads and the default chosen at import (runtime.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg
from minigrad import runtime

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def restore_threads():
    before = mg.get_num_threads()
    yield
    mg.set_num_threads(before)


def test_set_and_get_round_trip(restore_threads):
    for n in (2, 1, 3):
        mg.set_num_threads(n)
        assert mg.get_num_threads() == n


def test_without_threadpoolctl_openblas_is_reached_directly(restore_threads, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    assert runtime._threadpoolctl() is None
    mg.set_num_threads(2)
    assert mg.get_num_threads() == 2
    if runtime._openblas_functions():  # numpy's bundled OpenBLAS on Linux: really set, read back from it
        assert max(get() for _, get in runtime._openblas_functions()) == 2
        mg.set_num_threads(1)
        assert max(get() for _, get in runtime._openblas_functions()) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_thread_counts_raise(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive integer"):
        mg.set_num_threads(bad)


def test_default_follows_the_environment(monkeypatch):
    for var in ("MINIGRAD_NUM_THREADS",) + runtime._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    assert runtime._default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert runtime._default_threads() is None  # the program chose: left alone
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "3")
    assert runtime._default_threads() == 3  # ours wins
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "0")
    assert runtime._default_threads() is None
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="MINIGRAD_NUM_THREADS"):
        runtime._default_threads()


def _threads_after_import(**env_vars) -> int:
    env = {k: v for k, v in os.environ.items() if k not in ("MINIGRAD_NUM_THREADS",) + runtime._ENV_VARS}
    env.update(env_vars)
    env["PYTHONPATH"] = SRC
    out = subprocess.run([sys.executable, "-c", "import minigrad; print(minigrad.get_num_threads())"],
                         env=env, capture_output=True, text=True, check=True, timeout=120)
    return int(out.stdout.strip())


def test_import_sets_one_thread_unless_told_otherwise():
    assert _threads_after_import() == 1
    assert _threads_after_import(MINIGRAD_NUM_THREADS="2") == 2
    if runtime._threadpoolctl() is not None or runtime._openblas_functions():
        assert _threads_after_import(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2") == 2


def test_one_thread_knob_for_blas_and_the_convolution_pool(monkeypatch):
    # MINIGRAD_NUM_THREADS means the same for both: the threads minigrad computes with.
    for var in ("MINIGRAD_NUM_THREADS",) + runtime._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(runtime, "_NUM_THREADS", None)
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "3")
    assert runtime._default_threads() == 3 and runtime._num_threads() == 3
    monkeypatch.setattr(runtime, "_NUM_THREADS", None)
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "1")
    assert runtime._default_threads() == 1 and runtime._num_threads() == 1
    monkeypatch.setattr(runtime, "_NUM_THREADS", None)
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="MINIGRAD_NUM_THREADS"):
        runtime._num_threads()  # (the pool used to ignore a bad value that BLAS's reading refused)
    monkeypatch.setattr(runtime, "_NUM_THREADS", None)
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert runtime._default_threads() is None and runtime._num_threads() == 2  # 0: the environment says
