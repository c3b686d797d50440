"""A checkpoint's nested state <-> flat named tensors plus a JSON description.

A state is a tree of dicts (string keys, order kept), lists and tuples whose
leaves are paddle Tensors, numpy arrays and scalars, None, bools, ints, floats,
strings, and paddle's random-generator states. Flattening gives every array a
name from its path (``generator/fc.weight``; a '/' or '~' inside a key is
escaped as in JSON Pointer, '~1' and '~0') and describes everything else in
JSON, where each array appears as a reference to its name. Rebuilding reads
only that JSON and the arrays: nothing in a file can name a type to create.
"""
from __future__ import annotations

import json

import numpy as np
import paddle

from ..errors import CheckpointError
from ..paddle_private import generator_state_class

# Deeper than any state we write (a checkpoint is about five levels deep); a bound
# keeps a hostile description from exhausting the stack.
MAX_DEPTH = 64
# How each node that is not a JSON scalar is tagged: {tag: content}.
_TAGS = ("dict", "list", "tuple", "tensor", "array", "scalar", "paddle_rng")


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def flatten(state) -> tuple[str, dict]:
    """``(description as JSON text, {tensor name: np.ndarray})`` of a state tree."""
    tensors: dict = {}

    def encode(node, path):
        name = "/".join(escape(part) for part in path)
        if isinstance(node, np.generic):  # before float: np.float64 is one, and must come back as itself
            tensors[name] = np.asarray(node)
            return {"scalar": name}
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, paddle.Tensor):
            tensors[name] = node.numpy()
            return {"tensor": name}
        if isinstance(node, np.ndarray):
            tensors[name] = node
            return {"array": name}
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise TypeError(f"checkpoint keys must be strings, got {key!r} at {name or 'the top'}")
            return {"dict": {key: encode(value, path + [key]) for key, value in node.items()}}
        if isinstance(node, (list, tuple)):
            tag = "list" if isinstance(node, list) else "tuple"
            return {tag: [encode(value, path + [str(index)]) for index, value in enumerate(node)]}
        if isinstance(node, generator_state_class()):
            return {"paddle_rng": encode(node.__getstate__(), path)}
        raise TypeError(f"cannot store {type(node).__name__} at {name or 'the top'} in a checkpoint")

    description = encode(state, [])
    return json.dumps(description, separators=(",", ":")), tensors


def unflatten(path: str, description: str, tensors: dict):
    """Rebuild the state that ``flatten`` described; ``path`` names the file in errors.

    Every tensor is used exactly once; "tensor" leaves become paddle Tensors,
    "array" leaves stay numpy arrays, as they were saved. ``tensors`` is emptied
    as it is used, so that each array is freed once paddle holds its copy."""
    try:
        root = json.loads(description)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: the checkpoint's description is not valid JSON ({type(error).__name__})") from None
    used = set()

    def fail(problem):
        raise CheckpointError(f"{path}: damaged checkpoint description: {problem}")

    def tensor(name):
        if isinstance(name, str) and name in used:
            fail(f"tensor {name!r:.80} is referred to twice")
        if not isinstance(name, str) or name not in tensors:
            fail(f"it refers to tensor {name!r:.80}, which the file does not hold")
        used.add(name)
        return tensors.pop(name)

    def decode(node, depth):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if depth > MAX_DEPTH:
            fail(f"nested deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in _TAGS:
            fail(f"expected a value or one of {{{', '.join(_TAGS)}: ...}}, got {json.dumps(node)[:80]}")
        ((tag, content),) = node.items()
        if tag == "dict":
            if not isinstance(content, dict):
                fail("a dict's content is not a JSON object")
            return {key: decode(value, depth + 1) for key, value in content.items()}
        if tag in ("list", "tuple"):
            if not isinstance(content, list):
                fail(f"a {tag}'s content is not a JSON array")
            items = [decode(value, depth + 1) for value in content]
            return items if tag == "list" else tuple(items)
        if tag == "tensor":
            return paddle.to_tensor(tensor(content))
        if tag == "array":
            return tensor(content)
        if tag == "scalar":
            value = tensor(content)
            if value.ndim != 0:
                fail(f"scalar {content!r:.80} has shape {list(value.shape)}")
            return value[()]
        return generator_state(decode(content, depth + 1), fail)

    state = decode(root, 0)
    unused = list(tensors)
    if unused:
        fail(f"{len(unused)} tensors ({', '.join(unused[:3])}) are not part of it")
    return state


def generator_state(values, fail):
    """A paddle GeneratorState from its pickled form ``(device, seed, offset,
    [bytes of the engine's text state])``, checked before paddle parses it."""
    ok = (isinstance(values, tuple) and len(values) == 4 and all(type(v) is int for v in values[:3])
          and isinstance(values[3], list) and all(type(b) is int and 0 <= b < 256 for b in values[3]))
    if not ok:
        fail("a paddle random-generator state is not (int, int, int, [bytes])")
    state_class = generator_state_class()
    state = state_class.__new__(state_class)
    state.__setstate__(values)
    return state
