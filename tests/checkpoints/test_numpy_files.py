"""FID statistics files (.npy, .npz) from strangers: no pickle, no allocation
beyond the bytes really in the file, one CheckpointError naming the file."""
import io
import os
import zipfile

import numpy as np
import pytest

from inade.checkpoints.numpy_files import read_npy, read_npz
from inade.errors import CheckpointError
from inade.evaluation.fid import load_statistics, save_statistics

from .hostile import hostile_pickles


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_round_trips_in_both_layouts_and_orders(tmp_path):
    mu, sigma = np.arange(3.0), np.asfortranarray(np.arange(9.0).reshape(3, 3))
    save_statistics(str(tmp_path / "stats.npz"), mu, sigma)
    loaded_mu, loaded_sigma = load_statistics(str(tmp_path / "stats.npz"))
    np.testing.assert_array_equal(loaded_mu, mu)
    np.testing.assert_array_equal(loaded_sigma, sigma)
    np.save(tmp_path / "m.npy", mu)
    np.save(tmp_path / "s.npy", sigma)
    np.testing.assert_array_equal(read_npy(str(tmp_path / "s.npy")), sigma)
    assert read_npy(str(tmp_path / "s.npy")).flags.writeable


def test_a_pickled_object_array_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"
    for name, payload in hostile_pickles(marker).items():
        path = tmp_path / f"{name}.npy"
        path.write_bytes(_npy_bytes(np.array([payload], dtype=object)))
        with pytest.raises(CheckpointError, match=rf"{name}.npy: refused to load: the array holds Python objects"):
            read_npy(str(path))
        archive = tmp_path / f"{name}.npz"
        with zipfile.ZipFile(archive, "w") as out:
            out.writestr("mu.npy", _npy_bytes(np.array([payload], dtype=object)))
        with pytest.raises(CheckpointError, match="refused to load"):
            read_npz(str(archive), ("mu",))
    assert not marker.exists()


def test_declared_sizes_beyond_the_file_are_refused_before_allocating(tmp_path):
    header = _npy_bytes(np.zeros(0, dtype=np.float64)).replace(b"(0,)", b"(1000000000000,)")
    huge = tmp_path / "huge.npy"
    huge.write_bytes(header + b"\0" * 64)  # 10^12 doubles declared, 64 bytes there
    with pytest.raises(CheckpointError, match=r"huge.npy: the header declares \[1000000000000\] float64"):
        read_npy(str(huge))
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(_npy_bytes(np.arange(100.0))[:-8])
    with pytest.raises(CheckpointError, match="truncated.npy: .* 792 bytes follow it; the file is truncated"):
        read_npy(str(truncated))
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("mu.npy", _npy_bytes(np.zeros(2_000_000)))  # 16 MB of zeros in a few kB
    assert os.path.getsize(bomb) < 100_000
    with pytest.raises(CheckpointError, match="bomb.npz: entry mu.npy claims to inflate .* refused"):
        read_npz(str(bomb), ("mu",))


def test_other_broken_files_name_the_file(tmp_path):
    cases = {
        "text.npz": (b"not a zip", "not a readable .npz file"),
        "text.npy": (b"not an array", "not a NumPy array file"),
        "empty.npy": (b"", "not a NumPy array file"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError, match=f"{name}: {message}"):
            (read_npz(str(tmp_path / name), ("mu",)) if name.endswith(".npz") else read_npy(str(tmp_path / name)))
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, mu=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"wrong.npz: no array 'sigma' \(holds \['mu.npy'\]\)"):
        load_statistics(str(wrong))
    np.savez(wrong, mu=np.zeros(3), sigma=np.zeros((2, 2)))
    with pytest.raises(CheckpointError, match=r"mean \[D\] and a covariance \[D, D\], got \[3\] and \[2, 2\]"):
        load_statistics(str(wrong))
    with pytest.raises(CheckpointError, match="missing.npy: cannot read"):
        read_npy(str(tmp_path / "missing.npy"))
