"""examples/examples.ipynb: the committed copy carries its outputs, they are those of a fresh run
(final losses, accuracies, graph labels), and it runs top to bottom.

When the numbers move (a changed op, random generator or optimizer), regenerate the saved
outputs with ``python examples/regen_notebook.py``.
"""

import html
import json
import math
import pathlib
import re
import sys
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


_PROGRESS = re.compile(r"it/s\]|s/it\]|\|[█▏▎▍▌▋▊▉ ]*\|")
_NUMBER = re.compile(r"(final loss|loss|accuracy)\s*[:=]?\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)%?")
_SVG_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def fingerprint(nb) -> dict:
    """What a fresh run must reproduce: per code cell, the numbers printed after "loss" and
    "accuracy" (progress bars left out), and the text of the graph drawings (op names, tensor
    names and shapes; not the values, which the numbers above cover)."""
    out = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        text = "\n".join(line for line in _text(cell).splitlines() if not _PROGRESS.search(line))
        numbers = [(key, float(v)) for key, v in _NUMBER.findall(text)]
        labels = []
        for o in cell.get("outputs", []):
            svg = o.get("data", {}).get("image/svg+xml")
            if svg:
                svg = "".join(svg) if isinstance(svg, list) else svg
                labels += [html.unescape(t) for t in _SVG_TEXT.findall(svg)
                           if not t.lstrip().startswith(("value", "grad", "["))]
        if numbers or labels:
            out[i] = {"numbers": numbers, "labels": sorted(labels)}
    return out


def differences(saved: dict, fresh: dict) -> list:
    """Where two fingerprints disagree (numbers to 0.1% or 1e-6, labels exactly)."""
    diffs = []
    for i in sorted(set(saved) | set(fresh)):
        a, b = saved.get(i), fresh.get(i)
        if a is None or b is None:
            diffs.append(f"cell {i}: saved {a}, fresh {b}")
            continue
        if [k for k, _ in a["numbers"]] != [k for k, _ in b["numbers"]] or not all(
                math.isclose(x, y, rel_tol=1e-3, abs_tol=1e-6) for (_, x), (_, y) in zip(a["numbers"], b["numbers"])):
            diffs.append(f"cell {i}: saved {a['numbers']}, fresh {b['numbers']}")
        if a["labels"] != b["labels"]:
            diffs.append(f"cell {i}: graph labels saved {a['labels']}, fresh {b['labels']}")
    return diffs


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


def test_fingerprint_sees_numbers_and_labels():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    fp = fingerprint(nb)
    keys = [k for cell in fp.values() for k, _ in cell["numbers"]]
    assert keys.count("final loss") >= 5 and "accuracy" in keys
    labels = [lab for cell in fp.values() for lab in cell["labels"]]
    assert "MulBackward0" in labels and "LinearBackward0" in labels
    assert "released" not in labels  # the drawings keep every intermediate
    changed = json.loads(json.dumps(fp))
    cell, j = next((k, j) for k, v in changed.items() for j, (_, x) in enumerate(v["numbers"]) if abs(x) > 1e-3)
    changed[cell]["numbers"][j][1] *= 1.01  # a 1% change of a loss or accuracy is seen
    assert differences(fp, {int(k): v for k, v in changed.items()}) != []
    assert differences(fp, fp) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_saved_outputs_are_those_of_a_fresh_run():
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    sys.path.insert(0, str(NOTEBOOK.parent))
    try:
        from regen_notebook import execute
    finally:
        sys.path.pop(0)
    start = time.perf_counter()
    nb = execute()  # raises CellExecutionError (with the cell and traceback) if any cell fails
    elapsed = time.perf_counter() - start
    cells = _code_cells(nb)
    assert "full mode" in _text(cells[0])
    assert all(c["execution_count"] is not None for c in cells)
    saved = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    diffs = differences(fingerprint(saved), fingerprint(nb))
    assert not diffs, ("the saved outputs are stale: run `python examples/regen_notebook.py`\n"
                       + "\n".join(diffs))
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
