"""Read PyTorch checkpoints (``.pth``) into numpy arrays, without PyTorch and
without running code from the file.

Both of PyTorch's formats are read: the zip archive (PyTorch >= 1.6: a
``<prefix>/data.pkl`` pickle plus one raw file ``<prefix>/data/<key>`` per
storage) and the older "legacy" stream (pickles of the magic number, the
protocol version and system info, then the object pickle, the list of storage
keys, and each storage as an int64 element count followed by its raw bytes).

Every pickle in the file, headers included, is read by the restricted
unpickler of ``torch_tensors``. Memory stays bounded by the file's size: every
size the file declares (zip entries, storages, tensors) is checked against the
others and against the file before anything of that size is allocated, and
zip entries are read with reads bounded by their declared sizes.
"""
from __future__ import annotations

import collections
import io
import os
import struct
import zipfile
import zlib

import numpy as np

from ..errors import CheckpointError
from .torch_tensors import LazyTensor, check_tensors, describe, is_state_dict, materialize, name_of, unpickle

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_SIGNATURE = b"PK\x03\x04"
# Errors the zip and zlib modules raise for damaged or unusual archives.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)
# A state dict's pickle names each tensor in a few dozen bytes; 64 MB would
# describe millions of tensors, and bounds what the unpickler builds.
MAX_PICKLE_BYTES = 64 << 20
# PyTorch stores its entries uncompressed. A deflated entry is accepted (a
# re-zipped file), but not one that inflates more than this: a zip bomb.
MAX_INFLATION = 100


def _check_member(info: zipfile.ZipInfo, path: str, expected: int | None = None, limit: int | None = None) -> None:
    """Refuse an entry by what it declares, before it is inflated."""
    name = name_of(info.filename)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError(
            f"{path}: entry {name} is compressed with method {info.compress_type}; PyTorch stores its entries uncompressed"
        )
    if expected is not None and info.file_size != expected:
        raise CheckpointError(f"{path}: entry {name} holds {info.file_size} bytes, but its storage declares {expected}")
    if limit is not None and info.file_size > limit:
        raise CheckpointError(f"{path}: entry {name} declares {info.file_size} bytes; at most {limit} are expected")
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > MAX_INFLATION * info.compress_size:
        raise CheckpointError(
            f"{path}: entry {name} would inflate {info.compress_size} bytes to {info.file_size}, more than "
            f"{MAX_INFLATION} times (a zip bomb?); PyTorch stores its entries uncompressed"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> bytes:
    """The entry's bytes, never more than it declares (checked by _check_member)."""
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size)
    except _ZIP_ERRORS as error:
        raise CheckpointError(f"{path} is damaged: {name_of(info.filename)} cannot be read ({error})") from None
    if len(data) != info.file_size:
        raise CheckpointError(f"{path} is damaged: {name_of(info.filename)} has {len(data)} of {info.file_size} bytes")
    return data


def _read_zip(path: str):
    archive_size = os.path.getsize(path)
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise CheckpointError(f"{path} is a damaged or truncated zip archive ({error})") from None
    with archive:
        entries = {info.filename: info for info in archive.infolist()}
        pickles = sorted(n for n in entries if n.endswith("/data.pkl") or n == "data.pkl")
        if not pickles:
            raise CheckpointError(f"{path} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        used = [entries[pickles[0]]]
        # files from PyTorch 1.6 to 2.0 have no byteorder record and are little endian
        order = b"little"
        if prefix + "byteorder" in entries:
            used.append(entries[prefix + "byteorder"])
            _check_member(used[-1], path, limit=16)
            order = _read_member(archive, used[-1], path)
        if order.strip() != b"little":
            raise CheckpointError(f"{path} was written with byte order {order[:10]!r}; only little endian is supported")
        _check_member(used[0], path, limit=MAX_PICKLE_BYTES)
        obj, storages = unpickle(io.BytesIO(_read_member(archive, used[0], path)), path)
        members = {}
        for key, storage in storages.items():
            if storage.view_of is not None:  # its bytes are its root's
                continue
            member = entries.get(f"{prefix}data/{key}")
            if member is None:
                raise CheckpointError(f"{path} is missing the data of storage {key}")
            _check_member(member, path, expected=storage.nbytes)
            members[key] = member
        used += members.values()
        if sum(info.compress_size for info in used) > archive_size:
            # declared compressed sizes sharing the file's bytes: overlapping entries
            raise CheckpointError(f"{path} is damaged: its entries declare more compressed bytes than the file has")
        check_tensors(obj, storages, path)
        for key, member in members.items():
            storages[key].set_bytes(_read_member(archive, member, path), path)
    return obj


class _FileRest:
    """The rest of an open file, for the unpickler: no read asks for more than
    the file still holds, whatever length a pickle opcode declares."""

    def __init__(self, file, size: int):
        self.file, self.size = file, size

    def read(self, n: int = -1) -> bytes:
        left = max(self.size - self.file.tell(), 0)
        return self.file.read(left if n is None or n < 0 else min(n, left))

    def readline(self) -> bytes:
        return self.file.readline()


def _read_legacy(path: str):
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        stream = _FileRest(f, file_size)
        try:
            magic, _ = unpickle(stream, path, tensors=False)
        except CheckpointError:  # not a pickle, or one with globals: no torch.save file starts so
            magic = None
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save file)")
        protocol, _ = unpickle(stream, path, tensors=False)
        if protocol != _LEGACY_PROTOCOL:
            raise CheckpointError(f"{path} has legacy protocol version {name_of(protocol)}; expected {_LEGACY_PROTOCOL}")
        sys_info, _ = unpickle(stream, path, tensors=False)
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            raise CheckpointError(f"{path} was written on a big-endian machine, which is not supported")
        obj, storages = unpickle(stream, path)
        declared = sum(s.nbytes for s in storages.values() if s.view_of is None)
        if declared > file_size - f.tell():
            raise CheckpointError(
                f"{path} is truncated: its storages declare {declared} bytes, but only {file_size - f.tell()} "
                "follow its object pickle"
            )
        check_tensors(obj, storages, path)
        if f.tell() >= file_size:
            raise CheckpointError(f"{path} is truncated after its object pickle")
        keys, _ = unpickle(stream, path, tensors=False)
        if not isinstance(keys, list):
            raise CheckpointError(f"{path}: the storage key list is a {type(keys).__name__}, not a list")
        for key in keys:
            storage = storages.get(key if isinstance(key, str) else name_of(key))
            if storage is None or storage.view_of is not None:
                raise CheckpointError(f"{path} lists storage {name_of(key)} that no tensor uses")
            header = f.read(8)
            if len(header) < 8:
                raise CheckpointError(f"{path} is truncated at storage {storage.key}")
            (numel,) = struct.unpack("<q", header)
            if numel != storage.numel:
                raise CheckpointError(f"{path}: storage {storage.key} holds {numel} elements, its tensors expect {storage.numel}")
            if storage.nbytes > file_size - f.tell():
                raise CheckpointError(f"{path} is truncated at storage {storage.key}")
            storage.set_bytes(f.read(storage.nbytes), path)
    return obj


def _load_top_object(path: str):
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path} is not a file; expected a PyTorch checkpoint (.pth)")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as error:
        raise CheckpointError(f"{path} cannot be read ({error.strerror})") from None
    if not head:
        raise CheckpointError(f"{path} is empty")
    if head == _ZIP_SIGNATURE:
        return _read_zip(path)
    return _read_legacy(path)


def _select_state_dict(obj, path: str, key: str | None, key_option: str):
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise CheckpointError(f"{path} holds {describe(obj)}, with no entry {key!r}")
        if not is_state_dict(obj[key]):
            raise CheckpointError(f"{path}: entry {key!r} holds {describe(obj[key])}, not a state dict of tensors")
        return obj[key]
    if is_state_dict(obj):
        return obj
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path} holds {describe(obj)}, not a state dict of tensors")
    nested = [k for k, v in obj.items() if is_state_dict(v)]
    if len(nested) == 1:
        return obj[nested[0]]
    if nested:
        listing = ", ".join(name_of(k) for k in nested[:6]) + (" ..." if len(nested) > 6 else "")
        raise CheckpointError(f"{path} holds several state dicts ({listing}); name the one to read with {key_option}")
    example = next(k for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, LazyTensor)))
    reason = f"the key {name_of(example)} is not a name" if isinstance(obj[example], LazyTensor) else (
        f"{name_of(example)} is {describe(obj[example])}")
    raise CheckpointError(f"{path} holds {describe(obj)}, not a state dict of tensors, nor one nested in it (e.g. {reason})")


def read_torch_checkpoint(
    path: "str | os.PathLike", key: str | None = None, key_option: str = "key="
) -> "collections.OrderedDict[str, np.ndarray]":
    """The state dict in a PyTorch checkpoint, as names -> numpy arrays, in the
    file's order (0-d tensors such as ``num_batches_tracked`` come back as 0-d
    arrays; bfloat16 is widened to float32).

    The state dict is the top object, or else the one entry of a top-level
    dict that is a state dict (``{'state_dict': ..., 'epoch': ...}``); ``key``
    names that entry when there are several. ``key_option`` is how the caller's
    user spells ``key`` (a command line's ``--key``), for the message that asks
    for it. Raises CheckpointError naming the file for a missing, damaged,
    truncated or non-checkpoint file, sizes that do not fit each other or the
    file, no (or no single) state dict of tensors, or a pickle that asks to
    import anything but tensor builders.
    """
    path = os.fspath(path)
    state = _select_state_dict(_load_top_object(path), path, key, key_option)
    return materialize(state, path)
