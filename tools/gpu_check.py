"""Check mixed precision and measure training on a GPU (see inade/benchmark/gpu_check.py).

The same as `inade gpu-check` (see `inade gpu-check --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("gpu-check"))
