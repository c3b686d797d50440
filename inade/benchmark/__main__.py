"""python -m inade.benchmark: the same as `inade benchmark` (the measurements' subprocesses run this)."""
import sys

from ..cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("benchmark"))
