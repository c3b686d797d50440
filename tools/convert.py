"""Convert the authors' released PyTorch checkpoints (INADE, SPADE, CLADE) into a run

The same as `inade convert` (see `inade convert --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("convert"))
