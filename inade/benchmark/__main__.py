"""python -m inade.benchmark: see tools/benchmark.py."""
import sys

from .cli import main

if __name__ == "__main__":
    from ..cli import run_cli

    sys.exit(run_cli(main))
