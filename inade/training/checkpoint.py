"""A run's checkpoint policy: ``latest`` plus the last K periodic ones, in
``<run>/checkpoints``; the file format lives in ``inade.checkpoints``.

A run survives a damaged ``latest`` (it resumes from the newest intact periodic
checkpoint) and a killed save (its temp file is removed when the next run starts).
"""
from __future__ import annotations

import glob
import os
import re
import warnings

from ..checkpoints.native import LEGACY_SUFFIX, SUFFIX, load_checkpoint, save_checkpoint
from ..checkpoints.legacy_pickle import RefusedFile
from ..errors import CheckpointError

LATEST = "latest" + SUFFIX
LEGACY_LATEST = "latest" + LEGACY_SUFFIX  # runs of earlier versions; they resume and then write LATEST
_PERIODIC = re.compile(r"^iter_(\d+)(\.safetensors|\.pdckpt)$")
# What inade.atomic.atomic_path names its temp file while it writes "<name>".
_TEMP_FILES = (".latest.*.tmp", ".iter_*.tmp")


def has_checkpoint(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, name)) for name in (LATEST, LEGACY_LATEST))


class CheckpointStore:
    """The checkpoints of one run, in ``<run>/checkpoints``."""

    def __init__(self, folder: str, keep: int = 3):
        self.folder = folder
        self.keep = keep

    @property
    def latest_path(self) -> str:
        """The latest checkpoint to resume from (of an earlier version's run if only that exists)."""
        path = os.path.join(self.folder, LATEST)
        legacy = os.path.join(self.folder, LEGACY_LATEST)
        return legacy if not os.path.isfile(path) and os.path.isfile(legacy) else path

    def has_latest(self) -> bool:
        return has_checkpoint(self.folder)

    def _periodic_files(self) -> dict:
        """{iteration: [paths]}: an old run's iteration may be saved in both formats."""
        found: dict = {}
        for path in sorted(glob.glob(os.path.join(glob.escape(self.folder), "iter_*"))):
            match = _PERIODIC.match(os.path.basename(path))
            if match:
                found.setdefault(int(match.group(1)), []).append(path)
        return found

    def periodic(self) -> list[tuple[int, str]]:
        """(iteration, path) of the periodic checkpoints, oldest first; the new format
        where an iteration is saved in both."""
        return [(iteration, max(paths, key=lambda p: p.endswith(SUFFIX)))
                for iteration, paths in sorted(self._periodic_files().items())]

    def save(self, state: dict, periodic: bool) -> None:
        save_checkpoint(state, os.path.join(self.folder, LATEST))
        legacy = os.path.join(self.folder, LEGACY_LATEST)
        if os.path.isfile(legacy):  # superseded by the file just written
            os.remove(legacy)
        if periodic and self.keep > 0:
            save_checkpoint(state, os.path.join(self.folder, f"iter_{state['iteration']:08d}{SUFFIX}"))
            saved = sorted(self._periodic_files().items())
            for _, paths in saved[: -self.keep]:
                for path in paths:
                    os.remove(path)

    def load_latest(self) -> dict:
        """The latest checkpoint; if it is unreadable (truncated, damaged), the newest
        intact periodic one, with a warning naming both. A file that asks to run code
        is refused outright: that is no accident to recover from."""
        latest = self.latest_path
        try:
            return load_checkpoint(latest)
        except RefusedFile:
            raise
        except CheckpointError as damaged:
            for _, path in reversed(self.periodic()):
                try:
                    state = load_checkpoint(path)
                except RefusedFile:
                    raise
                except CheckpointError:
                    continue
                warnings.warn(f"{damaged}; resuming from {path}, the newest intact periodic checkpoint",
                              stacklevel=2)
                return state
            raise

    def remove_temp_files(self) -> list[str]:
        """Delete what killed saves left behind (atomic writes' temp files); returns their paths."""
        folder = glob.escape(self.folder)
        leftovers = [path for pattern in _TEMP_FILES for path in glob.glob(os.path.join(folder, pattern))]
        for path in leftovers:
            os.remove(path)
        return leftovers
