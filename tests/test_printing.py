"""repr of tensors equals PyTorch's (stored in tests/fixtures/repr.npz by gen_repr.py), with
``torch`` written ``minigrad``: padding of signs, notation, wrapping, summarisation, suffixes."""

from __future__ import annotations

import os

import numpy as np
import pytest

import minigrad as mg

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = np.load(os.path.join(HERE, "fixtures", "repr.npz"))
NAMES = [str(n) for n in FIX["names"]]


def _make(arr, how):
    t = mg.tensor(arr, requires_grad=how != "plain")
    if how == "mul":
        return t * 2
    if how == "sum":
        return t.sum()
    return t


def test_fixture_covers_the_cases_of_the_generator():
    import sys

    sys.path.insert(0, os.path.join(HERE, "fixtures"))
    try:
        from gen_repr import cases
    finally:
        sys.path.pop(0)
    made = cases()
    assert [c[0] for c in made] == NAMES
    for i, (_, arr, how) in enumerate(made):
        np.testing.assert_array_equal(FIX[f"a{i}"], arr)
        assert FIX[f"a{i}"].dtype == arr.dtype and str(FIX["hows"][i]) == how


@pytest.mark.parametrize("i", range(len(NAMES)), ids=NAMES)
def test_repr_matches_pytorch(i):
    t = _make(FIX[f"a{i}"], str(FIX["hows"][i]))
    assert repr(t) == str(FIX["expected"][i])
    assert str(t) == repr(t)


def test_columns_line_up():
    text = repr(mg.tensor([[1.5, -2.0], [-0.25, 10.0]]))
    assert text == "tensor([[ 1.5000, -2.0000],\n        [-0.2500, 10.0000]])"
    rows = text.splitlines()
    assert rows[0].index(",") == rows[1].index(",")


def test_repr_of_default_dtype_float64():
    prev = mg.get_default_dtype()
    mg.set_default_dtype(mg.float64)
    try:
        assert repr(mg.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
        assert repr(mg.tensor([1.5], dtype=mg.float32)) == "tensor([1.5000], dtype=minigrad.float32)"
    finally:
        mg.set_default_dtype(prev)


@pytest.mark.torch
def test_fixture_is_what_torch_prints_now():
    torch = pytest.importorskip("torch")
    for i, name in enumerate(NAMES):
        arr, how = FIX[f"a{i}"], str(FIX["hows"][i])
        t = torch.tensor(arr, requires_grad=how != "plain")
        t = t * 2 if how == "mul" else t.sum() if how == "sum" else t
        assert repr(t).replace("torch.", "minigrad.") == str(FIX["expected"][i]), name
