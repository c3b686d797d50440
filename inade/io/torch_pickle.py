"""Read PyTorch checkpoints (``.pth``) into numpy arrays, without PyTorch and
without running code from the file.

Both of PyTorch's formats are read: the zip archive (PyTorch >= 1.6: a
``data.pkl`` pickle plus one raw file per storage) and the older "legacy"
stream (magic number, protocol, system info, the object pickle, the list of
storage keys, then each storage as an int64 element count and raw bytes).

The pickle is read by an unpickler that only knows the handful of globals a
state dict needs (ordered dicts, tensor rebuilders, storage types); any other
global, such as ``os.system``, is refused before anything runs. Tensor views
are bounds-checked against their storage before they are copied out.
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
        self.numel = int(numel)
        self.array: np.ndarray | None = None
        self.view_of: tuple[_Storage, int] | None = None  # legacy views: (root, element offset)

    def set_bytes(self, raw: bytes, source: str) -> None:
        expected = self.numel * self.type.itemsize
        if len(raw) < expected:
            raise CheckpointError(f"{source} is truncated: storage {self.key} has {len(raw)} of {expected} bytes")
        raw = raw[:expected]
        if self.type.dtype == "bfloat16":
            # bfloat16 is the top half of a float32
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            self.array = halves.view(np.float32)
        else:
            self.array = np.frombuffer(raw, dtype=np.dtype(self.type.dtype).newbyteorder("<"))

    def values(self) -> np.ndarray:
        if self.view_of is not None:
            root, offset = self.view_of
            return root.values()[offset : offset + self.numel]
        if self.array is None:
            raise CheckpointError(f"storage {self.key} has no data in the file")
        return self.array


class _LazyTensor:
    def __init__(self, storage: _Storage, offset: int, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialize(self, source: str) -> np.ndarray:
        data = self.storage.values()
        if len(self.size) != len(self.stride) or any(s < 0 for s in self.size + self.stride) or self.offset < 0:
            raise CheckpointError(f"{source}: a tensor has an invalid shape {self.size} or stride {self.stride}")
        if 0 in self.size:
            return np.zeros(self.size, dtype=data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= len(data):
            raise CheckpointError(f"{source}: a tensor of shape {self.size} reads past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * data.itemsize for s in self.stride], writeable=False
        )
        return np.array(view, dtype=data.dtype.newbyteorder("="), copy=True)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): tuple,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, stream, source: str):
        super().__init__(stream)
        self.source = source
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(
            f"refusing to load {self.source}: it asks to import {module}.{name}; a checkpoint may only contain tensors"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"{self.source}: unknown persistent reference {str(pid)[:80]}")
        storage_type, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"{self.source}: storage {key} has no storage type")
        root = self.storages.get(key)
        if root is None:
            root = self.storages[key] = _Storage(storage_type, key, numel)
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        view_key, offset, view_size = view
        if str(view_key) not in self.storages:
            child = _Storage(storage_type, str(view_key), view_size)
            child.view_of = (root, int(offset))
            self.storages[str(view_key)] = child
        return self.storages[str(view_key)]


def _unpickle(stream, source: str) -> tuple[object, dict]:
    unpickler = _RestrictedUnpickler(stream, source)
    try:
        obj = unpickler.load()
    except CheckpointError:
        raise
    except Exception as error:
        raise CheckpointError(f"{source} is not a readable PyTorch checkpoint ({type(error).__name__}: {error})") from None
    return obj, unpickler.storages


def _read_zip(path: str):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({error})") from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise CheckpointError(f"{path} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        order = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
        if order != "little":
            raise CheckpointError(f"{path} was written on a big-endian machine, which is not supported")
        try:
            obj, storages = _unpickle(io.BytesIO(archive.read(pickles[0])), path)
            for key, storage in storages.items():
                if storage.view_of is None:
                    member = f"{prefix}data/{key}"
                    if member not in names:
                        raise CheckpointError(f"{path} is missing the data of storage {key}")
                    storage.set_bytes(archive.read(member), path)
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise CheckpointError(f"{path} is damaged ({error})") from None
    return obj


def _read_legacy(path: str):
    with open(path, "rb") as f:
        try:
            magic = pickle.load(f)
        except Exception:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint") from None
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{path} is not a PyTorch checkpoint")
        try:
            pickle.load(f)  # protocol version
            sys_info = pickle.load(f)
        except Exception as error:
            raise CheckpointError(f"{path} is damaged ({error})") from None
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            raise CheckpointError(f"{path} was written on a big-endian machine, which is not supported")
        obj, storages = _unpickle(f, path)
        try:
            keys = pickle.load(f)
        except Exception as error:
            raise CheckpointError(f"{path} is truncated after its object pickle ({error})") from None
        for key in keys:
            storage = storages.get(str(key))
            if storage is None:
                raise CheckpointError(f"{path} lists storage {key} that no tensor uses")
            header = f.read(8)
            if len(header) < 8:
                raise CheckpointError(f"{path} is truncated at storage {key}")
            (numel,) = struct.unpack("<q", header)
            if numel != storage.numel:
                raise CheckpointError(f"{path}: storage {key} holds {numel} elements, its tensors expect {storage.numel}")
            storage.set_bytes(f.read(numel * storage.type.itemsize), path)
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
    return f"a {type(obj).__name__}"


def read_torch_checkpoint(path: str, key: str | None = None) -> "collections.OrderedDict[str, np.ndarray]":
    """The state dict in a PyTorch checkpoint, as names -> numpy arrays.

    ``key`` picks a state dict nested in a larger checkpoint (e.g. "state_dict").
    Raises CheckpointError for a missing, damaged or non-state-dict file, or one
    whose pickle asks for anything but tensors.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path} is empty")
    obj = _read_zip(path) if zipfile.is_zipfile(path) else _read_legacy(path)
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
