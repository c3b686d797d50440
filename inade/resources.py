"""Where the files that ship with inade are: the YAML configurations and the
model trained on the procedural data. One place, so that packaging decides it."""
from __future__ import annotations

import os

_REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS_DIR = os.path.join(_REPOSITORY, "configs")
MODELS_DIR = os.path.join(_REPOSITORY, "models")


def config_path(name: str) -> str:
    """The shipped configuration ``name`` (``procedural``, ``cityscapes``, ...)."""
    return os.path.join(CONFIGS_DIR, f"{name}.yaml")


def model_path(name: str = "procedural") -> str:
    """The folder of the shipped model ``name``."""
    return os.path.join(MODELS_DIR, name)
