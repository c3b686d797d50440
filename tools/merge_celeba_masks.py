"""Merge CelebAMask-HQ per-part masks into label maps (one PNG per image).

The same as `inade merge-celeba-masks` (see `inade merge-celeba-masks --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("merge-celeba-masks"))
