"""``python -m minigrad.distributed.run --nproc-per-node N train.py [args]``: start N ranks (torchrun's role).

It runs ``mpiexec -n N <this python> train.py [args]`` with the ``mpiexec`` installed beside
this Python (the MPICH wheel's, in a virtual environment) or else the first one on ``PATH``,
and with one BLAS thread per rank (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
``MKL_NUM_THREADS`` set to 1 unless already set: N ranks each running a thread per core would
oversubscribe the cores many times over). The job's exit status is mpiexec's: 0 when every
rank succeeded, non-zero when one failed (an uncaught exception aborts the whole job).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpiexec() -> str:
    """The ``mpiexec`` next to ``sys.executable`` (a venv's, from the mpich wheel), else the one on PATH."""
    beside = Path(sys.executable).parent / ("mpiexec.exe" if os.name == "nt" else "mpiexec")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise FileNotFoundError(
            "minigrad.distributed.run: no mpiexec found beside this Python or on PATH; "
            "pip install \"minigrad[distributed]\" (it brings MPICH's mpiexec) or install your system's MPI")
    return found


def rank_environment(base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) with one BLAS thread per rank unless already chosen."""
    env = dict(os.environ if base is None else base)
    for var in BLAS_THREAD_VARS:
        env.setdefault(var, "1")
    return env


def build_command(nproc: int, script: str, script_args: list[str], module: bool = False,
                  mpiexec: str | None = None) -> list[str]:
    """The mpiexec command line that starts ``nproc`` ranks of ``script`` (or ``-m module``)."""
    target = ["-m", script] if module else [script]
    return [mpiexec or find_mpiexec(), "-n", str(nproc), sys.executable, *target, *script_args]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m minigrad.distributed.run",
        description="Start N processes of a training script under MPI (one rank each).")
    p.add_argument("--nproc-per-node", "--nproc_per_node", dest="nproc", type=int, default=1,
                   help="number of processes (ranks) to start on this machine (default 1)")
    p.add_argument("--standalone", action="store_true", help="accepted as torchrun's (this launcher is single-machine)")
    p.add_argument("--nnodes", type=int, default=1,
                   help="machines: 1 (on a cluster, start the script with the cluster's mpiexec or srun)")
    p.add_argument("-m", "--module", action="store_true",
                   help="run the script argument as a module, as python -m does")
    p.add_argument("script", help="the training script (or module with -m)")
    p.add_argument("script_args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.nproc < 1:
        raise SystemExit(f"minigrad.distributed.run: --nproc-per-node must be at least 1, got {args.nproc}")
    if args.nnodes != 1:
        raise SystemExit("minigrad.distributed.run starts processes on this machine only; on several machines "
                         "start the script with the cluster's MPI launcher (mpiexec -n N --hostfile ..., srun)")
    try:
        cmd = build_command(args.nproc, args.script, args.script_args, module=args.module)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    sys.stdout.flush()
    sys.stderr.flush()
    # Become mpiexec: its exit status (and signals such as Ctrl-C) pass straight through.
    os.execve(cmd[0], cmd, rank_environment())


if __name__ == "__main__":
    main()
