"""Train INADE (or a baseline) from a YAML configuration.

    inade train --config configs/procedural.yaml [-o optim.iterations=500 ...]

Running the same command again resumes from the run folder's latest checkpoint.
Data-parallel: python -m paddle.distributed.launch --nproc_per_node 2 $(which inade) train --config ...
"""
import argparse

from ..cli import add_config_arguments


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument("--no-resume", action="store_true",
                        help="start over; an existing run folder is left alone and a new sibling folder is used")
    args = parser.parse_args(argv)

    from ..config import load_config
    from ..training import train

    result = train(load_config(args.config, args.override), resume=not args.no_resume)
    if result.status == "already finished":
        print(f"{result.run_dir} already finished {result.iteration} iterations; nothing to do "
              "(raise optim.iterations to train longer, or --no-resume for a new run)")
    return 0
