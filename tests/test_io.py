"""convcore.io: atomic save / all-or-nothing load of a model's state_dict."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from convcore import io
from convcore.nn import Layer, Parameter, Sequential


class _Block(Layer):
    """Parameters of two dtypes and a buffer: enough state for the file format."""

    def __init__(self, rng: np.random.Generator, n: int = 3) -> None:
        super().__init__()
        self.weight = Parameter(rng.standard_normal((n, 2)).astype(np.float32))
        self.bias = Parameter(rng.standard_normal(n))
        self.register_buffer("running_mean", rng.standard_normal(n).astype(np.float32))


def _model(rng, n=3):
    return Sequential(_Block(rng, n), _Block(rng, n))


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype
        np.testing.assert_array_equal(sa[k], sb[k])


def test_round_trip_keeps_values_and_dtypes(tmp_path, rng):
    src, dst = _model(rng), _model(rng)
    path = tmp_path / "model.npz"
    io.save(src, path)
    with np.load(path) as data:
        meta = json.loads(str(data["__convcore__"]))
        assert meta["format"] == io.FORMAT and meta["version"] == io.VERSION
        assert meta["dtypes"] == {"0.weight": "float32", "0.bias": "float64", "0.running_mean": "float32",
                                  "1.weight": "float32", "1.bias": "float64", "1.running_mean": "float32"}
    io.load(dst, path)
    _assert_same_state(src, dst)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_layer_methods_delegate(tmp_path, rng):
    src, dst = _model(rng), _model(rng)
    src.save(str(tmp_path / "m.npz"))
    assert dst.load(str(tmp_path / "m.npz")) is dst
    _assert_same_state(src, dst)


def test_save_overwrites_previous_file(tmp_path, rng):
    a, b, c = _model(rng), _model(rng), _model(rng)
    path = tmp_path / "m.npz"
    io.save(a, path)
    io.save(b, path)
    io.load(c, path)
    _assert_same_state(b, c)


def _partial_savez(f, **arrays):
    f.write(b"PK\x03\x04 half of an archive")
    raise OSError("disk full")


@pytest.mark.parametrize("where", ["savez", "fsync", "replace", "interrupt"])
def test_interrupted_save_keeps_old_file_and_leaves_no_temp(tmp_path, rng, monkeypatch, where):
    old, new, probe = _model(rng), _model(rng), _model(rng)
    path = tmp_path / "m.npz"
    io.save(old, path)
    before = path.read_bytes()
    if where == "savez":
        monkeypatch.setattr(io.np, "savez", _partial_savez)
    elif where == "fsync":
        monkeypatch.setattr(io.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("I/O error")))
    elif where == "replace":
        monkeypatch.setattr(io.os, "replace", lambda a, b: (_ for _ in ()).throw(OSError("crash")))
    else:
        def interrupted(f, **arrays):
            f.write(b"PK")
            raise KeyboardInterrupt
        monkeypatch.setattr(io.np, "savez", interrupted)
    with pytest.raises((OSError, KeyboardInterrupt)):
        io.save(new, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"]
    assert path.read_bytes() == before
    io.load(probe, path)
    _assert_same_state(old, probe)


def test_mismatched_names_or_shapes_raise_and_leave_model_unchanged(tmp_path, rng):
    path = tmp_path / "m.npz"
    io.save(_model(rng, n=4), path)  # shapes differ
    target = _model(rng)
    before = target.state_dict()
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 2\)"):
        io.load(target, path)
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    io.save(Sequential(_Block(rng)), path)  # names missing
    with pytest.raises(ValueError, match="missing '1.bias'"):
        io.load(target, path)
    for k, v in target.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_missing_file(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="no such file"):
        io.load(_model(rng), tmp_path / "absent.npz")


def _write_text(path):
    with open(path, "w") as f:
        f.write("hello, not an archive")


@pytest.mark.parametrize("name, write", [
    ("plain.npz", lambda p: np.savez(p, weight=np.zeros(3))),  # an npz without the marker
    ("single.npy", lambda p: np.save(p, np.zeros(3))),          # one .npy array
    ("text.npz", _write_text),
    ("other.npz", lambda p: np.savez(p, __convcore__=np.array(json.dumps({"format": "other"})))),
])
def test_not_a_convcore_file(tmp_path, rng, name, write):
    path = str(tmp_path / name)
    write(path)
    with pytest.raises(ValueError, match="not a convcore model file"):
        io.load(_model(rng), path)


def test_newer_version_and_damaged_dtypes_are_refused(tmp_path, rng):
    model = _model(rng)
    path = tmp_path / "m.npz"
    state = model.state_dict()
    meta = {"format": io.FORMAT, "version": io.VERSION + 1, "dtypes": {}}
    np.savez(path, __convcore__=np.array(json.dumps(meta)), **state)
    with pytest.raises(ValueError, match="version"):
        io.load(model, path)
    meta = {"format": io.FORMAT, "version": io.VERSION, "dtypes": {k: "int8" for k in state}}
    np.savez(path, __convcore__=np.array(json.dumps(meta)), **state)
    with pytest.raises(ValueError, match="damaged"):
        io.load(model, path)
