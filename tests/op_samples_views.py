"""Samples for the view ops of ``tests/test_ops.py``'s harness: ``diagonal`` and ``diagonal_scatter``
(value against numpy, gradcheck, gradgradcheck)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import Case, _rng, real

SAMPLES: dict = {}


def _diag_args(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    d1, d2 = draw(st.permutations(range(nd)))[:2]
    off = draw(st.integers(-3, 3))
    if draw(st.booleans()):
        d1 -= nd
    return shape, off, d1, d2


def _diag_np(x, off, d1, d2):
    return np.diagonal(x, off, d1, d2).copy()


def _sample_diagonal(draw):
    rng = _rng(draw)
    shape, off, d1, d2 = _diag_args(draw)
    return Case(lambda x: x.diagonal(off, d1, d2) * 1.5, lambda x: _diag_np(x, off, d1, d2) * 1.5,
                (real(rng, shape),))


def _sample_diagonal_scatter(draw):
    rng = _rng(draw)
    shape, off, d1, d2 = _diag_args(draw)
    vshape = np.diagonal(np.zeros(shape), off, d1, d2).shape

    def ref(x, v):
        out = x.copy()
        idx = np.arange(out.size).reshape(out.shape)
        out.flat[np.diagonal(idx, off, d1, d2)] = v
        return out * out

    return Case(lambda x, v: (lambda o: o * o)(x.diagonal_scatter(v, off, d1, d2)), ref,
                (real(rng, shape), real(rng, vshape)))


SAMPLES["diagonal"] = [_sample_diagonal]
SAMPLES["diagonal_scatter"] = [_sample_diagonal_scatter]
