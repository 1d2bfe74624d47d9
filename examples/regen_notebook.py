"""Re-run examples/examples.ipynb top to bottom (full mode) and save it with its fresh outputs.

    python examples/regen_notebook.py            # from the repository's root (needs .[notebook])

Run it after any change that moves the notebook's numbers or drawings (an op, the random
generator, an optimizer): tests/test_notebook.py fails while the saved outputs' final losses,
accuracies and graph labels differ from a fresh run's. The kernel imports minigrad from this
checkout's ``src/`` and uses one BLAS thread (minigrad's default).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "examples.ipynb"


def execute(path: pathlib.Path = NOTEBOOK, *, fast: bool = False, timeout: int = 900):
    """The notebook at ``path`` executed in a fresh kernel (a ``nbformat`` notebook object)."""
    import nbclient
    import nbformat

    env = dict(os.environ)
    env.pop("MINIGRAD_FAST", None)
    if fast:
        env["MINIGRAD_FAST"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("MPLBACKEND", None)  # the kernel's inline backend draws headless
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    nb = nbformat.read(str(path), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, startup_timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)  # the kernel process inherits this environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only report whether the saved outputs are current")
    args = ap.parse_args(argv)
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from test_notebook import differences, fingerprint

    start = time.perf_counter()
    fresh = execute()
    print(f"executed in {time.perf_counter() - start:.1f} s")
    saved = nbformat.read(str(NOTEBOOK), as_version=4)
    same = not differences(fingerprint(saved), fingerprint(fresh))
    if args.check:
        print("saved outputs are current" if same else "saved outputs are stale")
        return 0 if same else 1
    for cell in fresh.cells:  # timings change on every run: keep the saved file's diff to real changes
        cell.metadata.pop("execution", None)
    nbformat.write(fresh, str(NOTEBOOK))
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}" + ("" if not same else " (numbers unchanged)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
