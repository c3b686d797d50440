"""Write PyTorch-format checkpoints in tests, without PyTorch: stand-in
``torch`` modules are registered only while pickling, so the pickle names the
same globals a real checkpoint does."""
from __future__ import annotations

import contextlib
import io
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage", np.dtype("float16"): "HalfStorage"}


@contextlib.contextmanager
def fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    for name in STORAGE_NAMES.values():
        cls = type(name, (), {"__module__": "torch"})
        setattr(torch, name, cls)
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


class _Tensor:
    def __init__(self, key, array, utils, torch):
        self.key, self.array, self.utils, self.torch = key, array, utils, torch

    def __reduce__(self):
        storage = ("storage", getattr(self.torch, STORAGE_NAMES[self.array.dtype]), self.key, "cpu", self.array.size)
        strides = tuple(s // self.array.itemsize for s in self.array.strides)
        import collections

        return (self.utils._rebuild_tensor_v2, (_Persistent(storage), 0, self.array.shape, strides, False, collections.OrderedDict()))


class _Persistent:
    def __init__(self, pid):
        self.pid = pid


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Persistent) else None


def write_zip_checkpoint(path, state, wrap=None, prefix="archive"):
    """state: name -> numpy array (C- or Fortran-ordered: strides are written as
    they are). ``wrap`` maps the tensor dict to the pickled top object."""
    with fake_torch() as (torch, utils):
        tensors = {name: _Tensor(str(i), array, utils, torch) for i, (name, array) in enumerate(state.items())}
        top = wrap(tensors) if wrap else tensors
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=2).dump(top)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", buffer.getvalue())
        archive.writestr(f"{prefix}/byteorder", "little")
        for i, array in enumerate(state.values()):
            archive.writestr(f"{prefix}/data/{i}", array.ravel(order="K").tobytes())


def write_raw_zip(path, pickle_bytes, prefix="archive"):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", pickle_bytes)


def write_legacy_with_pickle(path, object_pickle: bytes):
    with open(path, "wb") as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(object_pickle)
        pickle.dump([], f, protocol=2)
        f.write(struct.pack("<q", 0))
