"""Pretrained weight files (VGG19 for the perceptual loss, Inception for FID):
PyTorch ``.pth``, Paddle ``.pdparams`` or ``.safetensors``, read without running code."""
from __future__ import annotations

import numpy as np

from ..errors import CheckpointError
from .legacy_pickle import read_paddle_pickle
from .safetensors_format import read_safetensors
from .torch_pickle import read_torch_checkpoint


def read_weights(path: str) -> dict:
    """``{parameter name: np.ndarray}`` of a weight file, chosen by its suffix."""
    if path.endswith(".pdparams"):
        state = read_paddle_pickle(path, return_numpy=True)
    elif path.endswith(".safetensors"):
        state, _ = read_safetensors(path)
    else:
        return read_torch_checkpoint(path)
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise CheckpointError(f"{path}: not a flat state dict of parameter arrays")
    return state
