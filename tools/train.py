"""Train INADE (or a baseline) from a YAML configuration.

The same as `inade train` (see `inade train --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("train"))
