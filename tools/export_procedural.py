"""Write procedural samples in the generic folder layout (images/, labels/, instances/).

The same as `inade export-procedural` (see `inade export-procedural --help`).
"""
import sys

from inade.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command("export-procedural"))
