"""Evaluate a model.

The same as `inade evaluate` (see `inade evaluate --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("evaluate"))
