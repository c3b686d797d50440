"""The own checkpoint format (safetensors + JSON) and the restricted reader of
Paddle's pickles: round trips, every malformed-header case, refused pickles."""
import json
import os
import pickle
import random
import struct

import numpy as np
import paddle
import pytest

from inade.checkpoints.legacy_pickle import RefusedFile, read_paddle_pickle
from inade.checkpoints.native import load_checkpoint, read_state, save_checkpoint, upgrade_checkpoint
from inade.checkpoints.safetensors_format import MAX_HEADER_BYTES, read_header, read_safetensors, write_safetensors
from inade.errors import CheckpointError
from inade.paddle_private import generator_state_class

from .hostile import hostile_pickles


def tricky_state():
    paddle.seed(3)
    np.random.seed(4)
    random.seed(5)
    return {
        "iteration": 12,
        "generator": {"fc.weight": paddle.randn([3, 2]), "a/b": paddle.ones([2], dtype="int64"),
                      "~tilde": paddle.to_tensor([True, False]), "": paddle.zeros([0, 4])},
        "encoder": None,
        "opt_g": {"LR_Scheduler": {"last_epoch": 3, "last_lr": 0.1 + 0.2}, "x_moment1_0": paddle.full([1], 0.5)},
        "rng": {"paddle": paddle.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        "nested": [1, (2.5, "three", None), [float("inf"), -0.0, 2**70], {"z": np.float64(1.5), "y": np.int32(7)}],
        "config": {"data": {"type": "procedural", "crop_size": 32}},
    }


def assert_same(a, b, where="state"):
    assert type(a) is type(b) or (isinstance(a, dict) and isinstance(b, dict)), (where, type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{index}")
    elif isinstance(a, paddle.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.numpy().tobytes() == b.numpy().tobytes(), where
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, generator_state_class()):
        assert a.__getstate__() == b.__getstate__(), where
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b and str(a) == str(b), where  # str: -0.0 stays -0.0


def test_a_nested_state_round_trips_exactly_with_any_key(tmp_path):
    path = str(tmp_path / "state.safetensors")
    state = tricky_state()
    save_checkpoint(state, path)
    loaded = load_checkpoint(path)
    assert_same(state, loaded)
    # the random states restore the generators exactly
    paddle.set_rng_state(loaded["rng"]["paddle"])
    np.random.set_state(loaded["rng"]["numpy"])
    random.setstate(loaded["rng"]["python"])
    draws = (paddle.rand([4]).numpy(), np.random.rand(4), random.random())
    paddle.set_rng_state(state["rng"]["paddle"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])
    assert draws[0].tobytes() == paddle.rand([4]).numpy().tobytes() and (draws[1] == np.random.rand(4)).all()
    assert draws[2] == random.random()
    # a plain safetensors layout: tensor names from the paths, '/' and '~' in keys escaped
    entries, metadata, _ = read_header(path)
    assert {"generator/fc.weight", "generator/a~1b", "generator/~0tilde", "generator/",
            "rng/numpy/1"} <= set(entries)
    assert entries["generator/fc.weight"]["shape"] == (3, 2)
    assert json.loads(metadata["inade.tree"])["dict"]["iteration"] == 12


def test_flat_weight_files_read_by_name(tmp_path):
    path = str(tmp_path / "w.safetensors")
    weights = {"b": np.arange(6, dtype=">f4").reshape(2, 3), "a": np.array(3, dtype=np.uint8)}
    write_safetensors(path, weights, {"note": "hi"})
    read, metadata = read_safetensors(path)
    assert list(read) == ["b", "a"] and metadata["note"] == "hi"
    assert read["b"].dtype == np.dtype("<f4") and (read["b"] == weights["b"]).all() and read["a"] == 3
    with pytest.raises(CheckpointError, match="w.safetensors: a safetensors file, but not an inade checkpoint"):
        read_state(path)


def _file(path, header, data=b"", length=None):
    encoded = json.dumps(header).encode() if isinstance(header, dict) else header
    path.write_bytes(struct.pack("<Q", len(encoded) if length is None else length) + encoded + data)
    return str(path)


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("header,data,length,message", [
    ({"t": F32}, b"\0" * 8, MAX_HEADER_BYTES + 1, "exceeds the 104857600-byte limit"),
    ({"t": F32}, b"\0" * 8, 10_000, "runs past the end of the"),
    (b"{not json", b"", None, "the header is not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, b"", None, "the header is not valid JSON"),
    (b'{"t": 1, "t": 2}', b"", None, "duplicate key 't'"),
    (b"[1, 2]", b"", None, "the header is not a JSON object"),
    ({"t": {"dtype": "F32", "shape": [2]}}, b"", None, "expected {dtype, shape, data_offsets}"),
    ({"t": {**F32, "dtype": "O"}}, b"\0" * 8, None, "unknown dtype 'O'"),
    ({"t": {**F32, "shape": [-2]}}, b"\0" * 8, None, "is not a list of at most 16 non-negative integers"),
    ({"t": {**F32, "shape": [1] * 17}}, b"\0" * 8, None, "is not a list of at most 16 non-negative integers"),
    ({"t": {**F32, "shape": [2.0]}}, b"\0" * 8, None, "is not a list of at most 16 non-negative integers"),
    ({"t": {**F32, "data_offsets": [8, 0]}}, b"\0" * 8, None, "is not \\[begin, end\\]"),
    ({"t": {**F32, "shape": [46341, 46341]}}, b"\0" * 8, None, "needs 8589953124 bytes, its offsets span 8"),
    ({"t": F32, "u": F32}, b"\0" * 16, None, "overlaps the tensor before it"),
    ({"t": {**F32, "data_offsets": [4, 12]}}, b"\0" * 12, None, "leaves a gap before it"),
    ({"t": F32}, b"\0" * 4, None, "the header describes 8 bytes of tensor data, the file holds 4"),
    ({"t": F32}, b"\0" * 9, None, "the header describes 8 bytes of tensor data, the file holds 9"),
    ({"t": F32, "__metadata__": {"a": 1}}, b"\0" * 8, None, "__metadata__ must map strings to strings"),
])
def test_every_malformed_header_is_one_line_naming_the_file(tmp_path, header, data, length, message):
    path = _file(tmp_path / "bad.safetensors", header, data, length)
    with pytest.raises(CheckpointError, match=message) as error:
        read_safetensors(path)
    assert str(error.value).startswith(path) and "\n" not in str(error.value)


def test_short_empty_and_damaged_files(tmp_path):
    for content, message in ((b"", "0 bytes, shorter than"), (b"\x01\x02", "2 bytes, shorter than")):
        (tmp_path / "short.safetensors").write_bytes(content)
        with pytest.raises(CheckpointError, match=message):
            read_safetensors(str(tmp_path / "short.safetensors"))
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_safetensors(str(tmp_path / "missing.safetensors"))
    with pytest.raises(CheckpointError, match="is a folder"):
        read_safetensors(str(tmp_path))
    path = tmp_path / "flipped.safetensors"
    save_checkpoint({"iteration": 1, "w": np.arange(100, dtype=np.float32)}, str(path))
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF  # same size, one damaged byte
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="damaged: the tensor data does not match the checksum"):
        load_checkpoint(str(path))


def test_a_damaged_description_is_one_line(tmp_path):
    path = str(tmp_path / "c.safetensors")
    for tree, message in (("{", "description is not valid JSON"),
                          ('{"dict": {"w": {"tensor": "nope"}}}', "refers to tensor 'nope'"),
                          ('{"dict": {"a": {"array": "w"}, "b": {"array": "w"}}}', "referred to twice"),
                          ('{"dict": {}}', "1 tensors \\(w\\) are not part of it"),
                          ('{"exec": "os.system"}', "expected a value or one of"),
                          ('{"list": [' * 70 + "1" + "]}" * 70, "nested deeper than 64 levels"),
                          ('{"paddle_rng": {"tuple": [1, 2]}}', "random-generator state is not")):
        write_safetensors(path, {"w": np.zeros(2, np.float32)}, {"inade.format": "inade-checkpoint-1", "inade.tree": tree})
        with pytest.raises(CheckpointError, match=message):
            read_state(path)


def test_hostile_pickles_are_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "MARKER"
    for name, payload in hostile_pickles(marker).items():
        path = tmp_path / "evil.pdckpt"
        path.write_bytes(pickle.dumps({"iteration": 1, "generator": {"w": payload}}, protocol=4))
        with pytest.raises(RefusedFile, match="evil.pdckpt: refused to load: the file asks for (os|posix|builtins|subprocess)"):
            load_checkpoint(str(path))
        assert not marker.exists(), name
    # the payloads are live: plain pickle (what paddle.load is) runs them
    for name, payload in hostile_pickles(marker).items():
        pickle.loads(pickle.dumps(payload, protocol=4))
        assert marker.exists(), name
        os.remove(marker)


def test_numpy_names_cannot_be_turned_into_object_arrays_or_huge_allocations(tmp_path):
    path = tmp_path / "arrays.pdparams"
    path.write_bytes(pickle.dumps({"w": np.array([os.getcwd, 1], dtype=object)}, protocol=4))
    with pytest.raises(CheckpointError, match="only numeric dtypes are read"):
        read_paddle_pickle(str(path))
    # numpy.ndarray((100000, 100000)) called directly would reserve 80 GB
    huge = (b"\x80\x04cnumpy\nndarray\n(J\xa0\x86\x01\x00J\xa0\x86\x01\x00t\x85R.")
    path.write_bytes(huge)
    with pytest.raises(CheckpointError, match="damaged Paddle pickle"):
        read_paddle_pickle(str(path))
    # a float dtype whose state claims it holds objects
    dtype_state = (b"\x80\x04cnumpy\ndtype\n\x8c\x02f8\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb.")
    path.write_bytes(dtype_state)
    with pytest.raises(CheckpointError, match=r"setting the state of a \w+ in a form paddle.save does not write"):
        read_paddle_pickle(str(path))
    path.write_bytes(b"\x80\x04]\x94h\x00a.")  # a list that holds itself
    with pytest.raises(CheckpointError, match="nest too deeply or hold themselves"):
        read_paddle_pickle(str(path))
    path.write_bytes(pickle.dumps({"iteration": 1})[:-3])
    with pytest.raises(CheckpointError, match="truncated or damaged Paddle pickle"):
        read_paddle_pickle(str(path))


def test_files_of_earlier_versions_load_as_paddle_loaded_them_and_upgrade(tmp_path):
    state = tricky_state()
    del state["nested"]  # paddle.load turns a bare numpy scalar into a Tensor: not in real checkpoints
    old = str(tmp_path / "latest.pdckpt")
    paddle.save(state, old)
    assert_same(paddle.load(old), read_paddle_pickle(old))
    layer = paddle.nn.Linear(3, 2)
    weights = str(tmp_path / "w.pdparams")
    paddle.save(layer.state_dict(), weights)
    read = read_paddle_pickle(weights, return_numpy=True)
    assert list(read) == ["weight", "bias"] and (read["weight"] == layer.weight.numpy()).all()
    new = upgrade_checkpoint(old)
    assert new == str(tmp_path / "latest.safetensors")
    assert_same(load_checkpoint(old), load_checkpoint(new))
    with pytest.raises(CheckpointError, match="already exists"):
        upgrade_checkpoint(old)
