"""Read PyTorch checkpoints (``.pth``) into numpy arrays, without PyTorch and
without running code from the file.

Both of PyTorch's formats are read: the zip archive (PyTorch >= 1.6: a
``<prefix>/data.pkl`` pickle plus one raw file ``<prefix>/data/<key>`` per
storage) and the older "legacy" stream (pickles of the magic number, the
protocol version and system info, then the object pickle, the list of storage
keys, and each storage as an int64 element count followed by its raw bytes).

Every pickle in the file, headers included, is read by an unpickler that only
knows the handful of globals a state dict needs (ordered dicts, tensor
rebuilders, storage types); any other global, such as ``os.system``, is
refused before anything runs. Tensor views are bounds-checked against their
storage before they are copied out.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from ..errors import CheckpointError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_SIGNATURE = b"PK\x03\x04"
# Errors the zip and zlib modules raise for damaged or unusual archives.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class _Storage:
    """A storage referenced by the pickle; its bytes arrive later."""

    def __init__(self, storage_type: _StorageType, key: str, numel: int):
        self.type = storage_type
        self.key = key
        self.numel = numel
        self.array: np.ndarray | None = None
        self.view_of: tuple[_Storage, int] | None = None  # legacy views: (root, element offset)

    def set_bytes(self, raw: bytes, source: str) -> None:
        expected = self.numel * self.type.itemsize
        if len(raw) < expected:
            raise CheckpointError(f"{source} is truncated: storage {self.key} has {len(raw)} of {expected} bytes")
        raw = raw[:expected]
        if self.type.dtype == "bfloat16":
            # numpy has no bfloat16; it is the top half of a float32, so widening is exact
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            self.array = halves.view(np.float32)
        else:
            self.array = np.frombuffer(raw, dtype=np.dtype(self.type.dtype).newbyteorder("<"))

    def values(self, source: str) -> np.ndarray:
        if self.view_of is not None:
            root, offset = self.view_of
            return root.values(source)[offset : offset + self.numel]
        if self.array is None:
            raise CheckpointError(f"{source} has no data for storage {self.key}")
        return self.array


class _LazyTensor:
    """A tensor as the pickle describes it; its storage is filled in after the
    pickle is read, so the values are copied out only at the end."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialize(self, source: str) -> np.ndarray:
        data = self.storage.values(source)
        if len(self.size) != len(self.stride) or any(s < 0 for s in self.size + self.stride) or self.offset < 0:
            raise CheckpointError(f"{source}: a tensor has an invalid shape {self.size} or stride {self.stride}")
        if 0 in self.size:
            return np.zeros(self.size, dtype=data.dtype.newbyteorder("="))
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= len(data):
            raise CheckpointError(f"{source}: a tensor of shape {self.size} reads past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * data.itemsize for s in self.stride], writeable=False
        )
        return np.array(view, dtype=data.dtype.newbyteorder("="), copy=True)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    # *_ignored: requires_grad, backward hooks and metadata, which numpy has no use for
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


_TENSOR_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): tuple,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """With ``tensors=False`` (the legacy headers) no global at all is allowed
    and persistent references are refused."""

    def __init__(self, stream, source: str, tensors: bool):
        super().__init__(stream)
        self.source = source
        self.tensors = tensors
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if self.tensors and (module, name) in _TENSOR_GLOBALS:
            return _TENSOR_GLOBALS[(module, name)]
        if self.tensors and module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"refusing to load {self.source}: it asks to import {module}.{name}; a checkpoint may only contain tensors"
        )

    def persistent_load(self, pid):
        if not (self.tensors and isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"{self.source}: unknown persistent reference {str(pid)[:80]}")
        storage_type, key, numel = pid[1], str(pid[2]), _count(pid[4])
        if not isinstance(storage_type, _StorageType) or numel is None:
            raise CheckpointError(f"{self.source}: storage {key} has no storage type or a bad size {pid[4]!r}")
        root = self.storages.get(key)
        if root is None:
            root = self.storages[key] = _Storage(storage_type, key, numel)
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        view_key, offset, view_size = str(view[0]), _count(view[1]), _count(view[2])
        if offset is None or view_size is None:
            raise CheckpointError(f"{self.source}: storage view {view_key} has a bad offset or size")
        if view_key not in self.storages:
            child = self.storages[view_key] = _Storage(storage_type, view_key, view_size)
            child.view_of = (root, offset)
        return self.storages[view_key]


def _count(value) -> int | None:
    """A non-negative element count or offset, or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _unpickle(stream, source: str, tensors: bool = True) -> tuple[object, dict]:
    unpickler = _RestrictedUnpickler(stream, source, tensors)
    try:
        obj = unpickler.load()
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointError(f"{source} is not a readable PyTorch checkpoint ({type(error).__name__}: {error})") from None
    return obj, unpickler.storages


def _read_member(archive: zipfile.ZipFile, name: str, path: str) -> bytes:
    try:
        return archive.read(name)
    except _ZIP_ERRORS as error:
        raise CheckpointError(f"{path} is damaged: {name} cannot be read ({error})") from None


def _read_zip(path: str):
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise CheckpointError(f"{path} is a damaged or truncated zip archive ({error})") from None
    with archive:
        names = set(archive.namelist())
        pickles = sorted(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
        if not pickles:
            raise CheckpointError(f"{path} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        # files from PyTorch 1.6 to 2.0 have no byteorder record and are little endian
        order = _read_member(archive, prefix + "byteorder", path) if prefix + "byteorder" in names else b"little"
        if order.strip() != b"little":
            raise CheckpointError(f"{path} was written with byte order {order[:10]!r}; only little endian is supported")
        obj, storages = _unpickle(io.BytesIO(_read_member(archive, pickles[0], path)), path)
        for key, storage in storages.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise CheckpointError(f"{path} is missing the data of storage {key}")
            storage.set_bytes(_read_member(archive, member, path), path)
    return obj


def _read_legacy(path: str):
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        try:
            magic, _ = _unpickle(f, path, tensors=False)
        except CheckpointError:  # not a pickle, or one with globals: no torch.save file starts so
            magic = None
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save file)")
        protocol, _ = _unpickle(f, path, tensors=False)
        if protocol != _LEGACY_PROTOCOL:
            raise CheckpointError(f"{path} has legacy protocol version {str(protocol)[:40]}; expected {_LEGACY_PROTOCOL}")
        sys_info, _ = _unpickle(f, path, tensors=False)
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            raise CheckpointError(f"{path} was written on a big-endian machine, which is not supported")
        obj, storages = _unpickle(f, path)
        if f.tell() >= file_size:
            raise CheckpointError(f"{path} is truncated after its object pickle")
        keys, _ = _unpickle(f, path, tensors=False)
        if not isinstance(keys, list):
            raise CheckpointError(f"{path}: the storage key list is a {type(keys).__name__}, not a list")
        for key in keys:
            storage = storages.get(str(key))
            if storage is None or storage.view_of is not None:
                raise CheckpointError(f"{path} lists storage {key} that no tensor uses")
            header = f.read(8)
            if len(header) < 8:
                raise CheckpointError(f"{path} is truncated at storage {key}")
            (numel,) = struct.unpack("<q", header)
            if numel != storage.numel:
                raise CheckpointError(f"{path}: storage {key} holds {numel} elements, its tensors expect {storage.numel}")
            nbytes = numel * storage.type.itemsize
            if nbytes > file_size - f.tell():
                raise CheckpointError(f"{path} is truncated at storage {key}")
            storage.set_bytes(f.read(nbytes), path)
    return obj


def _materialize(obj, source: str):
    if isinstance(obj, _LazyTensor):
        return obj.materialize(source)
    if isinstance(obj, dict):
        return collections.OrderedDict((k, _materialize(v, source)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v, source) for v in obj)
    return obj


def _describe(obj) -> str:
    if isinstance(obj, dict):
        keys = list(obj)[:6]
        return f"a dict with keys {keys}" + (" ..." if len(obj) > 6 else "")
    if isinstance(obj, _LazyTensor):
        return f"a single tensor of shape {list(obj.size)}"
    if isinstance(obj, _Storage):
        return "a bare storage"
    return f"a {type(obj).__name__}"


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


def read_torch_checkpoint(path: "str | os.PathLike", key: str | None = None) -> "collections.OrderedDict[str, np.ndarray]":
    """The state dict in a PyTorch checkpoint, as names -> numpy arrays, in the
    file's order (0-d tensors such as ``num_batches_tracked`` come back as 0-d
    arrays; bfloat16 is widened to float32).

    ``key`` picks a state dict nested in a larger checkpoint, e.g. "state_dict"
    or "model"; without it the top object itself must be the state dict.
    Raises CheckpointError naming the file for a missing, damaged, truncated or
    non-checkpoint file, a top object that is not a mapping of names to
    tensors, or a pickle that asks to import anything but tensor builders.
    """
    path = os.fspath(path)
    obj = _load_top_object(path)
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise CheckpointError(f"{path} holds {_describe(obj)}, with no entry {key!r}")
        obj = obj[key]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path} holds {_describe(obj)}, not a state dict of tensors")
    not_tensors = [k for k, v in obj.items() if not isinstance(v, _LazyTensor)]
    if not_tensors:
        raise CheckpointError(
            f"{path} holds {_describe(obj)}, not a state dict of tensors "
            f"(e.g. {not_tensors[0]!r} is {_describe(obj[not_tensors[0]])}); pass key= to pick the state dict"
        )
    return _materialize(obj, path)
