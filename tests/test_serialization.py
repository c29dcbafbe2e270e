"""Checkpoints: exact round trips, no pickles, clear errors, and atomic writes."""
from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minigan
from minigan import nn, serialization
from minigan.optim import Adam
from minigan.serialization import CheckpointError


class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(minigan.randn(n_out, n_in))
        self.bias = nn.Parameter(minigan.zeros(n_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Net(nn.Module):
    def __init__(self, n_hidden=4):
        super().__init__()
        self.first = Affine(3, n_hidden)
        self.second = Affine(n_hidden, 2)
        self.register_buffer("seen", minigan.zeros(1, dtype="int64"))

    def forward(self, x):
        return self.second(minigan.sigmoid(self.first(x)))


def trained(seed=0):
    """A model and its Adam after a few steps (so the optimiser has state)."""
    minigan.manual_seed(seed)
    net = Net()
    opt = Adam(net.parameters(), lr=0.01, amsgrad=True)
    for _ in range(3):
        opt.zero_grad()
        net(minigan.randn(5, 3)).pow(2).mean().backward()
        opt.step()
    return net, opt


def assert_same_tree(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, minigan.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tree(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# ============================================================================== round trips
def test_model_and_optimizer_round_trip_exactly(tmp_path):
    net, opt = trained()
    ckpt = {"model": net.state_dict(), "optim": opt.state_dict(), "epoch": 3,
            "note": "résumé", "flags": [True, None, 2.5, float("nan"), -math.inf], "shape": (2, 3)}
    minigan.save(ckpt, tmp_path / "ckpt.npz")
    back = minigan.load(tmp_path / "ckpt.npz")
    assert_same_tree(back, ckpt)
    assert isinstance(back["model"], OrderedDict) and back["model"]["seen"].dtype == minigan.int64
    assert list(back["optim"]["state"]) == [0, 1, 2, 3]  # integer keys survive
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)

    fresh_net = Net(); fresh_opt = Adam(fresh_net.parameters())
    fresh_net.load_state_dict(back["model"])
    fresh_opt.load_state_dict(back["optim"])
    for (name, p), q in zip(net.named_parameters(), fresh_net.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
    x = minigan.randn(5, 3)
    for model, o in ((net, opt), (fresh_net, fresh_opt)):  # both continue identically
        o.zero_grad()
        model(x).pow(2).mean().backward()
        o.step()
    for p, q in zip(net.parameters(), fresh_net.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_the_file_is_a_plain_npz_with_arrays_named_by_path(tmp_path):
    net, _ = trained()
    minigan.save({"model": net.state_dict()}, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert "model/first.weight" in npz.files and "__minigan__.json" in npz.files
        np.testing.assert_array_equal(npz["model/first.weight"], net.first.weight.detach().numpy())
    with zipfile.ZipFile(tmp_path / "m.npz") as zf:
        assert b'"tensor":"model/second.bias"' in zf.read("__minigan__.json")


def test_dtypes_parameters_and_devices(tmp_path):
    obj = {"f32": minigan.randn(2, 2), "f64": minigan.randn(3, dtype="float64"),
           "i64": minigan.arange(4), "u8": minigan.tensor(np.arange(3, dtype=np.uint8)),
           "flag": minigan.tensor([True, False]), "scalar": minigan.tensor(1.5),
           "param": nn.Parameter(minigan.ones(2)), "leaf": minigan.ones(1, requires_grad=True),
           "array": np.arange(6, dtype=np.int32).reshape(2, 3), "npfloat": np.float32(0.25)}
    minigan.save(obj, tmp_path / "t.npz")
    back = minigan.load(tmp_path / "t.npz")
    for key in ("f32", "f64", "i64", "u8", "flag", "scalar", "leaf"):
        assert_same_tree(back[key], obj[key])
    assert isinstance(back["param"], nn.Parameter) and back["param"].requires_grad
    np.testing.assert_array_equal(back["array"], obj["array"])
    assert back["npfloat"] == 0.25
    strict = minigan.load(tmp_path / "t.npz", map_location="strict")
    assert strict["f64"].device == minigan.device("strict") and strict["f64"].dtype == minigan.float64
    assert back["f32"].device == minigan.device("cpu")


def test_file_objects(tmp_path):
    buffer = io.BytesIO()
    minigan.save({"w": minigan.ones(3)}, buffer)
    buffer.seek(0)
    assert minigan.load(buffer)["w"].numpy().tolist() == [1.0, 1.0, 1.0]


def test_unsupported_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"\['model'\]\['f'\]"):
        minigan.save({"model": {"f": lambda: 0}}, path)
    with pytest.raises(TypeError, match="dict key"):
        minigan.save({object(): 1}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


# ============================================================================== bad files
def test_truncated_and_corrupt_files_name_the_file(tmp_path):
    net, opt = trained()
    good = tmp_path / "good.npz"
    minigan.save({"model": net.state_dict(), "optim": opt.state_dict()}, good)
    data = good.read_bytes()
    for name, content in [("truncated.npz", data[: len(data) // 2]), ("short.npz", data[:10]),
                          ("empty.npz", b"")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=name):
            minigan.load(tmp_path / name)
    flipped = bytearray(data)
    offset = data.index(net.first.weight.detach().numpy().tobytes()) + 5  # inside a weight's numbers
    flipped[offset] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="flipped.npz.*corrupt"):
        minigan.load(tmp_path / "flipped.npz")


def test_files_that_are_not_minigan_checkpoints(tmp_path):
    (tmp_path / "pickled.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="pickled.pt.*never unpickles"):
        minigan.load(tmp_path / "pickled.pt")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="plain.npz.*not a minigan checkpoint"):
        minigan.load(tmp_path / "plain.npz")
    (tmp_path / "text.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.txt"):
        minigan.load(tmp_path / "text.txt")
    with pytest.raises(CheckpointError, match="missing.npz"):
        minigan.load(tmp_path / "missing.npz")


def test_a_pytorch_checkpoint_is_refused_without_unpickling(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")  # a zip holding a pickle
    with pytest.raises(CheckpointError, match="torch.pt.*not a minigan checkpoint"):
        minigan.load(tmp_path / "torch.pt")


def test_the_checkpoint_of_another_model_is_refused_with_every_problem(tmp_path):
    minigan.save(Net(n_hidden=4).state_dict(), tmp_path / "other.npz")
    state = minigan.load(tmp_path / "other.npz")
    del state["second.bias"]
    state["extra.weight"] = minigan.zeros(1)

    with pytest.raises(RuntimeError) as info:
        Net(n_hidden=5).load_state_dict(state)
    message = str(info.value)
    assert "first.weight" in message and "(4, 3)" in message and "(5, 3)" in message  # mismatched
    assert "second.bias" in message and "extra.weight" in message  # missing, unexpected


# ============================================================================== atomic writes
def test_a_crash_during_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    net, opt = trained(seed=1)
    minigan.save({"model": net.state_dict(), "epoch": 1}, path)
    before = path.read_bytes()

    calls = []
    real = serialization._write_member

    def crash_on_second_array(zf, name, array):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(zf, name, array)
    monkeypatch.setattr(serialization, "_write_member", crash_on_second_array)
    net2, _ = trained(seed=2)
    for error in (OSError, KeyboardInterrupt):
        calls.clear()
        if error is KeyboardInterrupt:
            monkeypatch.setattr(serialization, "_write_member",
                                lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(error):
            minigan.save({"model": net2.state_dict(), "epoch": 2}, path)
        assert path.read_bytes() == before
        assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    assert minigan.load(path)["epoch"] == 1

    monkeypatch.setattr(serialization, "_write_member", real)
    minigan.save({"model": net2.state_dict(), "epoch": 2}, path)  # a good save replaces it
    assert minigan.load(path)["epoch"] == 2 and os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_files_get_normal_permissions(tmp_path):
    minigan.save({"a": 1}, tmp_path / "p.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "p.npz").stat().st_mode & 0o777 == 0o666 & ~umask
