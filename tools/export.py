"""Export a trained model for deployment with Paddle Inference.

The same as `inade export` (see `inade export --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("export"))
