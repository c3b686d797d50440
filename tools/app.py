"""Open the interactive page: paint or upload a label map, generate, click an

The same as `inade app` (see `inade app --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("app"))
