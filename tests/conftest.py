"""Shared test setup: every test starts from minigrad's defaults, whatever the previous one did."""

from __future__ import annotations

import os

import pytest

import minigrad as mg
from minigrad.autograd import graph as _graph


@pytest.fixture(autouse=True)
def _minigrad_defaults():
    """Restore the default dtype, grad mode and anomaly mode after each test (a failing test
    that changed them must not make later, unrelated tests fail)."""
    dtype = mg.get_default_dtype()
    enabled = _graph._state.enabled
    anomaly = _graph._state.anomaly
    yield
    mg.set_default_dtype(dtype)
    _graph._state.enabled = enabled
    _graph._state.anomaly = anomaly


def pytest_collection_modifyitems(config, items):
    """Tests marked ``slow`` run only with MINIGRAD_SLOW=1 (pyproject's marker description)."""
    if os.environ.get("MINIGRAD_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow; set MINIGRAD_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# -- devices -------------------------------------------------------------------------------------
# MINIGRAD_TEST_DEVICE=fakecuda runs the device-aware tests (the op harness, nn, optim, the demo)
# on device "cuda" backed by tests/fakecuda.py, a CuPy-shaped stand-in over numpy; unset, they run
# on "cpu". Device-boundary tests use the stand-in explicitly in either run (the ``fakecuda`` fixture).
from devices import TEST_DEVICE  # noqa: E402

if TEST_DEVICE == "cuda":
    import fakecuda

    fakecuda.install()


@pytest.fixture
def device():
    """The device under test: ``'cuda'`` (the stand-in) with MINIGRAD_TEST_DEVICE=fakecuda, else ``'cpu'``."""
    return TEST_DEVICE


@pytest.fixture
def fakecuda():
    """The CuPy-shaped stand-in installed as the "cuda" device for this test (then as before)."""
    import fakecuda as fc

    from minigrad.backends import _registry

    before = _registry.loaded("cuda")
    bk = fc.install()
    yield bk
    _registry.set_device_backend("cuda", before)
