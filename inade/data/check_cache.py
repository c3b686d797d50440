"""Per-file results of the dataset check, kept between runs.

A sample's result is reused while each of its files has the same path, size
and modification time, and the check's parameters (label rules, instance
limit, pixel limit, resize settings) are the same: those name the cache file.
The cache lives in the user's cache folder, never in the dataset's:

    $INADE_CACHE_DIR/data-check/      (when INADE_CACHE_DIR is set)
    $XDG_CACHE_HOME/inade/data-check/ (default ~/.cache/inade/data-check/)

A cache file that cannot be read is ignored with a warning and rewritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings

from ..atomic import atomic_write_text
from ..json_files import read_json

FORMAT_VERSION = 1


def cache_dir() -> str:
    if os.environ.get("INADE_CACHE_DIR"):
        return os.path.join(os.environ["INADE_CACHE_DIR"], "data-check")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "inade", "data-check")


def file_stamp(paths) -> list | None:
    """[[size, mtime_ns], ...] of the files, or None when one cannot be stat'ed."""
    stamp = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            return None
        stamp.append([info.st_size, info.st_mtime_ns])
    return stamp


class CheckCache:
    """Results keyed by the sample's absolute paths; stale stamps are misses."""

    def __init__(self, parameters: dict, folder: str | None = None):
        self.parameters = dict(parameters, format=FORMAT_VERSION)
        digest = hashlib.sha256(json.dumps(self.parameters, sort_keys=True).encode()).hexdigest()[:20]
        self.path = os.path.join(folder or cache_dir(), f"{digest}.json")
        self.entries = self._read()

    def _read(self) -> dict:
        if not os.path.exists(self.path):
            return {}
        try:
            data = read_json(self.path)
            if data.get("parameters") != self.parameters or not isinstance(data.get("entries"), dict):
                raise ValueError("not a data-check cache of these parameters")
            return data["entries"]
        except (OSError, ValueError, AttributeError) as error:
            warnings.warn(f"ignoring the data-check cache {self.path} ({error}); it is rewritten", stacklevel=3)
            return {}

    @staticmethod
    def key(paths) -> str:
        return "\n".join(os.path.abspath(p) for p in paths)

    def lookup(self, paths):
        """(found, problem): problem is None for a good sample, else [kind, message]."""
        entry = self.entries.get(self.key(paths))
        stamp = file_stamp(paths)
        if not isinstance(entry, dict) or stamp is None or entry.get("stamp") != stamp:
            return False, None
        problem = entry.get("problem")
        return True, (tuple(problem) if problem else None)

    def store(self, paths, stamp, problem) -> None:
        if stamp is not None:
            self.entries[self.key(paths)] = {"stamp": stamp, "problem": list(problem) if problem else None}

    def save(self) -> None:
        text = json.dumps({"parameters": self.parameters, "entries": self.entries}, separators=(",", ":"))
        try:
            atomic_write_text(self.path, text)
        except OSError as error:
            warnings.warn(f"cannot write the data-check cache {self.path} ({error}); the next check reads every file again",
                          stacklevel=2)
