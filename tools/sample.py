"""Draw images from label maps with a trained model, with control per instance.

The same as `inade sample` (see `inade sample --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("sample"))
