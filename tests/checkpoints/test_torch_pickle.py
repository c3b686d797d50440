import glob
import json
import os
import pickle
import re
import struct
import zipfile
import zlib

import numpy as np
import pytest

from inade.errors import CheckpointError
from inade.checkpoints import read_torch_checkpoint

from .torch_writer import (
    Storage,
    Tensor,
    deflated_zeros,
    hostile_tensor,
    legacy_headers,
    pickle_checkpoint,
    tensors_of,
    write_legacy,
    write_legacy_parts,
    write_raw_zip,
    write_zip,
    write_zip_bomb,
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
    with pytest.raises(CheckpointError, match=r"views.pth: storage view past \(offset 8, size 4\) does not lie inside storage root of 10"):
        read_torch_checkpoint(path)
    write_legacy(path, {"w": Tensor(view, (4,), offset=1)})
    with pytest.raises(CheckpointError, match=r"views.pth: tensor 'w' of shape \(4,\) \(offset 1, stride \(1,\)\) reads past the end of its storage of 4 elements"):
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


def test_a_nested_state_dict_is_found_by_itself_or_picked_by_key(tmp_path):
    tensors, _ = tensors_of({"w": np.ones(2, "float32")})
    path = str(tmp_path / "nested.pth")
    write_zip(path, {"state_dict": tensors, "epoch": 3, "optimizer": {"lr": 0.1}})
    np.testing.assert_array_equal(read_torch_checkpoint(path)["w"], np.ones(2))
    np.testing.assert_array_equal(read_torch_checkpoint(path, key="state_dict")["w"], np.ones(2))
    with pytest.raises(CheckpointError, match="with no entry 'model'"):
        read_torch_checkpoint(path, key="model")
    with pytest.raises(CheckpointError, match="entry 'optimizer' holds a dict with keys \\['lr'\\], not a state dict of tensors"):
        read_torch_checkpoint(path, key="optimizer")
    both, _ = tensors_of({"g": np.ones(2, "float32"), "d": np.zeros(3, "float32")})
    write_zip(path, {"net_G": {"w": both["g"]}, "net_D": {"w": both["d"]}, "epoch": 3})
    for option in ("key=", "--key"):
        with pytest.raises(CheckpointError, match=f"^.*nested.pth holds several state dicts \\('net_G', 'net_D'\\); name the one to read with {option}$"):
            read_torch_checkpoint(path, key_option=option)
    np.testing.assert_array_equal(read_torch_checkpoint(path, key="net_D")["w"], np.zeros(3))
    write_zip(path, {"epoch": 3, "optimizer": {"lr": 0.1}})
    with pytest.raises(CheckpointError, match="not a state dict of tensors, nor one nested in it \\(e.g. 'epoch' is a int\\)"):
        read_torch_checkpoint(path)


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
    with pytest.raises(CheckpointError, match="cut_legacy.pth is truncated"):
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
    with pytest.raises(CheckpointError, match="flipped.pth is damaged: 'net_E/data/0' cannot be read"):
        read_torch_checkpoint(str(path))


def test_an_entry_shorter_than_its_storage_is_refused_before_it_is_read(tmp_path):
    tensors, storages = tensors_of({"w": np.zeros(4, "float32")})
    object_pickle, _ = pickle_checkpoint(tensors, legacy=False)
    path = str(tmp_path / "overflow.pth")
    write_zip_members(path, object_pickle, {"0": storages[0].raw[:8]})
    with pytest.raises(CheckpointError, match="overflow.pth: entry 'archive/data/0' holds 8 bytes, but its storage declares 16$"):
        read_torch_checkpoint(path)


HOSTILE = {
    "zero_strides": r"tensor 'w' of shape \(46341, 46341\) has 2147488281 elements, more than the 1 of its storage",
    "65_dims": r"tensor 'w' has 65 dimensions; at most 32 are supported",
    "negative_stride": r"tensor 'w' has a negative stride \(-1,\), which PyTorch never writes",
    "offset_past_end": r"tensor 'w' of shape \(2,\) \(offset 10, stride \(1,\)\) reads past the end of its storage of 4 elements",
    "overlapping_strides": r"tensor 'w' of shape \(3, 3\) has 9 elements, more than the 4 of its storage",
    "absurd_numel": r"storage 0 declares 4611686018427387904 elements, not a count below 2\*\*62",
}
HUGE_NUMEL = {  # 2**40 elements over 4 stored bytes: the container's sizes disagree
    "zip": r"entry 'archive/data/0' holds 4 bytes, but its storage declares 4398046511104",
    "legacy": r"is truncated: its storages declare 4398046511104 bytes, but only \d+ follow its object pickle",
}


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_hostile_tensors_are_refused_with_one_line_before_anything_is_copied(tmp_path, layout):
    write = write_zip if layout == "zip" else write_legacy
    path = str(tmp_path / "hostile.pth")
    for case, message in list(HOSTILE.items()) + [("huge_numel", HUGE_NUMEL[layout])]:
        write(path, hostile_tensor(case))
        with pytest.raises(CheckpointError, match=f"^{re.escape(path)}[: ].*{message}") as refused:
            read_torch_checkpoint(path)
        assert "\n" not in str(refused.value), case


@pytest.mark.parametrize("shape, stride, message", [
    ((2, 2), (1,), r"invalid shape \(2, 2\) or stride \(1,\)"),
    ((2, 1.5), (1, 1), r"invalid shape \(2, 1.5\) or stride \(1, 1\)"),
    ((2, 2**70), (1, 1), r"invalid shape \(2, <int>\)|invalid shape \(2, 1180591620717411303424\)"),
    ((-2,), (1,), r"negative size or offset: shape \(-2,\)"),
])
def test_malformed_shapes_and_strides(tmp_path, shape, stride, message):
    path = str(tmp_path / "odd.pth")
    write_zip(path, {"w": Tensor(Storage.of("0", np.zeros(4, "float32")), shape, stride=stride)})
    with pytest.raises(CheckpointError, match=f"odd.pth: tensor 'w' has an? .*{message}"):
        read_torch_checkpoint(path)


def test_zero_strides_within_the_storage_are_read(tmp_path):
    # a broadcast over as many elements as the storage holds is harmless, and numpy reads it exactly
    path = str(tmp_path / "broadcast.pth")
    write_zip(path, {"w": Tensor(Storage.of("0", np.arange(4, dtype="float32")), (2, 2), stride=(0, 1))})
    np.testing.assert_array_equal(read_torch_checkpoint(path)["w"], [[0, 1], [0, 1]])


def test_many_tensors_over_one_storage_are_refused(tmp_path):
    # 2000 names for the whole of one 64 KiB storage: 128 MB of tensors from a file of a few dozen KB
    storage = Storage.of("0", np.zeros(16384, "float32"))
    tensor = Tensor(storage, (16384,))
    path = str(tmp_path / "repeated.pth")
    write_zip(path, {f"w{i}": tensor for i in range(2000)})
    with pytest.raises(CheckpointError, match="repeated.pth: its tensors hold 131072000 bytes, more than 4 times the 65536"):
        read_torch_checkpoint(path)
    write_zip(path, {"w": tensor, "tied": tensor})  # tied weights: a few repeats are fine
    assert set(read_torch_checkpoint(path)) == {"w", "tied"}


def test_zip_entries_are_bounded_before_they_are_inflated(tmp_path):
    path = str(tmp_path / "bomb.pth")
    write_zip_bomb(path, mib=64)  # the command-line test uses 2 GiB; the bound is the same
    with pytest.raises(CheckpointError, match=r"bomb.pth: entry 'archive/data/0' would inflate \d+ bytes to 67108864, more than 100 times"):
        read_torch_checkpoint(path)
    tensors, storages = tensors_of({"w": np.arange(4, dtype="float32")})
    object_pickle, _ = pickle_checkpoint(tensors, legacy=False)
    raw = storages[0].raw
    cases = {
        "bzip2": ([("archive/data.pkl", object_pickle, len(object_pickle), zlib.crc32(object_pickle), 12)],
                  "entry 'archive/data.pkl' is compressed with method 12; PyTorch stores its entries uncompressed"),
        "big_pickle": ([("archive/data.pkl", object_pickle, 65 << 20, zlib.crc32(object_pickle), 0)],
                       "entry 'archive/data.pkl' declares 68157440 bytes; at most 67108864 are expected"),
        "big_byteorder": ([("archive/data.pkl", object_pickle, len(object_pickle), zlib.crc32(object_pickle), 0),
                           ("archive/byteorder", b"little", 1 << 30, 0, 0)],
                          "entry 'archive/byteorder' declares 1073741824 bytes; at most 16 are expected"),
        "overlapping": ([("archive/data.pkl", object_pickle, len(object_pickle), zlib.crc32(object_pickle), 0),
                         ("archive/data/0", raw, len(raw), zlib.crc32(raw), 0)],
                        None),
    }
    for name, (entries, message) in cases.items():
        write_raw_zip(path, entries)
        if message is None:  # the well-formed control: the raw writer makes readable archives
            np.testing.assert_array_equal(read_torch_checkpoint(path)["w"], np.arange(4))
            continue
        with pytest.raises(CheckpointError, match=re.escape(message)):
            read_torch_checkpoint(path)
    # a deflated entry that inflates to more than it declares stops at what it declares (and its CRC fails)
    stream, crc = deflated_zeros(1)
    write_raw_zip(path, [("archive/data.pkl", object_pickle, len(object_pickle), zlib.crc32(object_pickle), 0),
                         ("archive/data/0", stream, 16, crc, 8)])
    with pytest.raises(CheckpointError, match="bomb.pth is damaged: 'archive/data/0' cannot be read"):
        read_torch_checkpoint(path)


def test_pickles_that_allocate_what_they_declare_are_harmless(tmp_path):
    # LONG_BINPUT to memo index 2**31: the C unpickler would grow its memo array to 16 GiB
    memo = b"\x80\x02}r\x00\x00\x00\x80."
    # BYTEARRAY8 of 2**33 bytes: allocated and zeroed before it is read
    bytearray8 = b"\x80\x05\x96" + struct.pack("<Q", 1 << 33) + b"."
    path = str(tmp_path / "small.pth")
    write_zip_members(path, memo, {})
    with pytest.raises(CheckpointError, match="small.pth holds a dict with keys \\[\\], not a state dict"):
        read_torch_checkpoint(path)
    write_zip_members(path, bytearray8, {})
    with pytest.raises(CheckpointError, match="small.pth is not a readable PyTorch checkpoint .*bytearray"):
        read_torch_checkpoint(path)
    # BUILD on a storage type would change what it reads
    build = b"\x80\x02ctorch\nFloatStorage\n}U\x05dtypeU\x02S9sb."
    write_zip_members(path, build, {})
    with pytest.raises(CheckpointError, match="small.pth is not a readable PyTorch checkpoint .*tries to modify a StorageType"):
        read_torch_checkpoint(path)


def test_nesting_deeper_than_a_checkpoint_has_is_refused(tmp_path):
    path = str(tmp_path / "deep.pth")
    cyclic = b"\x80\x02]q\x00h\x00a."  # a list that contains itself
    write_zip_members(path, cyclic, {})
    with pytest.raises(CheckpointError, match="deep.pth nests its objects more than 16 levels deep"):
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
    write_legacy_parts(path, legacy_headers() + [legacy_pickle, pickle.dumps([], protocol=2), bytes(16)])
    with pytest.raises(CheckpointError, match="bad.pth has no data for storage 0"):
        read_torch_checkpoint(path)
    write_legacy_parts(path, legacy_headers() + [legacy_pickle, pickle.dumps(["9"], protocol=2)])
    with pytest.raises(CheckpointError, match="bad.pth lists storage '9' that no tensor uses"):
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
