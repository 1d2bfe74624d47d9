"""The random-program fuzzer's programs, compiled: each program's forward and backward (one
compiled step) replayed must give eager's output and every input's ``.grad`` bit for bit, or
break the graph (a ``CompileWarning``) and then give eager's results anyway.

``MINIGRAD_FUZZ_COMPILE_EXAMPLES=N`` runs N programs of each kind (default 30).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from strategies import VIEW_OPS, programs

import minigrad as mg
from minigrad.compiler import CompileWarning

N = int(os.environ.get("MINIGRAD_FUZZ_COMPILE_EXAMPLES", "30"))
_SETTINGS = dict(deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much])


def _check_compiled(program) -> None:
    fn = program.function()

    def step(*xs):
        y = fn(*xs)
        if y.requires_grad:
            y.backward()
        return y

    def run(f):
        xs = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in program.inputs]
        y = f(*xs)
        return y.numpy().copy(), [None if x.grad is None else x.grad.numpy().copy() for x in xs]

    y_ref, g_ref = run(step)
    compiled = mg.compile(step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)  # a graph break runs eagerly: checked the same
        for _ in range(4):  # record, check, replay twice
            y, gs = run(compiled)
            np.testing.assert_array_equal(y, y_ref, err_msg=program.source)
            for g, r in zip(gs, g_ref):
                assert (g is None) == (r is None), program.source
                if g is not None:
                    np.testing.assert_array_equal(g, r, err_msg=program.source)


@settings(max_examples=N, **_SETTINGS)
@given(programs())
def test_random_programs_compiled(program):
    _check_compiled(program)


@settings(max_examples=N, **_SETTINGS)
@given(programs(max_ops=8, ops=VIEW_OPS))
def test_random_view_programs_compiled(program):
    _check_compiled(program)
