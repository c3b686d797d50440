"""The safetensors file layout, read and written with numpy alone.

    8 bytes    little-endian unsigned length N of the header
    N bytes    JSON: {name: {"dtype", "shape", "data_offsets": [begin, end]}, ...,
                      "__metadata__": {str: str}}
    the rest   the tensors' raw little-endian bytes, offsets relative to here

Reading it runs no code: the header is data, checked in full (sizes, dtypes,
shapes, offsets, file size) before a single tensor byte is read, and every
problem is one CheckpointError naming the file.
"""
from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np

from ..atomic import atomic_path
from ..errors import CheckpointError

# A header describes names and shapes; even a model of a million tensors stays far below this.
MAX_HEADER_BYTES = 100 * 1024 * 1024
MAX_DIMENSIONS = 16
METADATA = "__metadata__"
# Our own files carry a CRC-32 of the data region: a file of the right size with
# damaged contents (a disk or copy error) is told apart from an intact one.
CRC_KEY = "inade.crc32"

DTYPES = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("<u1"), "I8": np.dtype("<i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"),
}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}


def dtype_name(array: np.ndarray) -> str:
    """The safetensors name of an array's dtype (TypeError for one the format has no name for)."""
    name = _NAMES.get(array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype)
    if name is None:
        raise TypeError(f"safetensors has no dtype for {array.dtype}")
    return name


def write_safetensors(path: str, tensors: dict, metadata: dict | None = None) -> None:
    """Write ``{name: np.ndarray}`` (in their order) and ``{str: str}`` metadata
    atomically to ``path``; the metadata gains the CRC-32 of the data."""
    arrays = {name: np.asarray(value, order="C") for name, value in tensors.items()}
    header, offset, crc = {}, 0, 0
    for name, array in arrays.items():
        if name == METADATA:
            raise ValueError(f"{METADATA} is reserved, not a tensor name")
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        arrays[name] = little
        header[name] = {"dtype": dtype_name(little), "shape": list(little.shape),
                        "data_offsets": [offset, offset + little.nbytes]}
        offset += little.nbytes
        crc = zlib.crc32(little.data.cast("B") if little.nbytes else b"", crc)
    header[METADATA] = {**{str(k): str(v) for k, v in (metadata or {}).items()}, CRC_KEY: str(crc)}
    encoded = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned, as the format recommends
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(encoded)))
            f.write(encoded)
            for array in arrays.values():
                if array.nbytes:
                    f.write(array.data.cast("B"))


def _fail(path: str, problem: str):
    raise CheckpointError(f"{path}: {problem}")


def read_header(path: str) -> tuple[dict, dict, int]:
    """The checked header of ``path``: (entries by name in file order, metadata,
    where the data begins). Nothing of the data is read."""
    if not os.path.isfile(path):
        _fail(path, "checkpoint not found" if not os.path.exists(path) else "is a folder, not a checkpoint file")
    size = os.path.getsize(path)
    if size < 8:
        _fail(path, f"not a safetensors file: {size} bytes, shorter than the 8-byte header length")
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > MAX_HEADER_BYTES:
            _fail(path, f"not a safetensors file: header length {length} exceeds the {MAX_HEADER_BYTES}-byte limit")
        if 8 + length > size:
            _fail(path, f"truncated or not a safetensors file: header length {length} runs past the end "
                        f"of the {size}-byte file")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        _fail(path, f"not a safetensors file: the header is not valid JSON ({type(error).__name__}: {error})")
    if not isinstance(header, dict):
        _fail(path, "not a safetensors file: the header is not a JSON object")
    metadata = header.pop(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _fail(path, f"{METADATA} must map strings to strings")
    entries = {name: _checked_entry(path, name, entry) for name, entry in header.items()}
    data_size = size - 8 - length
    expected = 0
    for name, entry in sorted(entries.items(), key=lambda item: item[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        if begin != expected:
            problem = "overlaps the tensor before it" if begin < expected else "leaves a gap before it"
            _fail(path, f"tensor {name!r} starts at byte {begin} of the data and {problem} (expected {expected})")
        expected = end
    if expected != data_size:
        _fail(path, f"truncated or damaged: the header describes {expected} bytes of tensor data, "
                    f"the file holds {data_size}")
    return entries, metadata, 8 + length


def _refuse_duplicates(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _checked_entry(path: str, name: str, entry) -> dict:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        _fail(path, f"tensor {name!r}: expected {{dtype, shape, data_offsets}}, got {entry!r:.80}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        _fail(path, f"tensor {name!r}: unknown dtype {dtype!r} (known: {', '.join(DTYPES)})")
    if (not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS
            or not all(type(n) is int and n >= 0 for n in shape)):
        _fail(path, f"tensor {name!r}: shape {shape!r:.80} is not a list of at most {MAX_DIMENSIONS} non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int for n in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        _fail(path, f"tensor {name!r}: data_offsets {offsets!r:.80} is not [begin, end] with 0 <= begin <= end")
    nbytes = DTYPES[dtype].itemsize * int(np.prod(shape, dtype=object))
    if offsets[1] - offsets[0] != nbytes:
        _fail(path, f"tensor {name!r}: {dtype} {shape} needs {nbytes} bytes, its offsets span {offsets[1] - offsets[0]}")
    return {"dtype": DTYPES[dtype], "shape": tuple(shape), "data_offsets": tuple(offsets)}


def read_safetensors(path: str, convert=None) -> tuple[dict, dict]:
    """``({name: array}, metadata)`` of a safetensors file, in file order.

    Each tensor is read straight from the file into its own array (the file is
    never held twice); ``convert`` (e.g. to a paddle Tensor) is applied to each
    as it is read, so that only one unconverted tensor lives at a time."""
    entries, metadata, start = read_header(path)
    tensors, crc = {}, 0
    with open(path, "rb") as f:
        for name, entry in sorted(entries.items(), key=lambda item: item[1]["data_offsets"]):
            f.seek(start + entry["data_offsets"][0])
            count = int(np.prod(entry["shape"], dtype=np.int64))
            array = np.fromfile(f, dtype=entry["dtype"], count=count).reshape(entry["shape"])
            if array.size != count:
                _fail(path, f"tensor {name!r}: the file ended while reading it")
            crc = zlib.crc32(array.data.cast("B") if array.nbytes else b"", crc)
            tensors[name] = convert(array) if convert else array
    if CRC_KEY in metadata and metadata[CRC_KEY] != str(crc):
        _fail(path, "damaged: the tensor data does not match the checksum written with it")
    return {name: tensors[name] for name in entries}, metadata
