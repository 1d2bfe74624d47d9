"""Run the suite: one process per (library, workload), rounds interleaved A B C A B C ...

For each workload the runner starts a worker per library (each imports its library,
builds the same numpy-generated data, computes its checksum on fresh state and warms
up), then runs rounds: in each round every library in turn runs the timed unit
``inner`` times, the round's figure being the median of those. The report gives per
library the median over rounds, the per-round ratios minigrad/numpy and minigrad/torch
and their medians, each process's peak RSS growth over its post-import RSS, and flags
any checksum that disagrees with the numpy floor's. The "library" ``compiled`` is
minigrad with each step through ``minigrad.compile``; its table gives the same-round
ratios to the floor, to PyTorch and to eager minigrad, what recording costs in eager
steps, and tracemalloc's peak over one unit, eager against compiled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import ATOL, DEFAULT_RTOL, LIBS, RTOL, UNITS, WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

# Timed units per round (full run); chosen so every workload's rounds take a few
# seconds on a 2-core machine and the whole suite stays under 5 minutes.
INNER = {"tiny_ops": 3, "mlp_step": 5, "cnn_step": 3, "deep_chain": 1, "big_elementwise": 3, "moons": 1}
DEFAULT_ROUNDS = 7
WORKLOAD_BUDGET_S = 35.0  # stop adding rounds to a workload past this (keeps the 5-minute cap)
READ_TIMEOUT_S = 300.0
DONE_TIMEOUT_S = 900.0  # the tracemalloc pass (see worker.step_peak_bytes)
# minigrad.runtime's glibc settings (HEAP_KEEP, OWN_MAP_FROM), for --malloc same.
HEAP_KEEP = 128 * 2**20
OWN_MAP_FROM = 16 * 2**20


def default_threads() -> int:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            return int(v)
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info(threads: int) -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(), "threads": threads,
            "python": sys.version.split()[0]}
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    return info


class Worker:
    """A worker subprocess and its line protocol."""

    def __init__(self, lib: str, python: str, name: str, size: str, api: str, threads: int, clock: str = "wall",
                 malloc: str = "system"):
        self.lib = lib
        env = dict(os.environ)
        if malloc == "same":
            # minigrad sets glibc's trim and mmap thresholds when imported (runtime.keep_freed_heap),
            # so a step reuses the last step's freed pages instead of faulting them in again.
            # Every library's process gets the same settings: no one wins by allocator settings.
            env["MALLOC_TRIM_THRESHOLD_"] = str(HEAP_KEEP)
            env["MALLOC_MMAP_THRESHOLD_"] = str(OWN_MAP_FROM)
        elif malloc == "keep":
            # glibc: serve big arrays from the heap and never hand freed memory back to the
            # OS, so a step does not page-fault its temporaries in again (all libraries alike).
            env["MALLOC_MMAP_THRESHOLD_"] = str(2**28)
            env["MALLOC_TRIM_THRESHOLD_"] = str(2**30)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        paths = [str(ROOT), str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        # stderr goes to a file: a chatty worker must never block on a full pipe.
        self.err = tempfile.TemporaryFile(mode="w+")
        try:
            self.proc = subprocess.Popen(
                [python, "-m", "benchmarks.worker", lib, name, size, api, str(threads), clock],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err,
                text=True, cwd=str(ROOT), env=env,
            )
        except OSError as e:
            self.proc = None
            self.start_error = f"cannot start {python}: {e}"

    def read(self, timeout: float = READ_TIMEOUT_S) -> dict:
        if self.proc is None:
            return {"status": "unavailable", "reason": self.start_error}
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            self.proc.wait()
            self.err.seek(0)
            err = self.err.read()
            tail = err.strip().splitlines()[-1:] or ["no output"]
            return {"status": "error", "reason": f"worker died or timed out: {tail[0]}"}
        return json.loads(line)

    def send(self, cmd: str, timeout: float = READ_TIMEOUT_S) -> dict:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                if f:
                    f.close()
        self.err.close()


def _agree(c: float, ref: float, name: str) -> bool:
    return abs(c - ref) <= ATOL + RTOL.get(name, DEFAULT_RTOL) * abs(ref)


def run_workload(name: str, args, pythons: dict, threads: int, log) -> dict:
    unit, factor = UNITS[name]
    rounds = args.rounds or (2 if args.quick else DEFAULT_ROUNDS)
    inner = args.inner or (1 if args.quick else INNER[name])
    libs = [lib for lib in LIBS if lib in args.libs]
    workers = {lib: Worker(lib, pythons[lib], name, args.size, args.api, threads, args.clock, args.malloc) for lib in libs}
    res = {"unit": unit, "rounds": [], "libs": {}}
    try:
        live = []
        for lib in libs:
            msg = workers[lib].read()
            res["libs"][lib] = msg
            if msg.get("status") == "ready":
                live.append(lib)
            else:
                log(f"  {name}/{lib}: {msg.get('status')}: {msg.get('reason')}")
        t0 = time.perf_counter()
        for r in range(rounds):
            if r > 0 and time.perf_counter() - t0 > args.budget:
                log(f"  {name}: stopping after {r} rounds (budget {args.budget:.0f} s)")
                break
            row = {}
            for lib in list(live):
                msg = workers[lib].send(f"run {inner}")
                if "times" not in msg:
                    res["libs"][lib] = msg
                    live.remove(lib)
                    log(f"  {name}/{lib}: {msg.get('reason')}")
                    continue
                count = res["libs"][lib]["count"]
                row[lib] = statistics.median(msg["times"]) * factor / count
                if args.pause:
                    time.sleep(args.pause)  # let spinning BLAS/OpenMP threads go idle
            res["rounds"].append(row)
            log(f"  {name} round {r + 1}: " + "  ".join(f"{k}={v:.4g}" for k, v in row.items()))
        for lib in live:
            # tracemalloc slows a recording down ~5x: deep_chain's compiled copy takes minutes
            msg = workers[lib].send("done" if args.memory else "done no-memory", timeout=DONE_TIMEOUT_S)
            res["libs"][lib]["peak_rss_growth_mb"] = msg.get("peak_rss_growth", float("nan")) / 2**20
            res["libs"][lib]["step_peak"] = msg.get("step_peak")
            res["libs"][lib]["step_held"] = msg.get("step_held")
            if "reason" in msg:
                log(f"  {name}/{lib}: done: {msg['reason']}")
    finally:
        for w in workers.values():
            w.close()
    summarize(name, res)
    return res


# Same-round ratios the report gives: (library, against).
RATIOS = (("minigrad", "numpy"), ("minigrad", "torch"), ("compiled", "numpy"), ("compiled", "torch"),
          ("compiled", "minigrad"))


def summarize(name: str, res: dict) -> None:
    for lib, info in res["libs"].items():
        vals = [row[lib] for row in res["rounds"] if lib in row]
        if vals:
            info["median"] = statistics.median(vals)
    for lib, other in RATIOS:
        ratios = [row[lib] / row[other] for row in res["rounds"] if lib in row and other in row]
        res[f"ratios_{lib}_{other}"] = ratios
        res[f"ratio_{lib}_{other}"] = statistics.median(ratios) if ratios else None
    ready = {lib: i for lib, i in res["libs"].items() if i.get("status") == "ready"}
    ref_lib = "numpy" if "numpy" in ready else next(iter(ready), None)
    res["checksum_reference"] = ref_lib
    for info in ready.values():
        info["checksum_ok"] = _agree(info["checksum"], ready[ref_lib]["checksum"], name)
    if "compiled" in ready and "minigrad" in ready:
        # the compiler's promise is eager's numbers bit for bit, not just within tolerance
        ready["compiled"]["same_as_eager"] = ready["compiled"]["checksum"] == ready["minigrad"]["checksum"]


def _fmt(v, unit=None) -> str:
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _ratio_cell(res: dict, other: str, lib: str = "minigrad") -> str:
    """Median of the per-round ratios, with their range when there are several rounds."""
    med = res.get(f"ratio_{lib}_{other}")
    if not med:
        return "—"
    rs = res.get(f"ratios_{lib}_{other}") or []
    spread = f" ({_fmt(min(rs))}–{_fmt(max(rs))})" if len(rs) > 1 else ""
    return f"{_fmt(med)}x{spread}"


def _load(la) -> str:
    return "?" if not la else "/".join(f"{v:.1f}" for v in la)


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"minigrad benchmarks — {report['when']} — {m['cpu']}, {m['cores']} cores, "
        f"{m['threads']} BLAS/torch threads, {report['clock']} clock, malloc={report['malloc']}, size={report['size']}, "
        f"rounds<={report['rounds']}, "
        f"load average {_load(m.get('loadavg_start'))} at start, {_load(m.get('loadavg_end'))} at end",
        "",
        "| workload | unit | minigrad | numpy floor | torch | minigrad/numpy | minigrad/torch "
        "| peak RSS growth MB (mg / np / torch) | checksums |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    notes = []
    for name, res in report["workloads"].items():
        cells = []
        mems = []
        bad = []
        for lib in ("minigrad", "numpy", "torch"):
            info = res["libs"].get(lib)
            if info is None:
                cells.append("—")
                mems.append("—")
                continue
            st = info.get("status")
            if st != "ready":
                cells.append("unavailable" if st == "unavailable" else "error")
                mems.append("—")
                notes.append(f"- {name}/{lib}: {st}: {info.get('reason')}")
                continue
            cells.append(_fmt(info.get("median")))
            mems.append(_fmt(info.get("peak_rss_growth_mb")))
            if not info.get("checksum_ok", True):
                bad.append(lib)
        ratios = [_ratio_cell(res, "numpy"), _ratio_cell(res, "torch")]
        ck = "ok" if not bad else "MISMATCH: " + ", ".join(bad)
        lines.append(f"| {name} | {res['unit']} | {' | '.join(cells)} | {' | '.join(ratios)} | "
                     f"{' / '.join(mems)} | {ck} |")
        for lib, info in res["libs"].items():
            if info.get("status") == "ready" and lib != "numpy":
                notes.append(f"- {name}/{lib}: {info.get('variant')}")
            if bad and lib in bad:
                notes.append(f"- {name}/{lib}: checksum {info['checksum']:.7g} vs "
                             f"{res['checksum_reference']} {res['libs'][res['checksum_reference']]['checksum']:.7g}")
    lines += ["", "Medians over rounds; ratios are medians of per-round ratios (their range in brackets). "
              "Variants and problems:", *notes]
    lines += compiled_table(report)
    lines.append(f"\nTotal wall time {report['wall_s']:.0f} s.")
    return "\n".join(lines)


def _mb(b) -> str:
    return "—" if b is None else _fmt(b / 2**20)


def compiled_table(report: dict) -> list[str]:
    """The compiled rows: same-round ratios, recording cost, tracemalloc peaks, checksums."""
    rows = [res for res in report["workloads"].values() if "compiled" in res["libs"]]
    if not rows:
        return []
    lines = ["", "minigrad.compile (same rounds as above):", "",
             "| workload | unit | eager | compiled | compiled/numpy | compiled/torch | compiled/eager "
             "| recording + check (eager steps) | peak MB, tracemalloc (eager / compiled / floor) | checksums |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    notes = []
    for name, res in report["workloads"].items():
        info = res["libs"].get("compiled")
        if info is None:
            continue
        if info.get("status") != "ready":
            lines.append(f"| {name} | {res['unit']} | {_fmt(res['libs'].get('minigrad', {}).get('median'))} "
                         f"| {info.get('status')} | | | | | | |")
            notes.append(f"- {name}/compiled: {info.get('status')}: {info.get('reason')}")
            continue
        rec = info.get("record") or {}
        peaks = " / ".join(_mb(res["libs"].get(lib, {}).get("step_peak")) for lib in ("minigrad", "compiled", "numpy"))
        ck = "ok" if info.get("checksum_ok", True) else "MISMATCH"
        if "same_as_eager" in info:
            ck += ", = eager" if info["same_as_eager"] else (
                f", differs from eager ({info['checksum']:.9g} vs {res['libs']['minigrad']['checksum']:.9g})")
        record = f"{rec['record_steps']:.2f} + {rec['check_steps']:.2f}" if "record_steps" in rec else "—"
        lines.append(f"| {name} | {res['unit']} | {_fmt(res['libs'].get('minigrad', {}).get('median'))} | "
                     f"{_fmt(info.get('median'))} | {_ratio_cell(res, 'numpy', 'compiled')} | "
                     f"{_ratio_cell(res, 'torch', 'compiled')} | {_ratio_cell(res, 'minigrad', 'compiled')} | "
                     f"{record} | {peaks} | {ck} |")
        held = [res["libs"].get(lib, {}).get("step_held") for lib in ("minigrad", "compiled")]
        if None not in held:
            notes.append(f"- {name}: held between units (tracemalloc): eager {_mb(held[0])} MB, "
                         f"compiled {_mb(held[1])} MB")
        if rec:
            notes.append(f"- {name}: eager step {rec['eager_step_s'] * 1e3:.3g} ms; compiled calls: 1st (records) "
                         f"{rec['record_s'] * 1e3:.3g} ms (the first in the process {rec['first_call_s'] * 1e3:.3g} ms), "
                         f"2nd (records again, checks) {rec['check_s'] * 1e3:.3g} ms, "
                         f"3rd (replays) {rec['replay_s'] * 1e3:.3g} ms")
        notes += [f"- {name}/compiled: {w}" for w in info.get("warnings", [])]
    lines += ["", "recording + check: the first and second calls of a fresh compile of the step (both record; "
              "the second checks the first) over the median eager step, same process; peak: tracemalloc over "
              "one unit of a fresh copy (data, parameters and plan buffers included).", *notes]
    return lines


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2 rounds of 1 unit each (a quick look, or a smoke test)")
    p.add_argument("--only", action="append", choices=WORKLOADS, metavar="NAME",
                   help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}")
    p.add_argument("--rounds", type=int, default=None, help=f"rounds per workload (default {DEFAULT_ROUNDS})")
    p.add_argument("--inner", type=int, default=None, help="timed units per round (default: per workload)")
    p.add_argument("--libs", default=",".join(LIBS),
                   help="comma-separated subset of minigrad,compiled,numpy,torch (compiled: minigrad.compile)")
    p.add_argument("--torch-python", default=os.environ.get("BENCH_TORCH_PYTHON", sys.executable),
                   help="interpreter that has torch (default: $BENCH_TORCH_PYTHON or this one)")
    p.add_argument("--minigrad-python", default=sys.executable, help="interpreter for minigrad (default: this one)")
    p.add_argument("--numpy-python", default=sys.executable, help="interpreter for the numpy floor")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for every process and torch.set_num_threads (default: env, else cores)")
    p.add_argument("--api", choices=("auto", "raw", "nn"), default="auto",
                   help="MLP/CNN: nn/F/optim when importable (auto), raw tensor ops only, or nn only")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall time (default), or process CPU time (all threads): steadier on a busy machine")
    p.add_argument("--malloc", choices=("system", "same", "keep"), default="system",
                   help="system (default): every library as shipped (minigrad keeps up to 128 MiB of freed glibc "
                   "heap); same: every process gets minigrad's settings; keep: never return memory to the OS")
    p.add_argument("--size", choices=("full", "tiny"), default="full", help="problem sizes (tiny: tests only)")
    p.add_argument("--budget", type=float, default=WORKLOAD_BUDGET_S, help="seconds per workload before rounds stop")
    p.add_argument("--pause", type=float, default=0.05, help="seconds of idle between libraries' turns")
    p.add_argument("--out-dir", default=str(RESULTS), help="where the JSON and Markdown go")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the tracemalloc pass (peak memory of a fresh copy; minutes for compiled deep_chain)")
    args = p.parse_args(argv)
    args.libs = [s.strip() for s in args.libs.split(",") if s.strip()]
    unknown = set(args.libs) - set(LIBS)
    if unknown:
        p.error(f"unknown libraries: {sorted(unknown)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = args.threads or default_threads()
    pythons = {"minigrad": args.minigrad_python, "compiled": args.minigrad_python, "numpy": args.numpy_python,
               "torch": args.torch_python}
    names = args.only or list(WORKLOADS)
    t0 = time.perf_counter()
    log = lambda s: print(s, file=sys.stderr, flush=True)
    report = {
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(threads), "size": args.size, "api": args.api, "clock": args.clock, "malloc": args.malloc,
        "rounds": args.rounds or (2 if args.quick else DEFAULT_ROUNDS),
        "pythons": pythons, "workloads": {},
    }
    for name in names:
        log(f"{name} ...")
        report["workloads"][name] = run_workload(name, args, pythons, threads, log)
    report["wall_s"] = time.perf_counter() - t0
    try:
        report["machine"]["loadavg_end"] = os.getloadavg()
    except OSError:
        pass
    for res in report["workloads"].values():
        for info in res["libs"].values():
            if "versions" in info:
                report["machine"].setdefault("versions", {}).update(info["versions"])
    md = markdown(report)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    for base in (f"bench-{stamp}", "latest"):
        (out / f"{base}.json").write_text(json.dumps(report, indent=1))
        (out / f"{base}.md").write_text(md + "\n")
    print(md)
    print(f"\n(written to {out}/bench-{stamp}.json and .md)")
    return 0
