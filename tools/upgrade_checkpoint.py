"""Rewrite a checkpoint of an earlier version (.pdckpt, a Paddle pickle) in the

The same as `inade upgrade-checkpoint` (see `inade upgrade-checkpoint --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("upgrade-checkpoint"))
