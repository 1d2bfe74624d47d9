"""One library running one workload, in its own process, driven by the runner.

``python -m benchmarks.worker LIB WORKLOAD SIZE API THREADS [CLOCK]`` (CLOCK: ``wall``,
the default, or ``cpu``: this process's CPU time, all its threads, kernel time included). Protocol, one JSON
object per line on the original stdout (the workload's own prints go to stderr):

- at start: ``{"status": "ready", "checksum", "variant", "import_s", ...}``, or
  ``{"status": "unavailable" | "error", "reason"}`` and exit;
- on ``run N``: runs the timed unit N times, answers ``{"times": [seconds, ...]}``;
- on ``done [no-memory]``: answers ``{"peak_rss_growth": bytes, "step_peak": bytes,
  "step_held": bytes}`` (peak RSS since just after the imports, minus the RSS then; and
  tracemalloc's figures over one unit of a fresh copy of the workload, see
  ``step_peak_bytes``; None with ``no-memory``) and exits.

LIB ``compiled`` is minigrad with each workload's step through ``minigrad.compile``; its
``ready`` message also carries ``record`` (see ``record_cost``) and the warnings the
compiler gave (graph breaks).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import time
import warnings


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # best effort off Linux


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so import-time peaks don't count."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes() -> int:
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.environ.get("OPENBLAS_NUM_THREADS", "?") + " (env)"
    return ",".join(f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info()) or "?"


def record_cost(w, clock, compile_fn, repeat: int = 3) -> dict:
    """What recording costs, in the same process: one eager step (median of 3 to 20), the
    compiled step's first call (the first recording in this process, so it also pays for
    whatever the compiler loads once) and, the figures reported, the first three calls of a
    fresh ``compile`` of the same step: the recording, the checking second recording
    (minigrad.compile records twice and compares), the first replay; medians over
    ``repeat`` fresh compiles."""
    args = w.step_args()
    eager = []
    stop = time.perf_counter() + 0.5
    while len(eager) < 3 or (len(eager) < 20 and time.perf_counter() < stop):
        w.before_step()
        t = clock()
        w.step(*args)
        eager.append(clock() - t)
    w.before_step()
    t = clock()
    w._step(*args)
    cold = clock() - t
    calls = [[], [], []]
    for _ in range(repeat):
        w._step = compile_fn(w.step)
        for times in calls:
            w.before_step()
            t = clock()
            w._step(*args)
            times.append(clock() - t)
    step = statistics.median(eager)
    record, check, replay = (statistics.median(v) for v in calls)
    return {"eager_step_s": step, "first_call_s": cold, "record_s": record, "check_s": check, "replay_s": replay,
            "record_steps": record / step, "check_steps": check / step, "replay_steps": replay / step}


def step_peak_bytes(make, name: str, size: str) -> tuple[int, int]:
    """tracemalloc's peak over one timed unit of a fresh copy of the workload: everything
    the workload holds (its data and parameters, gradients, a compiled plan and its buffers)
    plus what the unit allocates, numpy's arrays included (numpy reports them to
    tracemalloc); and what it holds just before the unit (the peak's part kept between units)."""
    import tracemalloc

    from . import data as D

    gc.collect()
    tracemalloc.start()
    try:
        w = make(name, D.make(name, size))
        w.checksum()
        w.run()
        gc.collect()
        tracemalloc.reset_peak()
        held = tracemalloc.get_traced_memory()[0]
        w.run()
        return tracemalloc.get_traced_memory()[1], held
    finally:
        tracemalloc.stop()


def main(argv: list[str]) -> int:
    lib, name, size, api, threads = argv[:5]
    threads = int(threads)
    clock = time.process_time if (argv[5:] or ["wall"])[0] == "cpu" else time.perf_counter
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the protocol

    def send(obj) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    t0 = time.perf_counter()
    try:
        import numpy as np

        from . import common
        from . import data as D

        versions = {"numpy": np.__version__, "python": sys.version.split()[0]}
        if lib in ("minigrad", "compiled"):
            from . import workloads_minigrad as impl

            L = impl.lib(api)
            import minigrad

            versions["minigrad"] = getattr(minigrad, "__version__", "?")
            compiled = lib == "compiled"
            make = lambda n, d: impl.W.make(L, n, d, compiled=compiled)
        elif lib == "torch":
            from . import workloads_torch as impl

            L = impl.lib(api, threads)
            versions["torch"] = L.T.__version__
            make = lambda n, d: impl.W.make(L, n, d)
        elif lib == "numpy":
            from . import workloads_numpy as impl

            make = impl.make
        else:
            raise ValueError(f"unknown library {lib!r}")
    except ImportError as e:
        send({"status": "unavailable", "reason": f"{type(e).__name__}: {e}"})
        return 0
    import_s = time.perf_counter() - t0
    D.make(name, "tiny")  # loads numpy.random etc. in every library's process alike, before the baseline
    gc.collect()
    base = rss_bytes()
    peak_reset = reset_peak()
    record = None
    try:
        d = D.make(name, size)
        w = make(name, d)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if w.compiled:
                record = record_cost(w, clock, minigrad.compile)
            checksum = w.checksum()  # on fresh state; doubles as the warm-up
            w.run()
    except common.Unavailable as e:
        send({"status": "unavailable", "reason": str(e)})
        return 0
    except Exception as e:  # report, don't crash the suite
        import traceback

        traceback.print_exc()
        send({"status": "error", "reason": f"{type(e).__name__}: {e}"})
        return 0
    notes = sorted({f"{c.category.__name__}: {c.message}" for c in caught})
    send({"status": "ready", "checksum": checksum, "variant": w.variant, "count": w.count,
          "record": record, "warnings": notes,
          "import_s": import_s, "versions": versions, "blas_threads": blas_threads(),
          "torch_threads": L.T.get_num_threads() if lib == "torch" else None, "peak_reset": peak_reset})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "run":
            gc.collect()
            times = []
            for _ in range(int(cmd[1])):
                t = clock()
                w.run()
                times.append(clock() - t)
            send({"times": times})
        elif cmd[0] == "done":
            peak = peak_bytes() - base
            step_peak = step_held = None
            if lib != "torch" and cmd[1:] != ["no-memory"]:  # torch's allocator is not traced
                step_peak, step_held = step_peak_bytes(make, name, size)
            send({"peak_rss_growth": peak, "rss_base": base, "step_peak": step_peak, "step_held": step_held})
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
