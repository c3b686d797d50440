"""Shared plumbing of the command-line tools: user mistakes become one line."""
from __future__ import annotations

import sys

from .errors import InadeError


def run_cli(main, argv=None) -> int:
    """Call ``main(argv)``; an InadeError is printed as ``error: ...`` (exit 2)."""
    try:
        return int(main(argv) or 0)
    except InadeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
