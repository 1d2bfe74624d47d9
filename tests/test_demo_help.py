"""The demo's --help, header and plot, as a new user sees them."""

from __future__ import annotations

import re

import pytest

from minigrad import demo


def test_help_says_each_default_once_and_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text and "(default: False)" not in text
    flat = " ".join(text.split())
    for block in re.split(r"\s(?=--[a-z])", flat):
        assert block.count("default") <= 1, block
    options = re.findall(r"^  (--[a-z-]+)", text, flags=re.M)
    assert "--optimizer" in options and len(options) >= 12
    options_text = " ".join(text.split("options:")[1].split())
    after = options_text.split("--optimizer {sgd,adam,adamw,rmsprop}")[1]
    assert after.lstrip().startswith("optimizer (sgd"), after[:60]  # it has a help text
    assert "(default: adam)" in flat and "(default: 0)" in flat  # a default of 0 is still shown


def test_one_epoch_header_and_plot(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(demo, "plot_curves", lambda history, path, title="": calls.append((history, title)) or False)
    demo.main(["--epochs", "1", "--out", str(tmp_path), "--threads", "0", "--no-progress", "--hidden", "16"])
    out = capsys.readouterr().out
    assert ", 1 epoch," in out and "1 epochs" not in out
    (history, title), = calls
    assert len(history["train_loss"]) == 1
    assert "MLP" in title and "digits" in title


def test_plot_marks_a_single_epoch(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    real_subplots = plt.subplots

    def spy(*a, **k):
        fig, axes = real_subplots(*a, **k)
        made.append((fig, axes))
        return fig, axes

    plt.subplots = spy
    try:
        history = {"train_loss": [0.5], "test_loss": [0.4], "train_acc": [0.9], "test_acc": [0.92]}
        assert demo.plot_curves(history, str(tmp_path / "c.png"), "minigrad demo: MLP on digits")
    finally:
        plt.subplots = real_subplots
    fig, axes = made[0]
    for ax in axes:
        for line in ax.get_lines():
            assert line.get_marker() not in (None, "None", "", " ")
    assert fig._suptitle.get_text() == "minigrad demo: MLP on digits"
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_moons_example_writes_its_picture_into_the_output_folder(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "moons.py"
    spec = importlib.util.spec_from_file_location("moons_example_out", path)
    moons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(moons)
    monkeypatch.chdir(tmp_path)
    assert moons.main(["--steps", "20"]) == 0
    assert (tmp_path / "minigrad-demo-out" / "moons.png").is_file()
    assert not (tmp_path / "moons.png").exists()
    assert moons.main(["--steps", "20", "--out", "pics"]) == 0
    assert (tmp_path / "pics" / "moons.png").is_file()
