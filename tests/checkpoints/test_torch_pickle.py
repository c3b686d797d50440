import glob
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from inade.errors import CheckpointError
from inade.checkpoints import read_torch_checkpoint

from .torch_writer import (
    Storage,
    Tensor,
    legacy_headers,
    pickle_checkpoint,
    tensors_of,
    write_legacy,
    write_legacy_parts,
    write_zip,
    write_zip_members,
)

# Spectral-norm vectors and batch-norm statistics are buffers, not parameters.
BUFFER_SUFFIXES = ("weight_u", "weight_v", "running_mean", "running_var", "num_batches_tracked")


def fixture_path(fixtures_dir, *parts):
    return os.path.join(fixtures_dir, *parts)


def test_zip_and_legacy_formats_read_to_identical_tensors(fixtures_dir):
    zipped = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G.pth"))
    legacy = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G_legacy.pth"))
    assert list(zipped) == list(legacy) and len(zipped) == 198
    for name in zipped:
        assert zipped[name].dtype == legacy[name].dtype, name
        np.testing.assert_array_equal(zipped[name], legacy[name], err_msg=name)


def test_known_names_shapes_dtypes_and_values(fixtures_dir):
    state = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G.pth"))
    # ngf 8, 64x64, "normal" upsampling: fc maps z (256) to 16*ngf*(64/32)^2 = 512, stored [out, in]
    assert state["fc.weight"].shape == (512, 256) and state["fc.weight"].dtype == np.float32
    assert state["head_0.conv_0.weight_orig"].shape == (128, 128, 3, 3)
    assert state["head_0.conv_0.weight_u"].shape == (128,) and state["head_0.conv_0.weight_v"].shape == (1152,)
    assert state["up_3.norm_0.weight"].shape == (6, 16, 2)
    assert state["conv_img.weight"].shape == (3, 8, 3, 3)
    tracked = state["head_0.norm_0.param_free_norm.num_batches_tracked"]
    assert tracked.shape == () and tracked.dtype == np.int64
    running_var = state["head_0.norm_0.param_free_norm.running_var"]
    assert (running_var > 0).all() and not np.allclose(running_var, 1.0)
    # spectral norm keeps u and v normalised: decoded bytes that are off would not be
    for name in [k for k in state if k.endswith(("weight_u", "weight_v"))]:
        assert abs(np.linalg.norm(state[name]) - 1.0) < 1e-4, name
    discriminator = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_D.pth"))
    # 7 semantic channels (6 labels + edge) concatenated with the 3-channel image
    assert discriminator["discriminator_0.model0.0.weight"].shape == (16, 10, 4, 4)
    assert discriminator["discriminator_1.model1.0.0.weight_v"].shape == (16 * 4 * 4,)


def test_every_fixture_checkpoint_reads_with_the_reference_parameter_counts(fixtures_dir):
    paths = sorted(glob.glob(os.path.join(fixtures_dir, "*", "net_*.pth")))
    assert len(paths) == 7
    for path in paths:
        state = read_torch_checkpoint(path)
        assert state and all(isinstance(v, np.ndarray) and v.flags.writeable for v in state.values()), path
        role = os.path.basename(path)[len("net_")]
        with open(os.path.join(os.path.dirname(path), "config.json")) as f:
            expected = json.load(f)["params"][role]
        assert sum(v.size for k, v in state.items() if not k.endswith(BUFFER_SUFFIXES)) == expected, path


def _sample_state():
    return {
        "c_order": np.arange(12, dtype="float32").reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(6, dtype="float32").reshape(2, 3)),
        "half": np.array([1.5, -2.0], dtype="float16"),
        "double": np.array([[np.pi]], dtype="float64"),
        "long": np.arange(-3, 3, dtype="int64"),
        "int": np.array([7, -8], dtype="int32"),
        "byte": np.array([0, 255], dtype="uint8"),
        "mask": np.array([True, False]),
        "num_batches_tracked": np.array(42, dtype="int64"),
        "empty": np.zeros((0, 3), dtype="float32"),
    }


@pytest.mark.parametrize("write", [write_zip, write_legacy], ids=["zip", "legacy"])
def test_round_trip_of_every_dtype_layout_and_rank(tmp_path, write):
    state = _sample_state()
    tensors, _ = tensors_of(state)
    path = str(tmp_path / "ckpt.pth")
    write(path, tensors)
    read = read_torch_checkpoint(path)
    assert list(read) == list(state)
    for name, value in state.items():
        assert read[name].dtype == value.dtype and read[name].shape == value.shape, name
        np.testing.assert_array_equal(read[name], value, err_msg=name)
    assert read["num_batches_tracked"].ndim == 0 and int(read["num_batches_tracked"]) == 42


@pytest.mark.parametrize("write", [write_zip, write_legacy], ids=["zip", "legacy"])
def test_tensors_sharing_a_storage_with_offsets_strides_parameters_and_old_rebuilder(tmp_path, write):
    flat = np.arange(20, dtype="float32")
    shared = Storage.of("s", flat)
    top = {
        "tail": Tensor(shared, (5,), offset=15),
        "transposed": Tensor(shared, (4, 3), stride=(1, 4), offset=2),  # [4, 3] view of a [3, 4] block
        "every_other": Tensor(shared, (2, 2), stride=(10, 2), offset=1),
        "parameter": Tensor(shared, (2, 5), parameter=True),
        "pre_1_0": Tensor(shared, (3,), offset=4, rebuilder="_rebuild_tensor"),
    }
    path = str(tmp_path / "shared.pth")
    write(path, top)
    read = read_torch_checkpoint(path)
    np.testing.assert_array_equal(read["tail"], flat[15:])
    np.testing.assert_array_equal(read["transposed"], flat[2:14].reshape(3, 4).T)
    np.testing.assert_array_equal(read["every_other"], [[1, 3], [11, 13]])
    np.testing.assert_array_equal(read["parameter"], flat[:10].reshape(2, 5))
    np.testing.assert_array_equal(read["pre_1_0"], [4, 5, 6])
    # copies, not views of the file's bytes: writing one leaves the others alone
    read["tail"][:] = -1
    np.testing.assert_array_equal(read["parameter"], flat[:10].reshape(2, 5))


def test_legacy_storage_views(tmp_path):
    flat = np.arange(10, dtype="int64")
    root = Storage.of("root", flat)
    view = Storage("view", "LongStorage", 4, view=(root, 6))  # elements 6..9 of root
    path = str(tmp_path / "views.pth")
    write_legacy(path, {"whole": Tensor(root, (10,)), "in_view": Tensor(view, (2, 2), offset=0), "shifted": Tensor(view, (2,), offset=2)})
    read = read_torch_checkpoint(path)
    np.testing.assert_array_equal(read["whole"], flat)
    np.testing.assert_array_equal(read["in_view"], [[6, 7], [8, 9]])
    np.testing.assert_array_equal(read["shifted"], [8, 9])
    past_end = Storage("past", "LongStorage", 4, view=(root, 8))
    write_legacy(path, {"w": Tensor(past_end, (4,))})
    with pytest.raises(CheckpointError, match="views.pth: a tensor of shape \\(4,\\) reads past the end of its storage"):
        read_torch_checkpoint(path)


def test_bfloat16_is_widened_to_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 2.0**100], dtype="float32")  # all exact in bfloat16
    bf16 = (values.view("<u4") >> 16).astype("<u2")
    storage = Storage("0", "BFloat16Storage", values.size, bf16.tobytes())
    path = str(tmp_path / "bf16.pth")
    write_zip(path, {"w": Tensor(storage, (2, 2))})
    read = read_torch_checkpoint(path)["w"]
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, values.reshape(2, 2))


def test_nested_state_dict_is_unwrapped_only_when_asked(tmp_path):
    tensors, _ = tensors_of({"w": np.ones(2, "float32")})
    path = str(tmp_path / "nested.pth")
    write_zip(path, {"state_dict": tensors, "epoch": 3, "optimizer": {"lr": 0.1}})
    with pytest.raises(
        CheckpointError,
        match=r"nested.pth holds a dict with keys \['state_dict', 'epoch', 'optimizer'\], not a state dict of tensors "
        r"\(e.g. 'state_dict' is a dict with keys \['w'\]\); pass key= to pick the state dict",
    ):
        read_torch_checkpoint(path)
    np.testing.assert_array_equal(read_torch_checkpoint(path, key="state_dict")["w"], np.ones(2))
    with pytest.raises(CheckpointError, match="with no entry 'model'"):
        read_torch_checkpoint(path, key="model")
    with pytest.raises(CheckpointError, match="holds a dict with keys \\['lr'\\], not a state dict of tensors"):
        read_torch_checkpoint(path, key="optimizer")


@pytest.mark.parametrize(
    "top, described",
    [([1, 2, 3], "a list"), ({}, "a dict with keys \\[\\]"), ("tensor", "a single tensor of shape \\[2\\]")],
)
def test_a_top_object_that_is_not_a_mapping_of_names_to_tensors(tmp_path, top, described):
    if top == "tensor":
        top = tensors_of({"w": np.ones(2, "float32")})[0]["w"]
    path = str(tmp_path / "odd.pth")
    write_zip(path, top)
    with pytest.raises(CheckpointError, match=f"odd.pth holds {described}, not a state dict of tensors"):
        read_torch_checkpoint(path)


class _Exploit:
    """Pickles as a call of os.system, which would create ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _eval_pickle(marker) -> bytes:
    # protocol 0, written opcode by opcode: GLOBAL builtins.eval, MARK, STRING, TUPLE, REDUCE, STOP
    expression = f"open({str(marker)!r}, 'w').close()"
    return b"cbuiltins\neval\n(" + b"S" + repr(expression).encode() + b"\ntR."


@pytest.mark.parametrize("layout", ["zip", "legacy"])
@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_pickle_that_imports_os_system_is_refused_and_nothing_runs(tmp_path, layout, protocol):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weight": _Exploit(marker)}, protocol=protocol)
    path = str(tmp_path / "evil.pth")
    if layout == "zip":
        write_zip_members(path, payload, {})
    else:
        write_legacy_parts(path, legacy_headers() + [payload, pickle.dumps([], protocol=2)])
    with pytest.raises(
        CheckpointError,
        match=r"^refusing to load .*evil.pth: it asks to import (posix|os)\.system; a checkpoint may only contain tensors$",
    ):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_the_exploit_helpers_would_have_run(tmp_path):
    # Proves the two refusal tests above check something: unrestricted unpickling runs them.
    marker = tmp_path / "ran"
    pickle.loads(_eval_pickle(marker))
    assert marker.exists()


@pytest.mark.parametrize("position", ["object", "sys_info", "storage_keys", "magic"])
def test_builtins_eval_is_refused_wherever_the_legacy_file_puts_it(tmp_path, position):
    marker = tmp_path / "pwned"
    tensors, _ = tensors_of({"w": np.ones(2, "float32")})
    object_pickle, roots = pickle_checkpoint(tensors, legacy=True)
    headers = legacy_headers()
    keys = pickle.dumps([roots[0].key], protocol=2)
    storage = struct.pack("<q", 2) + roots[0].raw
    evil = _eval_pickle(marker)
    parts = {
        "object": headers + [evil, keys, storage],
        "sys_info": headers[:2] + [evil, object_pickle, keys, storage],
        "storage_keys": headers + [object_pickle, evil, storage],
        "magic": [evil] + headers[1:] + [object_pickle, keys, storage],
    }[position]
    path = str(tmp_path / "evil.pth")
    write_legacy_parts(path, parts)
    # a file that does not start with the magic number is simply not a checkpoint
    expected = "evil.pth is not a PyTorch checkpoint" if position == "magic" else "refusing to load .*evil.pth: it asks to import builtins.eval"
    with pytest.raises(CheckpointError, match=expected):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_truncated_damaged_and_foreign_files(tmp_path, fixtures_dir):
    with open(fixture_path(fixtures_dir, "official_inade_tiny", "net_E.pth"), "rb") as f:
        data = f.read()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth is a damaged or truncated zip archive"):
        read_torch_checkpoint(str(truncated))
    with open(fixture_path(fixtures_dir, "official_inade_tiny", "net_G_legacy.pth"), "rb") as f:
        legacy = f.read()
    cut = tmp_path / "cut_legacy.pth"
    cut.write_bytes(legacy[: len(legacy) - 1000])
    with pytest.raises(CheckpointError, match="cut_legacy.pth is truncated at storage"):
        read_torch_checkpoint(str(cut))
    png = tmp_path / "picture.pth"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(CheckpointError, match="picture.pth is not a PyTorch checkpoint"):
        read_torch_checkpoint(str(png))
    text = tmp_path / "notes.pth"
    text.write_text("cat and dog\n")  # starts with the GLOBAL opcode 'c'
    with pytest.raises(CheckpointError, match="notes.pth is not a PyTorch checkpoint"):
        read_torch_checkpoint(str(text))
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth is empty"):
        read_torch_checkpoint(str(empty))
    with pytest.raises(CheckpointError, match="checkpoint not found: .*missing.pth"):
        read_torch_checkpoint(str(tmp_path / "missing.pth"))
    with pytest.raises(CheckpointError, match="is not a file; expected a PyTorch checkpoint"):
        read_torch_checkpoint(str(tmp_path))
    not_torch = tmp_path / "plain.zip"
    with zipfile.ZipFile(not_torch, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="plain.zip is a zip archive but not a PyTorch checkpoint"):
        read_torch_checkpoint(str(not_torch))


@pytest.mark.parametrize("name", ["net_E.pth", "net_G_legacy.pth"])
def test_every_truncation_point_gives_a_checkpoint_error(tmp_path, fixtures_dir, name):
    with open(fixture_path(fixtures_dir, "official_inade_tiny", name), "rb") as f:
        data = f.read()
    # the headers and object pickle densely, then the storage bytes sparsely
    cuts = list(range(1, 4000, 97)) + list(np.linspace(4000, len(data) - 1, 12).astype(int))
    path = tmp_path / name
    for cut in cuts:
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=name):
            read_torch_checkpoint(str(path))


def test_damaged_storage_bytes_in_a_zip(tmp_path, fixtures_dir):
    with open(fixture_path(fixtures_dir, "official_inade_tiny", "net_E.pth"), "rb") as f:
        data = bytearray(f.read())
    with zipfile.ZipFile(fixture_path(fixtures_dir, "official_inade_tiny", "net_E.pth")) as archive:
        info = archive.getinfo("net_E/data/0")
    data[info.header_offset + 200] ^= 0xFF  # inside the stored bytes: the CRC no longer matches
    path = tmp_path / "flipped.pth"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flipped.pth is damaged: net_E/data/0 cannot be read"):
        read_torch_checkpoint(str(path))


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    tensors, storages = tensors_of({"w": np.zeros(4, "float32")})
    object_pickle, _ = pickle_checkpoint(tensors, legacy=False)
    path = str(tmp_path / "overflow.pth")
    write_zip_members(path, object_pickle, {"0": storages[0].raw[:8]})
    with pytest.raises(CheckpointError, match="overflow.pth is truncated: storage 0 has 8 of 16 bytes"):
        read_torch_checkpoint(path)
    storage = Storage.of("0", np.zeros(4, "float32"))
    for tensor, message in [
        (Tensor(storage, (2, 2), stride=(3, 1)), "reads past the end of its storage"),
        (Tensor(storage, (2,), stride=(-1,), offset=3), "invalid shape \\(2,\\) or stride \\(-1,\\)"),
        (Tensor(storage, (2, 2), stride=(1,)), "invalid shape"),
    ]:
        write_zip(path, {"w": tensor})
        with pytest.raises(CheckpointError, match=f"overflow.pth: a tensor .*{message}"):
            read_torch_checkpoint(path)


def test_missing_storage_and_mismatched_legacy_sizes(tmp_path):
    tensors, storages = tensors_of({"w": np.ones(3, "float32")})
    object_pickle, _ = pickle_checkpoint(tensors, legacy=False)
    path = str(tmp_path / "bad.pth")
    write_zip_members(path, object_pickle, {})
    with pytest.raises(CheckpointError, match="bad.pth is missing the data of storage 0"):
        read_torch_checkpoint(path)
    legacy_pickle, _ = pickle_checkpoint(tensors, legacy=True)
    keys = pickle.dumps(["0"], protocol=2)
    write_legacy_parts(path, legacy_headers() + [legacy_pickle, keys, struct.pack("<q", 5) + storages[0].raw])
    with pytest.raises(CheckpointError, match="bad.pth: storage 0 holds 5 elements, its tensors expect 3"):
        read_torch_checkpoint(path)
    write_legacy_parts(path, legacy_headers() + [legacy_pickle, pickle.dumps([], protocol=2)])
    with pytest.raises(CheckpointError, match="bad.pth has no data for storage 0"):
        read_torch_checkpoint(path)
    write_legacy_parts(path, legacy_headers() + [legacy_pickle, pickle.dumps(["9"], protocol=2)])
    with pytest.raises(CheckpointError, match="bad.pth lists storage 9 that no tensor uses"):
        read_torch_checkpoint(path)


def test_big_endian_files_and_unknown_legacy_protocols_are_refused(tmp_path):
    tensors, _ = tensors_of({"w": np.ones(2, "float32")})
    path = str(tmp_path / "other.pth")
    write_zip(path, tensors, byteorder="big")
    with pytest.raises(CheckpointError, match="other.pth was written with byte order b'big'; only little endian"):
        read_torch_checkpoint(path)
    write_zip(path, tensors, byteorder=None)  # PyTorch 1.6 to 2.0 wrote no byteorder record
    np.testing.assert_array_equal(read_torch_checkpoint(path)["w"], np.ones(2))
    write_legacy(path, tensors, headers=legacy_headers(little_endian=False))
    with pytest.raises(CheckpointError, match="other.pth was written on a big-endian machine"):
        read_torch_checkpoint(path)
    headers = legacy_headers()
    write_legacy(path, tensors, headers=[headers[0], pickle.dumps(1000, protocol=2), headers[2]])
    with pytest.raises(CheckpointError, match="other.pth has legacy protocol version 1000; expected 1001"):
        read_torch_checkpoint(path)
