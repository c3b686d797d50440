"""The project's own checkpoints: training and inference states saved as
safetensors (arrays) plus JSON (everything else), loaded without running code.

Files of earlier versions (``.pdckpt``, Paddle pickles) still load, through the
restricted unpickler, and ``upgrade_checkpoint`` rewrites one in the new format.
"""
from __future__ import annotations

import os

from ..errors import CheckpointError
from .legacy_pickle import read_paddle_pickle
from .safetensors_format import read_safetensors, write_safetensors
from .tree import flatten, unflatten

SUFFIX = ".safetensors"
LEGACY_SUFFIX = ".pdckpt"
FORMAT_KEY, FORMAT = "inade.format", "inade-checkpoint-1"
TREE_KEY = "inade.tree"
# What sampling needs: no discriminator, no optimiser state.
INFERENCE_KEYS = ("iteration", "generator", "encoder", "config", "classes")
INFERENCE_NAME = "model" + SUFFIX


def save_checkpoint(state: dict, path: str) -> None:
    """Write ``state`` (a dict of networks' state dicts, counters, configuration,
    random states) to ``path`` atomically in the safetensors layout."""
    description, tensors = flatten(state)
    write_safetensors(path, tensors, {FORMAT_KEY: FORMAT, TREE_KEY: description})


def read_state(path: str):
    """The state tree in ``path``, of either format, with paddle Tensors where it had them."""
    if path.endswith(LEGACY_SUFFIX) or path.endswith(".pdparams"):
        return read_paddle_pickle(path)
    tensors, metadata = read_safetensors(path)
    if metadata.get(FORMAT_KEY) != FORMAT or TREE_KEY not in metadata:
        raise CheckpointError(f"{path}: a safetensors file, but not an inade checkpoint "
                              f"(its metadata has no {FORMAT_KEY}={FORMAT})")
    return unflatten(path, metadata[TREE_KEY], tensors)


def load_checkpoint(path: str) -> dict:
    """A training or inference checkpoint (a dict with at least ``iteration``)."""
    state = read_state(path)
    if not isinstance(state, dict) or "iteration" not in state:
        raise CheckpointError(f"{path} is not an inade checkpoint (it has no iteration count)")
    return state


def checkpoint_path(path: str) -> str:
    """The checkpoint file of a run folder (its latest), a model folder, or a file."""
    if not os.path.isdir(path):
        return path
    names = [os.path.join("checkpoints", "latest" + SUFFIX), os.path.join("checkpoints", "latest" + LEGACY_SUFFIX),
             "latest" + SUFFIX, "latest" + LEGACY_SUFFIX, INFERENCE_NAME, "model" + LEGACY_SUFFIX]
    for name in names:
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    raise CheckpointError(f"no checkpoint in {path} (expected checkpoints/latest{SUFFIX} or {INFERENCE_NAME})")


def save_inference_checkpoint(source: str, path: str) -> None:
    """Keep what sampling needs (generator, encoder, configuration) of a run
    folder's or a file's checkpoint, in ``path``."""
    state = load_checkpoint(checkpoint_path(source))
    save_checkpoint({key: state[key] for key in INFERENCE_KEYS if key in state}, path)


def upgrade_checkpoint(source: str, out: str | None = None) -> str:
    """Rewrite a ``.pdckpt`` (or any checkpoint) in the safetensors format, beside
    it unless ``out`` is given; an existing file is never overwritten."""
    if out is None:
        out = os.path.splitext(source)[0] + SUFFIX
    if os.path.exists(out):
        raise CheckpointError(f"{out}: already exists; remove it or pass another --out")
    save_checkpoint(load_checkpoint(source), out)
    return out
