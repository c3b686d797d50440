"""Where a run lives, and the rules that keep a user's files safe:
resume what is there, never overwrite a finished or foreign folder."""
from __future__ import annotations

import os

import yaml

from ..errors import ConfigError
from .checkpoint import has_checkpoint

CONFIG_NAME = "config.yaml"
CHECKPOINTS = "checkpoints"


def is_run_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG_NAME))


def next_free_dir(path: str) -> str:
    index = 2
    while os.path.exists(f"{path}-{index}"):
        index += 1
    return f"{path}-{index}"


def _check_can_hold_a_folder(output_dir: str) -> None:
    """Refuse an output_dir that is a file, lies under a file, or cannot be
    written, before anything is built (else the error surfaces, as a traceback,
    only when the first file is written)."""
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ConfigError(f"output_dir {output_dir} is a file, not a folder; choose a folder for the run")
    existing = os.path.abspath(output_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"output_dir {output_dir} cannot be made: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"output_dir {output_dir} cannot be written: no write permission in {existing}")


def choose_run_dir(output_dir: str, resume: bool) -> tuple[str, bool]:
    """Returns (run directory, whether to resume from its latest checkpoint).

    An empty or new folder is used as is. A run folder with a checkpoint is
    resumed, or with ``resume=False`` left alone and a fresh sibling
    (``<dir>-2``, ``-3``, ...) is used. A non-empty folder that is not a run of
    ours is refused.
    """
    _check_can_hold_a_folder(output_dir)
    if not os.path.exists(output_dir) or not os.listdir(output_dir):
        return output_dir, False
    if not is_run_dir(output_dir):
        raise ConfigError(
            f"output directory {output_dir} is not empty and holds no inade run ({CONFIG_NAME} missing); "
            "choose another output_dir"
        )
    resumable = has_checkpoint(os.path.join(output_dir, CHECKPOINTS))
    if resume:
        return output_dir, resumable
    return next_free_dir(output_dir), False


# What a resumed run may not change: everything that shapes the networks.
# Paths, batch size, workers and the like may move between runs.
_FIXED = {"model": None, "data": ("label_nc", "contain_dontcare", "crop_size", "aspect_ratio")}


def check_same_setup(run_dir: str, current: dict) -> None:
    """Refuse to resume a run whose networks would differ."""
    from ..config import Config, from_dict, to_dict

    with open(os.path.join(run_dir, CONFIG_NAME), encoding="utf-8") as f:
        saved = yaml.safe_load(f) or {}
    # Through the current schema, so that keys added since the run started
    # compare as their defaults (which is what the run trained with).
    saved = to_dict(from_dict(Config, saved))
    changed = []
    for section, keys in _FIXED.items():
        before, after = saved.get(section, {}) or {}, current.get(section, {}) or {}
        for key in keys or sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                changed.append(f"{section}.{key}: {before.get(key)!r} -> {after.get(key)!r}")
    if changed:
        raise ConfigError(
            f"cannot resume {run_dir}: its configuration differs in " + "; ".join(changed[:5])
            + " (use --no-resume to start a new run)"
        )
