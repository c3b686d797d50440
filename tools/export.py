"""Export a trained model for deployment with Paddle Inference.

    python tools/export.py --checkpoint runs/procedural --out exported/procedural
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402,F401
from inade.cli import run_cli  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="run folder or checkpoint file (default: the shipped procedural model)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args(argv)
    from inade.synthesis import Synthesizer
    from inade.synthesis.export import export_model

    paths = export_model(Synthesizer.load(args.checkpoint), args.out)
    for name, prefix in paths.items():
        print(f"{name}: {prefix}.json + {prefix}.pdiparams")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
