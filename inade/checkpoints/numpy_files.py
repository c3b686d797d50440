"""NumPy ``.npy`` and ``.npz`` files (FID reference statistics, the authors'
``m.npy``/``s.npy``) read without pickle and without trusting declared sizes.

``np.load`` refuses pickled object arrays by default, but it allocates what a
header declares before it reads: a 100-byte file claiming a 10^12-element array
(or a small zip entry that inflates without end) would exhaust memory. Here the
header is parsed first and its size checked against the bytes really there.
"""
from __future__ import annotations

import os
import zipfile
import zlib

import numpy as np

from ..errors import CheckpointError

# Statistics of real features hardly compress (np.savez stores them); deflate
# reaches 1000:1 only on constant bytes, the stuff of zip bombs.
MAX_COMPRESSION_RATIO = 100


def _read_array(stream, available: int, where: str) -> np.ndarray:
    """The array of one .npy stream of ``available`` bytes (header included)."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version in ((2, 0), (3, 0)):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unknown .npy version {version}")
    except ValueError as error:
        raise CheckpointError(f"{where}: not a NumPy array file ({' '.join(str(error).split())})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{where}: refused to load: the array holds Python objects (pickle), not numbers")
    count = int(np.prod(shape, dtype=object))
    wanted = count * dtype.itemsize
    header = stream.tell()
    if wanted != available - header:
        raise CheckpointError(f"{where}: the header declares {list(shape)} {dtype} ({wanted} bytes) but "
                              f"{available - header} bytes follow it; the file is truncated or damaged")
    data = stream.read(wanted)
    if len(data) != wanted:
        raise CheckpointError(f"{where}: truncated: {len(data)} of {wanted} bytes")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran_order else "C").copy()


def read_npy(path: str) -> np.ndarray:
    """The array in a ``.npy`` file; CheckpointError naming the file otherwise."""
    try:
        with open(path, "rb") as stream:
            return _read_array(stream, os.fstat(stream.fileno()).st_size, path)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read: {error.strerror or error}") from None


def read_npz(path: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``{name: array}`` for ``names`` in a ``.npz`` file (each ``name.npy`` inside)."""
    try:
        with zipfile.ZipFile(path) as archive:
            arrays = {}
            for name in names:
                try:
                    info = archive.getinfo(f"{name}.npy")
                except KeyError:
                    raise CheckpointError(f"{path}: no array '{name}' (holds {sorted(archive.namelist())})") from None
                if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                    raise CheckpointError(f"{path}: entry {info.filename} claims to inflate "
                                          f"{info.compress_size} bytes to {info.file_size}; refused")
                with archive.open(info) as stream:
                    # zipfile stops at the declared file_size and checks the CRC at the end
                    arrays[name] = _read_array(stream, info.file_size, f"{path}:{info.filename}")
            return arrays
    except (OSError, zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, zlib.error) as error:
        raise CheckpointError(f"{path}: not a readable .npz file ({' '.join(str(error).split())})") from None
