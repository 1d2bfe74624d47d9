"""Compare two benchmark runs: ``python -m benchmarks.compare OLD.json NEW.json``.

For each workload and library present in both, prints the old and new medians, the
change, and whether it exceeds the noise: a change counts only when it is larger than
both runs' own spread (half the range of their per-round figures, relative to the median).
Use it to keep what wins, and to see that one optimisation regresses no other workload.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def _rounds(res: dict, lib: str) -> list[float]:
    return [row[lib] for row in res.get("rounds", []) if lib in row]


def _spread(vals: list[float]) -> float:
    if len(vals) < 2:
        return 0.0
    return (max(vals) - min(vals)) / 2 / statistics.median(vals)


def compare(old: dict, new: dict) -> str:
    lines = ["| workload | library | old | new | change | beyond noise? |", "|---|---|---:|---:|---:|---|"]
    for name, res_new in new["workloads"].items():
        res_old = old["workloads"].get(name)
        if res_old is None:
            continue
        for lib in ("minigrad", "compiled", "numpy", "torch"):
            a, b = _rounds(res_old, lib), _rounds(res_new, lib)
            if not a or not b:
                continue
            ma, mb = statistics.median(a), statistics.median(b)
            change = mb / ma - 1
            noise = max(_spread(a), _spread(b))
            verdict = ("faster" if change < 0 else "SLOWER") if abs(change) > noise else "noise"
            lines.append(f"| {name} | {lib} | {ma:.4g} | {mb:.4g} | {100 * change:+.1f}% | "
                         f"{verdict} (spread ±{100 * noise:.0f}%) |")
    for run, label in ((old, "old"), (new, "new")):
        m = run.get("machine", {})
        lines.append(f"\n{label}: {run.get('when')}, {m.get('cpu')}, {run.get('clock', 'wall')} clock, "
                     f"{m.get('threads')} threads, load {m.get('loadavg_start')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    args = p.parse_args(argv)
    print(compare(json.loads(args.old.read_text()), json.loads(args.new.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
