"""Shared plumbing of the command-line tools: user mistakes become one line."""
from __future__ import annotations

import sys

from .errors import InadeError


def run_cli(main, argv=None) -> int:
    """Call ``main(argv)``; an InadeError is printed as ``error: ...`` (exit 2),
    an interruption as ``interrupted`` (exit 130).
    The environment's INADE_CONV is checked first, before a tool writes anything."""
    from .layers.conv import chosen_backend

    try:
        chosen_backend()
        return int(main(argv) or 0)
    except InadeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM where a tool turns it into this) before a tool saves
        print("interrupted", file=sys.stderr)
        return 130


def add_config_arguments(parser) -> None:
    """--config and -o/--override, as every tool that reads a training configuration takes them."""
    parser.add_argument("--config", required=True, help="YAML configuration file")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration value, e.g. -o optim.lr=1e-4 (value parsed as YAML)")
