"""Write PyTorch-format checkpoints in tests, without PyTorch.

Stand-in ``torch`` and ``torch._utils`` modules are registered only while
pickling, so the pickle names the same globals a real checkpoint does
(``torch._utils._rebuild_tensor_v2``, ``torch.FloatStorage``, ...) and uses the
same persistent ids for storages as torch.save in each format.
"""
from __future__ import annotations

import collections
import contextlib
import io
import pickle
import struct
import sys
import types
import zlib
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_NAMES = {
    np.dtype("float32"): "FloatStorage",
    np.dtype("float64"): "DoubleStorage",
    np.dtype("float16"): "HalfStorage",
    np.dtype("int64"): "LongStorage",
    np.dtype("int32"): "IntStorage",
    np.dtype("uint8"): "ByteStorage",
    np.dtype("bool"): "BoolStorage",
}
REBUILDERS = ("_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter")


@contextlib.contextmanager
def fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")
    for name in REBUILDERS:
        def never_called(*args):
            raise AssertionError("stand-in rebuilders are only pickled by reference")

        never_called.__module__, never_called.__qualname__ = "torch._utils", name
        setattr(utils, name, never_called)
    for name in list(STORAGE_NAMES.values()) + ["BFloat16Storage"]:
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    torch._utils = utils
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch, utils
    finally:
        for key, module in saved.items():
            if module is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = module


class Storage:
    """A flat storage: ``raw`` is written as is; ``view`` = (root Storage,
    element offset) makes it a legacy-format storage view."""

    def __init__(self, key, type_name, numel, raw=b"", view=None):
        self.key, self.type_name, self.numel, self.raw, self.view = str(key), type_name, numel, raw, view

    @classmethod
    def of(cls, key, values: np.ndarray):
        values = np.ascontiguousarray(values).ravel()
        return cls(key, STORAGE_NAMES[values.dtype], values.size, values.astype(values.dtype.newbyteorder("<")).tobytes())


class Tensor:
    """A tensor over ``storage`` with element offset and strides, optionally
    wrapped as an nn.Parameter, or rebuilt with the pre-1.0 rebuilder."""

    def __init__(self, storage, shape, stride=None, offset=0, rebuilder="_rebuild_tensor_v2", parameter=False):
        self.storage, self.shape, self.offset, self.rebuilder, self.parameter = storage, tuple(shape), offset, rebuilder, parameter
        self.stride = tuple(stride) if stride is not None else tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))

    def __reduce__(self):
        utils = sys.modules["torch._utils"]
        args = (self.storage, self.offset, self.shape, self.stride)
        if self.rebuilder == "_rebuild_tensor_v2":
            args += (False, collections.OrderedDict())
        tensor = (getattr(utils, self.rebuilder), args)
        if not self.parameter:
            return tensor
        return (utils._rebuild_parameter, (_Reduced(tensor), True, collections.OrderedDict()))


class _Reduced:
    def __init__(self, reduced):
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced


def tensors_of(state: dict, first_key: int = 0) -> tuple[dict, list]:
    """Each numpy array in its own storage (keys from ``first_key`` on, so that
    several state dicts can share a file), its strides kept (C or Fortran)."""
    tensors, storages = {}, []
    for i, (name, array) in enumerate(state.items(), start=first_key):
        storage = Storage.of(i, array.ravel(order="K"))  # memory order, which the strides below describe
        strides = tuple(s // array.itemsize for s in array.strides)
        tensors[name] = Tensor(storage, array.shape, strides)
        storages.append(storage)
    return tensors, storages


class _Pickler(pickle.Pickler):
    def __init__(self, file, legacy: bool):
        super().__init__(file, protocol=2)
        self.legacy = legacy
        self.roots: list[Storage] = []  # in first-use order, as torch.save lists them

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        root, offset = obj.view if obj.view else (obj, 0)
        if root not in self.roots:
            self.roots.append(root)
        storage_type = getattr(sys.modules["torch"], root.type_name)
        if not self.legacy:
            return ("storage", storage_type, root.key, "cpu", root.numel)
        view = (obj.key, offset, obj.numel) if obj.view else None
        return ("storage", storage_type, root.key, "cpu", root.numel, view)


def pickle_checkpoint(top, legacy: bool) -> tuple[bytes, list]:
    """The object pickle of ``top`` and the root storages it uses."""
    with fake_torch():
        buffer = io.BytesIO()
        pickler = _Pickler(buffer, legacy)
        pickler.dump(top)
    return buffer.getvalue(), pickler.roots


def write_zip(path, top, prefix="archive", byteorder="little"):
    object_pickle, roots = pickle_checkpoint(top, legacy=False)
    write_zip_members(path, object_pickle, {root.key: root.raw for root in roots}, prefix, byteorder)


def write_zip_members(path, object_pickle: bytes, raw_storages: dict, prefix="archive", byteorder="little"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", object_pickle)
        if byteorder is not None:
            archive.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in raw_storages.items():
            archive.writestr(f"{prefix}/data/{key}", raw)


def legacy_headers(little_endian=True) -> list[bytes]:
    """The three header pickles: magic number, protocol version, system info."""
    sys_info = {"protocol_version": 1001, "little_endian": little_endian, "type_sizes": {"short": 2, "int": 4, "long": 8}}
    return [pickle.dumps(value, protocol=2) for value in (LEGACY_MAGIC, 1001, sys_info)]


def write_legacy(path, top, headers=None):
    object_pickle, roots = pickle_checkpoint(top, legacy=True)
    with open(path, "wb") as f:
        f.write(b"".join(headers if headers is not None else legacy_headers()))
        f.write(object_pickle)
        pickle.dump([root.key for root in roots], f, protocol=2)
        for root in roots:
            f.write(struct.pack("<q", root.numel) + root.raw)


def write_legacy_parts(path, parts: list[bytes]):
    """A legacy-layout file from raw pieces (headers, object pickle, key list, data)."""
    with open(path, "wb") as f:
        f.write(b"".join(parts))


def write_raw_zip(path, entries):
    """A zip archive written byte by byte, so that an entry can carry any
    compressed bytes and declare any size. ``entries``: (name, bytes as
    stored, declared size, crc32, method: 0 stored or 8 deflated)."""
    central = []
    with open(path, "wb") as f:
        for name, data, size, crc, method in entries:
            offset, encoded = f.tell(), name.encode()
            fields = (method, 0, 33, crc, len(data), size, len(encoded), 0)  # 33: 1980-01-01
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, *fields) + encoded + data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, *fields, 0, 0, 0, 0, offset) + encoded)
        start, directory = f.tell(), b"".join(central)
        f.write(directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of zeros and their crc32, made
    without compressing them all: after a full flush the compressor starts
    afresh, so every 1 MiB block compresses to the same bytes."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return block * mib + compressor.flush(zlib.Z_FINISH), crc


def write_zip_bomb(path, mib=2048):
    """A checkpoint whose one storage honestly declares ``mib`` MiB of
    float32 and stores them deflated in about a thousandth of that."""
    storage = Storage("0", "FloatStorage", mib << 18)
    object_pickle, _ = pickle_checkpoint({"w": Tensor(storage, (mib << 18,))}, legacy=False)
    stream, crc = deflated_zeros(mib)
    write_raw_zip(path, [
        ("archive/data.pkl", object_pickle, len(object_pickle), zlib.crc32(object_pickle), 0),
        ("archive/byteorder", b"little", 6, zlib.crc32(b"little"), 0),
        ("archive/data/0", stream, mib << 20, crc, 8),
    ])


def hostile_tensor(case: str) -> dict:
    """A state dict of one tensor 'w' that no real checkpoint holds, over a
    small storage: what a crafted file uses to ask for memory or crash a reader."""
    one = Storage.of("0", np.zeros(1, "float32"))
    four = Storage.of("0", np.arange(4, dtype="float32"))
    return {
        "zero_strides": {"w": Tensor(one, (46341, 46341), stride=(0, 0))},  # 8 GiB from 4 bytes
        "65_dims": {"w": Tensor(one, (1,) * 65, stride=(0,) * 65)},
        "negative_stride": {"w": Tensor(four, (2,), stride=(-1,), offset=3)},
        "offset_past_end": {"w": Tensor(four, (2,), offset=10)},
        "overlapping_strides": {"w": Tensor(four, (3, 3), stride=(1, 1))},  # 9 elements from 4
        "absurd_numel": {"w": Tensor(Storage("0", "FloatStorage", 2**62, b"\0" * 4), (1,))},
        "huge_numel": {"w": Tensor(Storage("0", "FloatStorage", 2**40, b"\0" * 4), (1,))},
    }[case]
