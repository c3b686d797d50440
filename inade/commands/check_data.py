"""Check every file of a training configuration's dataset, as training's
pre-flight does: readable, sizes agree, label values in range, label maps are
index maps, instance counts within data.max_instances, images within
data.max_image_pixels. All problems are listed at once.

    inade check-data --config configs/my_data.yaml [-o data.num_workers=8 ...] [--phase val]

Exit status 0 when every sample is good, 2 with the report otherwise. Results
are cached per file (see inade/data/check_cache.py), so a second check only
reads what changed.
"""
import argparse

from ..cli import add_config_arguments


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade check-data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument("--phase", choices=("train", "val"), default="train", help="which split to check")
    parser.add_argument("--processes", type=int, help="worker processes (default: data.num_workers, or every core)")
    args = parser.parse_args(argv)

    from ..config import load_config
    from ..data import build_dataset
    from ..data.check import check_dataset, raise_for_problems
    from ..errors import InadeError

    if args.processes is not None and args.processes < 1:
        raise InadeError(f"--processes must be at least 1, got {args.processes}")
    config = load_config(args.config, args.override)
    dataset = build_dataset(config.data, args.phase)
    if not hasattr(dataset, "check"):
        print(f"data.type {config.data.type!r} is generated, not read from files: nothing to check")
        return 0
    report = check_dataset(dataset, args.processes)
    print(report.summary())
    raise_for_problems(report, config.data, "fix or remove them (or train with data.skip_bad_files: true)")
    return 0
