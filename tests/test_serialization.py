"""minigrad.save / minigrad.load: exact round trips, one file at the given path, and no code ever run."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.serialization import load, save


def _roundtrip(obj, tmp_path, name="x.pt"):
    path = tmp_path / name
    save(obj, path)
    return load(path)


def test_nested_structure_keeps_exact_types(tmp_path):
    t32 = mg.tensor([[1.5, 2.0]], requires_grad=True)
    t64 = mg.tensor([1.0, 2.0], dtype=mg.float64)
    ti = mg.tensor([1, 2, 3])
    tb = mg.tensor([True, False])
    obj = {
        "tensors": [t32, t64, ti, tb],
        "tuple": (1, 2.5, "s", None, True),
        "int_keys": {0: "a", 7: [1, 2]},
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "scalar": np.float32(1.25),
        "od": OrderedDict(b=1, a=2),
        "counter": Counter({5: 2, 9: 1}),
        "nested": {"x": ({"y": [()]},)},
        "special": [float("inf"), float("-inf"), 10**30],
        "tuple_key": {(1, "a"): 3},
        "empty": mg.zeros(0, 3),
        "zero_d": mg.tensor(3.5),
    }
    out = _roundtrip(obj, tmp_path)
    assert type(out) is dict and list(out) == list(obj)
    a, b, c, d = out["tensors"]
    assert isinstance(a, mg.Tensor) and a.dtype == mg.float32 and a.requires_grad and a.is_leaf
    np.testing.assert_array_equal(a.detach().numpy(), t32.detach().numpy())
    assert b.dtype == mg.float64 and not b.requires_grad
    assert c.dtype == mg.int64 and c.tolist() == [1, 2, 3]
    assert d.dtype == mg.bool and d.tolist() == [True, False]
    assert out["tuple"] == (1, 2.5, "s", None, True) and type(out["tuple"][0]) is int
    assert type(out["tuple"][4]) is bool and type(out["tuple"][1]) is float
    assert out["int_keys"] == {0: "a", 7: [1, 2]}
    assert type(out["array"]) is np.ndarray and out["array"].dtype == np.int16
    np.testing.assert_array_equal(out["array"], obj["array"])
    assert type(out["scalar"]) is np.float32 and out["scalar"] == 1.25
    assert type(out["od"]) is OrderedDict and list(out["od"]) == ["b", "a"]
    assert type(out["counter"]) is Counter and out["counter"] == Counter({5: 2, 9: 1})
    assert out["nested"] == {"x": ({"y": [()]},)}
    assert out["special"][:2] == [float("inf"), float("-inf")] and out["special"][2] == 10**30
    assert out["tuple_key"] == {(1, "a"): 3}
    assert out["empty"].shape == (0, 3)
    assert out["zero_d"].shape == () and out["zero_d"].item() == 3.5


def test_shared_tensor_stays_shared(tmp_path):
    t = mg.ones(3)
    out = _roundtrip([t, {"again": t}], tmp_path)
    assert out[0] is out[1]["again"]


def test_nan_roundtrip(tmp_path):
    out = _roundtrip({"v": float("nan"), "t": mg.tensor([float("nan")])}, tmp_path)
    assert out["v"] != out["v"] and np.isnan(out["t"].item())


@pytest.mark.parametrize("name", ["model.pt", "weights", "ckpt.pth.tar", "x.npz"])
def test_written_exactly_at_path(tmp_path, name):
    save({"w": mg.ones(2)}, tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    assert zipfile.is_zipfile(tmp_path / name)
    assert load(str(tmp_path / name))["w"].tolist() == [1.0, 1.0]


def test_file_objects():
    buf = io.BytesIO()
    save([mg.arange(4)], buf)
    buf.seek(0)
    assert load(buf)[0].tolist() == [0, 1, 2, 3]


def test_model_and_optimizer_state_dicts_roundtrip(tmp_path):
    nn = pytest.importorskip("minigrad.nn")
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    x = mg.randn(5, 4)
    model(x).sum().backward()
    opt.step()
    save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    ck = load(tmp_path / "ckpt.pt")
    assert ck["epoch"] == 3
    sd = model.state_dict()
    assert list(ck["model"]) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(ck["model"][k].numpy(), sd[k].numpy())
        assert ck["model"][k].dtype == sd[k].dtype
    osd = opt.state_dict()
    assert ck["opt"]["param_groups"] == osd["param_groups"]
    assert ck["opt"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert set(ck["opt"]["state"]) == set(osd["state"]) and all(type(k) is int for k in ck["opt"]["state"])
    model2 = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model2.load_state_dict(ck["model"])
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["opt"])
    np.testing.assert_array_equal(model2(x).detach().numpy(), model(x).detach().numpy())


def test_parameter_roundtrip(tmp_path):
    nn = pytest.importorskip("minigrad.nn")
    p = nn.Parameter(mg.ones(2))
    out = _roundtrip(p, tmp_path)
    assert isinstance(out, nn.Parameter) and out.requires_grad


@pytest.mark.parametrize("bad", [{1, 2}, object(), b"bytes", np.array(["a", None], dtype=object),
                                 {mg.ones(1).sum(): 1}, lambda: 0, {"k": [1, {2, 3}]}])
def test_unsupported_types_raise(tmp_path, bad):
    with pytest.raises(TypeError, match="minigrad.save"):
        save(bad, tmp_path / "x.pt")


def test_whole_module_suggests_state_dict(tmp_path):
    nn = pytest.importorskip("minigrad.nn")
    with pytest.raises(TypeError, match="state_dict"):
        save(nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(TypeError, match="state_dict"):
        save(optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1), tmp_path / "o.pt")


def test_pickle_module_refused(tmp_path):
    with pytest.raises(TypeError, match="never pickles"):
        save(1, tmp_path / "x", pickle_module=pickle)


class _Evil:
    """Unpickling this creates the marker file: a pickle payload that would run code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_file_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"state": _Evil(marker)}, fh)
    with pytest.raises(RuntimeError, match="pickle"):
        load(path)
    assert not marker.exists()
    for protocol in range(0, 3):
        with open(path, "wb") as fh:
            pickle.dump(_Evil(marker), fh, protocol=protocol)
        with pytest.raises(RuntimeError):
            load(path)
    assert not marker.exists()
    # sanity check of the payload itself: unpickling it really would create the marker
    with open(path, "rb") as fh:
        pickle.load(fh).close()
    assert marker.exists()


def test_torch_style_zip_checkpoint_runs_nothing(tmp_path):
    """torch.save writes a zip whose archive/data.pkl is a pickle: refused without unpickling."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"w": _Evil(marker)}))
        zf.writestr("archive/version", "3\n")
    with pytest.raises(RuntimeError, match="PyTorch checkpoint"):
        load(path)
    assert not marker.exists()


def test_npz_with_object_array_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.npz"
    payload = np.empty(1, dtype=object)
    payload[0] = _Evil(marker)
    header = np.array('{"format": "minigrad", "version": 1, "root": {"ndarray": "a0"}}')
    with open(path, "wb") as fh:
        np.savez(fh, __minigrad__=header, a0=payload)  # numpy pickles the object array inside the npz
    with pytest.raises(RuntimeError, match="never unpickles|allow_pickle"):
        load(path)
    assert not marker.exists()
    # an object array as the structure member itself
    with open(path, "wb") as fh:
        np.savez(fh, __minigrad__=payload)
    with pytest.raises(RuntimeError):
        load(path)
    assert not marker.exists()


def test_truncated_and_tampered_files(tmp_path):
    path = tmp_path / "good.pt"
    save({"w": mg.randn(50, 50), "b": [1, 2]}, path)
    data = path.read_bytes()
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        load(trunc)
    # flip bytes inside the array data: the zip CRC check catches it
    tampered = bytearray(data)
    pos = data.index(b"a0.npy") + 200
    tampered[pos:pos + 8] = b"\x00\xff" * 4
    bad = tmp_path / "tampered.pt"
    bad.write_bytes(bytes(tampered))
    with pytest.raises(RuntimeError, match="corrupt|valid"):
        load(bad)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(RuntimeError, match="not a minigrad file"):
        load(empty)


def test_crafted_structures_rejected(tmp_path):
    path = tmp_path / "c.npz"

    def write(header, **arrays):
        with open(path, "wb") as fh:
            np.savez(fh, __minigrad__=np.array(header), **arrays)

    write('{"format": "minigrad", "version": 1, "root": {"tensor": "a9", "dtype": "float32"}}')
    with pytest.raises(RuntimeError, match="missing array"):
        load(path)
    write('{"format": "minigrad", "version": 1, "root": {"exec": "rm -rf"}}')
    with pytest.raises(RuntimeError, match="unknown structure tag"):
        load(path)
    write('{"format": "minigrad", "version": 1, "root": {"tensor": "a0", "dtype": "int64"}}', a0=np.ones(2))
    with pytest.raises(RuntimeError, match="recorded as"):
        load(path)
    write("not json")
    with pytest.raises(RuntimeError, match="JSON"):
        load(path)
    write('{"format": "minigrad", "version": 99, "root": null}')
    with pytest.raises(RuntimeError, match="version"):
        load(path)
    write('{"format": "minigrad", "version": 1, "root": ' + "[" * 100000 + "]" * 100000 + "}")
    with pytest.raises(RuntimeError):
        load(path)
    with open(path, "wb") as fh:
        np.savez(fh, x=np.ones(2))
    with pytest.raises(RuntimeError, match="not a minigrad file"):
        load(path)


def test_map_location(tmp_path):
    save(mg.ones(1), tmp_path / "x")
    assert load(tmp_path / "x", map_location="cpu").tolist() == [1.0]
    with pytest.raises(RuntimeError, match="not available"):
        load(tmp_path / "x", map_location="cuda:0")


def test_top_level_names():
    assert mg.save is save and mg.load is load
