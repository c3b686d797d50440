"""Train INADE (or a baseline) from a YAML configuration.

    python tools/train.py --config configs/procedural.yaml [-o optim.iterations=500 ...]

Running the same command again resumes from the run folder's latest checkpoint.
Data-parallel: python -m paddle.distributed.launch --nproc_per_node 2 tools/train.py --config ...
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402  (sets thread/MKL environment before paddle loads)
from inade.cli import add_config_arguments, run_cli  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true",
                        help="start over; an existing run folder is left alone and a new sibling folder is used")
    args = parser.parse_args(argv)

    from inade.config import load_config
    from inade.training import train

    result = train(load_config(args.config, args.override), resume=not args.no_resume)
    if result.status == "already finished":
        print(f"{result.run_dir} already finished {result.iteration} iterations; nothing to do "
              "(raise optim.iterations to train longer, or --no-resume for a new run)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
