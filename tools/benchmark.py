"""Measure training and sampling speed, FLOPs and peak memory (see inade/benchmark).

The same as `inade benchmark` (see `inade benchmark --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("benchmark"))
