"""examples/examples.ipynb: the committed copy carries its outputs, and it runs top to bottom (fast mode)."""

import json
import pathlib
import time

import pytest

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "examples.ipynb"


def _code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _text(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append("".join(o["text"]) if isinstance(o["text"], list) else o["text"])
        elif "data" in o and "text/plain" in o["data"]:
            t = o["data"]["text/plain"]
            parts.append("".join(t) if isinstance(t, list) else t)
    return "".join(parts)


def test_committed_notebook_was_executed_in_full_with_outputs():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cells = _code_cells(nb)
    assert len(cells) >= 15
    # Executed once, top to bottom, with no error anywhere.
    assert [c["execution_count"] for c in cells] == list(range(1, len(cells) + 1))
    for c in cells:
        assert not any(o["output_type"] == "error" for o in c["outputs"]), "".join(c["source"])[:200]
    # Saved from a full run (not the CI fast mode), with its figures and the graph drawing.
    assert "full mode" in _text(cells[0])
    outputs = [o for c in cells for o in c["outputs"]]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 7
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs)
    everything = "\n".join(_text(c) for c in cells)
    for needle in ("final loss", "train accuracy 100%", "test accuracy", "gradcheck True"):
        assert needle in everything, needle


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_notebook_runs_top_to_bottom_in_fast_mode(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MINIGRAD_FAST", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws headless
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # One BLAS thread: the notebook's matrices are small, and on a busy 2-core CI machine a
    # multi-threaded BLAS spends most of its time waiting for cores (measured 7x slower).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, startup_timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) if any cell fails
    elapsed = time.perf_counter() - start
    cells = _code_cells(nb)
    assert "fast mode" in _text(cells[0])
    assert all(c["execution_count"] is not None for c in cells)
    print(f"notebook ran in {elapsed:.1f} s")


def test_moons_script_reaches_full_accuracy_and_plots(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("moons_example", NOTEBOOK.parent / "moons.py")
    moons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(moons)
    model, X, y, history = moons.train(steps=200)
    assert moons.accuracy(model, X, y) == 1.0
    assert history[-1][0] < history[0][0]
    png = tmp_path / "moons.png"
    pytest.importorskip("matplotlib")
    assert moons.main(["--steps", "50", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "decision boundary written" in capsys.readouterr().out
