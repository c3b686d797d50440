"""Check every file of a training configuration's dataset, as training's

The same as `inade check-data` (see `inade check-data --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("check-data"))
