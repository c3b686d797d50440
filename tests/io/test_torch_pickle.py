import os
import pickle
import zipfile

import numpy as np
import pytest

from inade.errors import CheckpointError
from inade.io import read_torch_checkpoint

from .torch_writer import write_legacy_with_pickle, write_raw_zip, write_zip_checkpoint


def fixture_path(fixtures_dir, *parts):
    return os.path.join(fixtures_dir, *parts)


def test_zip_and_legacy_formats_read_to_identical_tensors(fixtures_dir):
    zipped = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G.pth"))
    legacy = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G_legacy.pth"))
    assert list(zipped) == list(legacy) and len(zipped) == 198
    for name in zipped:
        assert zipped[name].dtype == legacy[name].dtype, name
        np.testing.assert_array_equal(zipped[name], legacy[name], err_msg=name)


def test_known_names_shapes_and_dtypes(fixtures_dir):
    state = read_torch_checkpoint(fixture_path(fixtures_dir, "official_inade_tiny", "net_G.pth"))
    # ngf 8, 64x64, normal: fc maps z (256) to 16*ngf*2*2 = 512
    assert state["fc.weight"].shape == (512, 256) and state["fc.weight"].dtype == np.float32
    assert state["head_0.conv_0.weight_orig"].shape == (128, 128, 3, 3)
    assert state["head_0.conv_0.weight_u"].shape == (128,) and state["head_0.conv_0.weight_v"].shape == (1152,)
    assert state["up_3.norm_0.weight"].shape == (6, 16, 2)
    tracked = state["head_0.norm_0.param_free_norm.num_batches_tracked"]
    assert tracked.shape == () and tracked.dtype == np.int64
    assert np.isfinite(state["head_0.norm_0.param_free_norm.running_var"]).all()


@pytest.mark.parametrize(
    "name", ["official_inade_tiny/net_E.pth", "official_inade_tiny/net_D.pth", "official_spade_vae_tiny/net_G.pth",
             "official_spade_vae_tiny/net_E.pth", "official_spade_vae_tiny/net_D.pth"],
)
def test_every_fixture_checkpoint_reads(fixtures_dir, name):
    state = read_torch_checkpoint(fixture_path(fixtures_dir, *name.split("/")))
    assert state and all(isinstance(v, np.ndarray) for v in state.values())


def test_round_trip_of_written_checkpoint_with_non_contiguous_and_half_tensors(tmp_path):
    state = {
        "a": np.arange(12, dtype="float32").reshape(3, 4),
        "b": np.arange(6, dtype="int64"),
        "c": np.asfortranarray(np.arange(6, dtype="float32").reshape(2, 3)),
        "d": np.array([1.5, -2.0], dtype="float16"),
    }
    path = str(tmp_path / "ckpt.pth")
    write_zip_checkpoint(path, state)
    read = read_torch_checkpoint(path)
    for name, value in state.items():
        np.testing.assert_array_equal(read[name], value)
        assert read[name].dtype == value.dtype


def test_nested_state_dict_needs_a_key(tmp_path):
    path = str(tmp_path / "nested.pth")
    write_zip_checkpoint(path, {"w": np.ones(2, "float32")}, wrap=lambda t: {"state_dict": t, "epoch": 3})
    with pytest.raises(CheckpointError, match=r"holds a dict with keys \['state_dict', 'epoch'\], not a state dict of tensors.*pass key="):
        read_torch_checkpoint(path)
    np.testing.assert_array_equal(read_torch_checkpoint(path, key="state_dict")["w"], np.ones(2))
    with pytest.raises(CheckpointError, match="with no entry 'model'"):
        read_torch_checkpoint(path, key="model")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_a_pickle_that_imports_code_is_refused_and_nothing_runs(tmp_path, layout):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"weight": _Exploit(marker)}, protocol=2)
    path = str(tmp_path / "evil.pth")
    if layout == "zip":
        write_raw_zip(path, payload)
    else:
        write_legacy_with_pickle(path, payload)
    with pytest.raises(CheckpointError, match=r"refusing to load .*evil.pth: it asks to import (posix|os)\.system"):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_top_object_that_is_not_a_mapping(tmp_path):
    path = str(tmp_path / "list.pth")
    write_raw_zip(path, pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(CheckpointError, match="holds a list, not a state dict of tensors"):
        read_torch_checkpoint(path)


def test_truncated_damaged_and_foreign_files(tmp_path, fixtures_dir):
    with open(fixture_path(fixtures_dir, "official_inade_tiny", "net_E.pth"), "rb") as f:
        data = f.read()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pth"):
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
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth is empty"):
        read_torch_checkpoint(str(empty))
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_torch_checkpoint(str(tmp_path / "missing.pth"))
    not_torch = tmp_path / "plain.zip"
    with zipfile.ZipFile(not_torch, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="zip archive but not a PyTorch checkpoint"):
        read_torch_checkpoint(str(not_torch))


def test_a_tensor_reaching_past_its_storage_is_refused(tmp_path):
    path = str(tmp_path / "overflow.pth")
    write_zip_checkpoint(path, {"w": np.zeros(4, "float32")})
    # Shrink the stored bytes so the declared tensor no longer fits.
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["archive/data/0"] = members["archive/data/0"][:8]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(CheckpointError, match="truncated: storage 0 has 8 of 16 bytes"):
        read_torch_checkpoint(path)
