"""Reading JSON files a user hands over (style files, benchmark results, caches)."""
from __future__ import annotations

import json
import os

# Far above any file inade writes (a style file with a long edit history is a few MB),
# far below what would strain memory: json.load holds the whole text and its objects.
MAX_JSON_BYTES = 64 * 2**20


def read_json(path: str, max_bytes: int = MAX_JSON_BYTES):
    """The JSON document in ``path``. Raises FileNotFoundError, or ValueError for
    a file over ``max_bytes``, text that is not UTF-8 JSON, or nesting deeper
    than Python's decoder recurses (which json.load raises as RecursionError)."""
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ValueError(f"{size} bytes, more than the {max_bytes} a JSON file may have here")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
