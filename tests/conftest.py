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
