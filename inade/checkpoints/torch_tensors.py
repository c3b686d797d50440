"""The objects inside a PyTorch checkpoint's pickle, read without PyTorch and
without running code from the file: storages, lazy tensors over them, the
restricted unpickler that builds them, and the checks that keep a hostile
file's memory bounded.

The unpickler is the pure-Python one: its memo is a dict, whereas the C
unpickler grows an array to the largest memo index a pickle names, so nine
bytes could make it allocate gigabytes. It only knows the handful of globals a
state dict needs (ordered dicts, tensor rebuilders, storage types); any other
global, such as ``os.system``, is refused before anything runs.

Nothing is copied out of a storage before every tensor has been checked
against what its storage declares: shape and strides (zero and negative
included), offset, number of dimensions, and the elements of all tensors
together, so a small file cannot ask for gigabytes.
"""
from __future__ import annotations

import collections
import math
import pickle

import numpy as np

from ..errors import CheckpointError

STORAGE_DTYPES = {
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
# Far above any network's rank, far below numpy's limit of 64.
MAX_DIMS = 32
# A checkpoint nests its state dict a few levels deep at most; deeper (or
# cyclic) structures are refused instead of exhausting the stack.
MAX_DEPTH = 16
# Tied weights and views make several tensors share a storage, so the tensors
# may hold more elements than their storages, but only a few times more (plus
# a small allowance for tiny files); beyond that a file of a few kilobytes
# could ask for terabytes by naming one storage many times.
MAX_SHARING = 4
SHARING_ALLOWANCE = 64 << 20
# Sizes, strides and offsets beyond this do not fit numpy's index type.
_MAX_INDEX = 2**62


def _short(values, limit: int = 8) -> str:
    """A shape or stride for a message, cut to its first entries."""
    values = tuple(values)
    text = ", ".join(name_of(v) for v in values[:limit])
    return f"({text}{', ...' if len(values) > limit else ',' if len(values) == 1 else ''})"


def name_of(key) -> str:
    """A value from the file for a message: quoted, cut short, on one line;
    containers and huge numbers only by their type, so that naming them
    costs nothing."""
    if isinstance(key, str):
        return repr(key[:80]) + ("..." if len(key) > 80 else "")
    if key is None or isinstance(key, (bool, float)) or isinstance(key, int) and key.bit_length() <= 128:
        return repr(key)
    return f"<{type(key).__name__}>"


class _Unchangeable:
    """The pickle's BUILD opcode sets attributes through __setstate__; a
    checkpoint never does that to storages or tensors, and a hostile one
    could change a storage's type or size after it was declared."""

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"the pickle tries to modify a {type(self).__name__.strip('_')}")


class StorageType(_Unchangeable):
    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class Storage(_Unchangeable):
    """A storage referenced by the pickle; its bytes arrive later."""

    def __init__(self, storage_type: StorageType, key: str, numel: int):
        self.type = storage_type
        self.key = key
        self.numel = numel
        self.array: np.ndarray | None = None
        self.view_of: tuple[Storage, int] | None = None  # legacy views: (root, element offset)

    @property
    def nbytes(self) -> int:
        return self.numel * self.type.itemsize

    def set_bytes(self, raw: bytes, source: str) -> None:
        expected = self.nbytes
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


def _index(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < _MAX_INDEX


class LazyTensor(_Unchangeable):
    """A tensor as the pickle describes it; its storage is filled in after the
    pickle is read, so the values are copied out only at the end."""

    def __init__(self, storage: Storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride

    @property
    def numel(self) -> int:
        return math.prod(self.size)

    def check(self, name: str, source: str) -> None:
        """Refuse a tensor that does not lie inside its storage, before any
        of its bytes are read."""
        where = f"{source}: tensor {name}"
        if not (isinstance(self.size, (tuple, list)) and isinstance(self.stride, (tuple, list))):
            raise CheckpointError(f"{where} has a shape or stride that is not a sequence of integers")
        self.size, self.stride = size, stride = tuple(self.size), tuple(self.stride)
        if len(size) > MAX_DIMS:
            raise CheckpointError(f"{where} has {len(size)} dimensions; at most {MAX_DIMS} are supported")
        if len(size) != len(stride) or not all(_index(v) for v in size + stride + (self.offset,)):
            raise CheckpointError(f"{where} has an invalid shape {_short(size)} or stride {_short(stride)}")
        if min(size + (0,)) < 0 or self.offset < 0:
            raise CheckpointError(f"{where} has a negative size or offset: shape {_short(size)}, offset {self.offset}")
        if min(stride + (0,)) < 0:
            raise CheckpointError(f"{where} has a negative stride {_short(stride)}, which PyTorch never writes")
        numel, available = self.numel, self.storage.numel
        if numel == 0:
            return
        if numel > available:
            # zero or overlapping strides: a state dict never holds such a tensor
            raise CheckpointError(
                f"{where} of shape {_short(size)} has {numel} elements, more than the {available} of its storage"
            )
        last = self.offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= available:
            raise CheckpointError(
                f"{where} of shape {_short(size)} (offset {self.offset}, stride {_short(stride)}) reads past the end "
                f"of its storage of {available} elements"
            )

    def materialize(self, source: str) -> np.ndarray:
        data = self.storage.values(source)
        if self.numel == 0:
            return np.zeros(self.size, dtype=data.dtype.newbyteorder("="))
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * data.itemsize for s in self.stride], writeable=False
        )
        return np.array(view, dtype=data.dtype.newbyteorder("="), copy=True)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    # *_ignored: requires_grad, backward hooks and metadata, which numpy has no use for
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError("tensor without a storage")
    return LazyTensor(storage, storage_offset, size, stride)


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


def _refuse_buffers(unpickler):
    # BYTEARRAY8 allocates (and zeroes) the length it declares before reading;
    # out-of-band buffers are never in a checkpoint.
    raise pickle.UnpicklingError("the pickle holds a bytearray or an out-of-band buffer")


class _RestrictedUnpickler(pickle._Unpickler):
    """With ``tensors=False`` (the legacy headers) no global at all is allowed
    and persistent references are refused."""

    dispatch = dict(pickle._Unpickler.dispatch)
    for _opcode in (pickle.BYTEARRAY8, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER):
        dispatch[_opcode[0]] = _refuse_buffers

    def __init__(self, stream, source: str, tensors: bool):
        super().__init__(stream)
        self.source = source
        self.tensors = tensors
        self.storages: dict[str, Storage] = {}

    def find_class(self, module: str, name: str):
        if self.tensors and (module, name) in _TENSOR_GLOBALS:
            return _TENSOR_GLOBALS[(module, name)]
        if self.tensors and module == "torch" and name in STORAGE_DTYPES:
            return StorageType(name)
        raise CheckpointError(
            f"refusing to load {self.source}: it asks to import {module[:60]}.{name[:60]}; "
            "a checkpoint may only contain tensors"
        )

    def persistent_load(self, pid):
        if not (self.tensors and isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"{self.source}: unknown persistent reference {name_of(pid)}")
        storage_type, key, numel = pid[1], pid[2], _count(pid[4])
        if not (isinstance(key, (str, int)) and str(key).isprintable() and 0 < len(str(key)) <= 64):
            raise CheckpointError(f"{self.source}: a storage has the key {name_of(key)}, not a short name")
        key = str(key)
        if not isinstance(storage_type, StorageType):
            raise CheckpointError(f"{self.source}: storage {key} has no storage type")
        if numel is None:
            raise CheckpointError(
                f"{self.source}: storage {key} declares {name_of(pid[4])} elements, not a count below 2**62"
            )
        root = self.storages.get(key)
        if root is None:
            root = self.storages[key] = Storage(storage_type, key, numel)
        elif root.type.name != storage_type.name or root.numel != numel or root.view_of is not None:
            raise CheckpointError(f"{self.source}: storage {key} is declared twice, with different types or sizes")
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        if not (isinstance(view, tuple) and len(view) == 3):
            raise CheckpointError(f"{self.source}: storage {key} has a malformed view {name_of(view)}")
        view_key, offset, view_size = str(view[0])[:64], _count(view[1]), _count(view[2])
        if offset is None or view_size is None or offset + view_size > root.numel:
            raise CheckpointError(
                f"{self.source}: storage view {view_key} (offset {name_of(view[1])}, size {name_of(view[2])}) "
                f"does not lie inside storage {key} of {root.numel} elements"
            )
        child = self.storages.get(view_key)
        if child is None:
            child = self.storages[view_key] = Storage(storage_type, view_key, view_size)
            child.view_of = (root, offset)
        elif child.view_of != (root, offset) or child.numel != view_size:
            raise CheckpointError(f"{self.source}: storage view {view_key} is declared twice, differently")
        return child


def _count(value) -> int | None:
    """A non-negative element count or offset, or None."""
    return value if _index(value) and value >= 0 else None


def unpickle(stream, source: str, tensors: bool = True) -> tuple[object, dict]:
    """One pickle from ``stream``: (the object, the storages it declared by key)."""
    unpickler = _RestrictedUnpickler(stream, source, tensors)
    try:
        obj = unpickler.load()
    except CheckpointError:
        raise
    except Exception as error:
        detail = str(error).splitlines()[0][:120] if str(error) else ""
        raise CheckpointError(f"{source} is not a readable PyTorch checkpoint ({type(error).__name__}: {detail})") from None
    return obj, unpickler.storages


def _children(obj):
    if isinstance(obj, dict):
        return obj.items()
    if isinstance(obj, (list, tuple)):
        return enumerate(obj)
    return ()


def tensors_in(obj, source: str, prefix: str = "", depth: int = 0):
    """(name, tensor) for every tensor inside ``obj``; refuses structures
    nested deeper than MAX_DEPTH, which cycles are too."""
    if depth > MAX_DEPTH:
        raise CheckpointError(f"{source} nests its objects more than {MAX_DEPTH} levels deep ({prefix[:80]}...)")
    if isinstance(obj, LazyTensor):
        yield prefix, obj
        return
    for key, value in _children(obj):
        # names only for messages: cut short, so that long keys cost no time
        part = key[:64] if isinstance(key, str) else name_of(key)
        yield from tensors_in(value, source, f"{prefix[:200]}.{part}" if prefix else part, depth + 1)


def check_tensors(obj, storages: dict, source: str) -> None:
    """Every tensor inside ``obj`` against its storage, and all of them
    together against the storages' total size (MAX_SHARING)."""
    total = 0
    for name, tensor in tensors_in(obj, source):
        tensor.check(name_of(name), source)
        total += tensor.numel * tensor.storage.type.itemsize
    stored = sum(s.nbytes for s in storages.values() if s.view_of is None)
    if total > MAX_SHARING * stored + SHARING_ALLOWANCE:
        raise CheckpointError(
            f"{source}: its tensors hold {total} bytes, more than {MAX_SHARING} times the {stored} bytes of their "
            "storages; a state dict does not repeat its storages so often"
        )


def materialize(obj, source: str):
    """``obj`` with every lazy tensor replaced by a numpy array of its values
    (call check_tensors first)."""
    if isinstance(obj, LazyTensor):
        return obj.materialize(source)
    if isinstance(obj, dict):
        return collections.OrderedDict((k, materialize(v, source)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(materialize(v, source) for v in obj)
    return obj


def is_state_dict(obj) -> bool:
    """A non-empty mapping of names (strings) to tensors."""
    return (isinstance(obj, dict) and bool(obj)
            and all(isinstance(k, str) and isinstance(v, LazyTensor) for k, v in obj.items()))


def describe(obj) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(name_of(k) for k in list(obj)[:6])
        return f"a dict with keys [{keys}]" + (" ..." if len(obj) > 6 else "")
    if isinstance(obj, LazyTensor):
        return f"a single tensor of shape {list(obj.size)[:8]}"
    if isinstance(obj, Storage):
        return "a bare storage"
    return f"a {type(obj).__name__}"
