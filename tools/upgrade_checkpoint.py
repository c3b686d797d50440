"""Rewrite a checkpoint of an earlier version (.pdckpt, a Paddle pickle) in the
safetensors format that this version writes. The old file is read without
running code (a file that asks to is refused) and left in place.

    python tools/upgrade_checkpoint.py runs/old/checkpoints/latest.pdckpt [--out NEW.safetensors]
"""
import argparse
import os
import sys

# Like every tool here, runnable from a clone without installing the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402,F401
from inade.cli import run_cli  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="the old checkpoint file")
    parser.add_argument("--out", help="the new file (default: beside the old one, with .safetensors)")
    args = parser.parse_args(argv)

    from inade.checkpoints.native import upgrade_checkpoint

    print(f"wrote {upgrade_checkpoint(args.checkpoint, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
