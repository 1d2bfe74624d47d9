"""Deterministic cost figures: ``python -m benchmarks.instructions [--python PY]`` (needs valgrind).

Timings on a shared machine move 20-60% between runs; instruction counts do not. Each
program runs twice under ``valgrind --tool=callgrind``, with N units and with 0, and the
difference divided by N is its cost per unit, import and set-up cancelled out. For code
dominated by Python overhead (small tensors) the counts track time closely. One BLAS thread.

Units: ``tiny_ops`` one run of the 30-op program (forward, or forward and backward);
``chain`` one link ``(y * w + x).tanh() * 0.5`` of a long chain on (8,) tensors (4 ops; the
backward of the whole chain is shared out over the links); ``moons`` one training step.
Part ``compiled``: the same forward and backward (and, for moons, the SGD update) through
``minigrad.compile``, recorded during the warm-up, so the count is one replay; shown as
unavailable while minigrad has no ``compile``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = r"""
import sys
import numpy as np
import minigrad as mg
from benchmarks import data as D
from benchmarks.workloads_torchlike import Lib, Moons, make, tiny_program

name, part, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
a = mg.from_numpy(rng.random(8, dtype=np.float32)).requires_grad_()
b = mg.from_numpy(rng.random(8, dtype=np.float32)).requires_grad_()


def tiny_step(a, b):
    out = tiny_program(a, b)
    out.backward()
    return out


compiled_tiny = mg.compile(tiny_step) if part == "compiled" else None


def tiny(k):
    if compiled_tiny is not None:  # the warm-up's 3 calls record, check, replay
        for _ in range(k):
            a.grad = b.grad = None
            compiled_tiny(a, b)
        return
    for _ in range(k):
        a.grad = b.grad = None
        out = tiny_program(a, b)
        if part == "fwd+bwd":
            out.backward()


def chain(k):
    a.grad = b.grad = None
    y = a
    for _ in range(k):
        y = (y * b + a).tanh() * 0.5
    if part == "fwd+bwd":
        y.sum().backward()


compiled_moons = []


def moons(k):
    d = D.make("moons")
    d["cfg"] = dict(d["cfg"], steps=k)
    if part == "compiled":  # one compiled workload: the warm-up records, the counted run replays
        if not compiled_moons:
            compiled_moons.append(make(Lib(mg), "moons", d, compiled=True))
        w = compiled_moons[0]
        w.lrs = w.lrs[:1] * k  # k steps (the rate's value does not change the count)
        if k:
            w.run()
    elif k:
        Moons(Lib(mg), d).run()


run = {"tiny_ops": tiny, "chain": chain, "moons": moons}[name]
run(3)  # warm: first-call costs (imports, caches) out of the difference
run(n)
"""

CASES = [("tiny_ops", "fwd", 200), ("tiny_ops", "fwd+bwd", 200), ("tiny_ops", "compiled", 200), ("chain", "fwd", 2000),
         ("chain", "fwd+bwd", 2000), ("moons", "fwd+bwd+step", 50), ("moons", "compiled", 50)]


def count(python: str, name: str, part: str, n: int) -> int:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]))
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", PROGRAM, name, part, str(n)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    m = re.search(r"Collected : (\d+)", done.stderr)
    if m is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", default=sys.executable, help="the interpreter to measure (default: this one)")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    print(f"{'program':10s} {'part':14s} {'instructions per unit':>22s}")
    has_compile = subprocess.run([args.python, "-c", "import minigrad; minigrad.compile"], capture_output=True,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT / "src"))).returncode == 0
    for name, part, n in CASES:
        if part == "compiled" and not has_compile:
            print(f"{name:10s} {part:14s} {'unavailable (no minigrad.compile)':>22s}")
            continue
        per_unit = (count(args.python, name, part, n) - count(args.python, name, part, 0)) / n
        print(f"{name:10s} {part:14s} {per_unit:22,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
