"""Profile minigrad on workloads: ``python -m benchmarks.profile [NAME ...] [--top N] [--tool T]``.

``--tool cprofile`` (default) prints the top functions by own time (tottime) with their
share of the total, which is where the engine's overhead over the numpy floor goes.
``--tool pyinstrument`` prints pyinstrument's call tree, ``--tool lines`` a line_profiler
report of the backward walk and the op callers (both optional installs).
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


def profile(name: str, top: int = 15, repeat: int | None = None, api: str = "auto", compiled: bool = False) -> str:
    w = workloads_minigrad.make(name, D.make(name), api=api, compiled=compiled)
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


def profile_with(tool: str, name: str, repeat: int | None = None, api: str = "auto", compiled: bool = False) -> str:
    """pyinstrument's call tree, or line_profiler on the engine's hot functions."""
    w = workloads_minigrad.make(name, D.make(name), api=api, compiled=compiled)
    w.checksum()
    w.run()
    n = repeat or REPEAT[name]
    if tool == "pyinstrument":
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise SystemExit("--tool pyinstrument needs pyinstrument (pip install pyinstrument)") from None
        prof = Profiler(interval=0.0002)
        prof.start()
        for _ in range(n):
            w.run()
        prof.stop()
        return prof.output_text(unicode=True, color=False, show_all=False)
    try:
        from line_profiler import LineProfiler
    except ImportError:
        raise SystemExit("--tool lines needs line_profiler (pip install line_profiler)") from None
    import io

    from minigrad.autograd import engine
    from minigrad.ops import elementwise

    lp = LineProfiler()
    # The op callers are closures: profiling one covers every op made by the same maker.
    for fn in (engine.run_backward, elementwise.mul, elementwise.tanh):
        lp.add_function(fn)
    lp.enable()
    for _ in range(n):
        w.run()
    lp.disable()
    out = io.StringIO()
    lp.print_stats(stream=out, output_unit=1e-6, stripzeros=True)
    return out.getvalue()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("names", nargs="*", metavar="NAME", help=f"default: tiny_ops deep_chain mlp_step; any of {WORKLOADS}")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--api", choices=("auto", "raw", "nn"), default="auto")
    p.add_argument("--tool", choices=("cprofile", "pyinstrument", "lines"), default="cprofile")
    p.add_argument("--compiled", action="store_true", help="profile the replays of minigrad.compile(step)")
    args = p.parse_args(argv)
    for name in args.names or ["tiny_ops", "deep_chain", "mlp_step"]:
        if name not in WORKLOADS:
            p.error(f"unknown workload {name!r}")
        if args.tool == "cprofile":
            print(profile(name, args.top, args.repeat, args.api, args.compiled))
        else:
            print(profile_with(args.tool, name, args.repeat, args.api, args.compiled))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
