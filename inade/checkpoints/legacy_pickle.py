"""Paddle's pickle files (``.pdckpt`` checkpoints of earlier versions,
``.pdparams`` weights) read without running code.

``paddle.load`` is ``pickle.load``: a file can name any function to call. Here
the unpickler resolves only the few names ``paddle.save`` writes (containers,
numpy arrays and dtypes, paddle's random-generator state), each in the form
numpy and paddle write it; a file that asks for anything else is refused with
one line before what it asks for can run. The result is converted the way
``paddle.load`` converts it.
"""
from __future__ import annotations

import collections
import os
import pickle

import numpy as np

from ..errors import CheckpointError

# What numpy's pickles name (numpy < 2 wrote numpy.core, numpy >= 2 writes numpy._core).
_NUMPY_CORE = ("numpy.core", "numpy._core")


class RefusedFile(CheckpointError):
    """The file asks for something no checkpoint contains (it may try to run code)."""


class _PickledGeneratorState:
    """Stands in for paddle's GeneratorState while unpickling: keeps the state
    tuple, which is checked before paddle sees it."""

    def __init__(self, state=None):
        self.state = state


class _ArrayType:
    """Stands in for numpy.ndarray, which would allocate any shape it is called
    with: only _reconstruct takes it."""


def _dtype(code, align=False, copy=True):
    """A numeric numpy dtype (an object dtype would hold arbitrary pickled objects)."""
    try:
        dtype = np.dtype(code.decode("latin1") if isinstance(code, bytes) else str(code))
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise pickle.UnpicklingError(f"numpy dtype {code!r:.40} (only numeric dtypes are read)")
    return dtype


def _reconstruct(subtype, shape, dtype):
    # numpy pickles an array as an empty one, then fills it from its bytes (bounded by the file).
    if subtype is not _ArrayType or shape != (0,):
        raise pickle.UnpicklingError("an array that numpy's own pickling does not write")
    return np.ndarray.__new__(np.ndarray, shape, dtype if isinstance(dtype, np.dtype) else _dtype(dtype))


def _frombuffer(buffer, dtype, shape, order):
    # Protocol 5 stores an array's bytes as a buffer.
    if not isinstance(dtype, np.dtype) or order not in ("C", "F"):
        raise pickle.UnpicklingError("an array buffer that numpy's own pickling does not write")
    return np.frombuffer(buffer, dtype).reshape(shape, order=order).copy()


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise pickle.UnpicklingError("a numpy scalar that is not a numeric value of its dtype's size")
    return np.frombuffer(data, dtype)[0]


def _latin1(text, encoding="latin1"):
    # Protocol 2 stores bytes as text and _codecs.encode(text, 'latin1'): only that codec.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r:.40}")
    return text.encode("latin1")


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "tuple"): tuple,  # paddle.save writes a Tensor as tuple((name, array))
    ("numpy", "ndarray"): _ArrayType,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1,
    ("paddle.base.libpaddle", "GeneratorState"): _PickledGeneratorState,
    **{(core + ".multiarray", "_reconstruct"): _reconstruct for core in _NUMPY_CORE},
    **{(core + ".multiarray", "scalar"): _scalar for core in _NUMPY_CORE},
    **{(core + ".numeric", "_frombuffer"): _frombuffer for core in _NUMPY_CORE},
}


def _checked_build(obj, state) -> bool:
    """Whether BUILD (an object's __setstate__) may apply ``state`` to ``obj``:
    only in the forms numpy and paddle write, so that a state cannot, say, make
    a float dtype claim to hold objects."""
    if isinstance(obj, np.dtype):
        return (isinstance(state, tuple) and len(state) == 8 and state[0] == 3 and state[1] in ("<", ">", "|", "=")
                and state[2:] == (None, None, None, -1, -1, 0))
    if isinstance(obj, np.ndarray):
        return (isinstance(state, tuple) and len(state) == 5 and state[0] == 1 and isinstance(state[1], tuple)
                and all(type(n) is int and n >= 0 for n in state[1]) and isinstance(state[2], np.dtype)
                and isinstance(state[3], bool) and isinstance(state[4], bytes))
    return isinstance(obj, _PickledGeneratorState)


class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own unpickler (whose opcodes can be overridden, unlike the C one)
    with names resolved from _ALLOWED only and BUILD checked."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise RefusedFile(f"{module}.{name}")
        return allowed

    def persistent_load(self, pid):
        raise RefusedFile(f"a persistent reference {pid!r:.40}")

    def load_build(self):
        state = self.stack.pop()
        obj = self.stack[-1]
        if not _checked_build(obj, state):
            raise pickle.UnpicklingError(f"setting the state of a {type(obj).__name__} in a form paddle.save does not write")
        if isinstance(obj, _PickledGeneratorState):
            obj.state = state
        else:
            obj.__setstate__(state)

    dispatch[pickle.BUILD[0]] = load_build


def read_paddle_pickle(path: str, return_numpy: bool = False):
    """What ``paddle.load(path, return_numpy=...)`` returns, without its risk."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found" if not os.path.exists(path)
                              else f"{path}: is a folder, not a checkpoint file")
    with open(path, "rb") as f:
        start = f.read(2)
        if len(start) < 2 or start[0] != 0x80 or not 2 <= start[1] <= 5:
            raise CheckpointError(f"{path}: not a Paddle pickle file (expected pickle protocol 2-5, as paddle.save writes)")
        f.seek(0)
        try:
            obj = _RestrictedUnpickler(f, encoding="latin1").load()
        except RefusedFile as refused:
            raise RefusedFile(
                f"{path}: refused to load: the file asks for {refused}, which a Paddle checkpoint never contains "
                "(it may try to run code); only arrays, containers and random-generator states are read"
            ) from None
        except Exception as error:  # a damaged pickle raises many types; none of them ran code
            detail = " ".join(str(error).split())[:200]
            raise CheckpointError(f"{path}: truncated or damaged Paddle pickle ({type(error).__name__}: {detail})") from None
    try:
        return _as_loaded(obj, path, return_numpy)
    except RecursionError:  # nested without end, or a container holding itself
        raise CheckpointError(f"{path}: damaged Paddle pickle (its containers nest too deeply or hold themselves)") from None


def _as_loaded(obj, path, return_numpy):
    """paddle.load's conversion: (name, array) pairs become named Tensors, or, in
    a file without such pairs, every array becomes a Tensor; generator states
    become paddle's."""
    import paddle

    from .tree import generator_state

    def fail(problem):
        raise CheckpointError(f"{path}: {problem}")

    def to_tensor(array, name=None):
        if return_numpy:
            return array
        tensor = paddle.to_tensor(array)
        if name is not None:
            tensor.name = name
        return tensor

    def contains_pairs(node):
        if _is_pair(node):
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, (list, tuple)) else ()
        return any(contains_pairs(child) for child in children)

    if isinstance(obj, dict):
        obj = _joined_big_arrays(obj, fail)
        if isinstance(obj.get(_NAME_TABLE), dict):  # a state dict as paddle.save writes one
            names = obj.pop(_NAME_TABLE)
            return type(obj)((key, to_tensor(value, names.get(key) if isinstance(names.get(key), str) else None) if isinstance(value, np.ndarray) else value)
                             for key, value in obj.items())
    pairs = contains_pairs(obj)

    def convert(node):
        if pairs and _is_pair(node):
            return to_tensor(node[1], node[0])
        if not pairs and isinstance(node, np.ndarray):
            return to_tensor(node)
        if isinstance(node, dict):
            return type(node)((key, convert(value)) for key, value in node.items())
        if isinstance(node, list):
            return [convert(value) for value in node]
        if isinstance(node, tuple):
            return tuple(convert(value) for value in node)
        if isinstance(node, _PickledGeneratorState):
            return generator_state(getattr(node, "state", None), fail)
        return node

    return convert(obj)


_NAME_TABLE = "StructuredToParameterName@@"
_BIG_ARRAYS = "UnpackBigParamInfor@@"  # sic: paddle's key


def _joined_big_arrays(state: dict, fail) -> dict:
    """paddle.save with pickle protocol 2 or 3 splits arrays over 1 GB into slices: join them."""
    table = state.get(_BIG_ARRAYS)
    if table is None:
        return state
    state = dict(state)
    del state[_BIG_ARRAYS]
    if not isinstance(table, dict):
        fail(f"{_BIG_ARRAYS} is not a table of split arrays")
    for key, info in table.items():
        slices = info.get("slices") if isinstance(info, dict) else None
        if (not isinstance(slices, list) or not all(isinstance(state.get(part), np.ndarray) for part in slices)
                or not isinstance(info.get("OriginShape"), (tuple, list))):
            fail(f"the slices of the split array {key!r:.60} are missing")
        try:
            state[key] = np.concatenate([state.pop(part) for part in slices]).reshape(info["OriginShape"])
        except (ValueError, TypeError) as error:
            fail(f"the slices of the split array {key!r:.60} do not fit its shape ({error})")
    return state


def _is_pair(node) -> bool:
    return isinstance(node, tuple) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], np.ndarray)
