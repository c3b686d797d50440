"""Training checkpoints: one file per save, written atomically; ``latest`` plus
the last K periodic ones are kept."""
from __future__ import annotations

import glob
import os
import re

import paddle

from ..atomic import atomic_path
from ..errors import CheckpointError

LATEST = "latest.pdckpt"
_PERIODIC = re.compile(r"^iter_(\d+)\.pdckpt$")


def save_checkpoint(state: dict, path: str) -> None:
    with atomic_path(path) as tmp:
        paddle.save(state, tmp)


def load_checkpoint(path: str) -> dict:
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = paddle.load(path)
    except Exception as error:  # paddle raises many types for a damaged file
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    if not isinstance(state, dict) or "iteration" not in state:
        raise CheckpointError(f"{path} is not an inade training checkpoint")
    return state


class CheckpointStore:
    """The checkpoints of one run, in ``<run>/checkpoints``."""

    def __init__(self, folder: str, keep: int = 3):
        self.folder = folder
        self.keep = keep

    @property
    def latest_path(self) -> str:
        return os.path.join(self.folder, LATEST)

    def has_latest(self) -> bool:
        return os.path.isfile(self.latest_path)

    def periodic(self) -> list[tuple[int, str]]:
        found = []
        for path in glob.glob(os.path.join(self.folder, "iter_*.pdckpt")):
            match = _PERIODIC.match(os.path.basename(path))
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def save(self, state: dict, periodic: bool) -> None:
        save_checkpoint(state, self.latest_path)
        if periodic and self.keep > 0:
            save_checkpoint(state, os.path.join(self.folder, f"iter_{state['iteration']:08d}.pdckpt"))
            for _, old in self.periodic()[: -self.keep]:
                os.remove(old)

    def load_latest(self) -> dict:
        return load_checkpoint(self.latest_path)
