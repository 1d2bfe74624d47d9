"""Profile minigrad on one workload with cProfile: ``python -m benchmarks.profile NAME [--top N]``.

Prints the top functions by own time (tottime) with their share of the total, which
is where the engine's overhead over the numpy floor goes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from . import data as D
from . import workloads_minigrad
from .common import WORKLOADS

REPEAT = {"tiny_ops": 20, "mlp_step": 20, "cnn_step": 5, "deep_chain": 3, "big_elementwise": 5, "moons": 3}


def profile(name: str, top: int = 15, repeat: int | None = None, api: str = "auto") -> str:
    w = workloads_minigrad.make(name, D.make(name), api=api)
    w.checksum()
    w.run()  # warm
    n = repeat or REPEAT[name]
    t = time.perf_counter()
    for _ in range(n):
        w.run()
    plain = (time.perf_counter() - t) / n
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        w.run()
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lines = [f"{name} ({w.variant}): {plain * 1e3:.2f} ms per run unprofiled, {n} runs profiled, "
             f"profiled total {total:.2f} s",
             f"{'tottime%':>8} {'cum%':>6} {'calls/run':>10}  function"]
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in rows:
        where = file.split("/src/")[-1].split("/benchmarks/")[-1] if "/" in file else file
        lines.append(f"{100 * tt / total:8.1f} {100 * ct / total:6.1f} {nc / n:10.0f}  {fn} ({where}:{line})")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"default: tiny_ops deep_chain mlp_step; any of {WORKLOADS}")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--api", choices=("auto", "raw", "nn"), default="auto")
    args = p.parse_args(argv)
    for name in args.names or ["tiny_ops", "deep_chain", "mlp_step"]:
        if name not in WORKLOADS:
            p.error(f"unknown workload {name!r}")
        print(profile(name, args.top, args.repeat, args.api))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
