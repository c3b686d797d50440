"""Where the files that ship with inade are: the YAML configurations and the
model trained on the procedural data.

In a clone they are the repository's configs/ and models/ folders; an installed
wheel carries the same files as inade/configs and inade/models (pyproject.toml
maps the folders into the package). The two layouts never coexist: a wheel has
no repository around it, and a clone has no inade/configs."""
from __future__ import annotations

import os

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _shipped(folder: str) -> str:
    inside = os.path.join(_PACKAGE, folder)
    return inside if os.path.isdir(inside) else os.path.join(os.path.dirname(_PACKAGE), folder)


CONFIGS_DIR = _shipped("configs")
MODELS_DIR = _shipped("models")


def config_path(name: str) -> str:
    """The shipped configuration ``name`` (``procedural``, ``cityscapes``, ...)."""
    return os.path.join(CONFIGS_DIR, f"{name}.yaml")


def model_path(name: str = "procedural") -> str:
    """The folder of the shipped model ``name``."""
    return os.path.join(MODELS_DIR, name)


def example_maps(name: str = "procedural") -> tuple[str, str, str]:
    """The label map, instance map and photo that ship with model ``name``: input
    a newcomer has. For ``procedural`` they are scene 16 of the procedural data
    with seed 1, a stream the model was not trained on
    (``inade export-procedural DIR --num 17 --seed 1``, files 000016.png)."""
    folder = model_path(name)
    return tuple(os.path.join(folder, f"example_{kind}.png") for kind in ("label", "instance", "photo"))
