"""Check mixed precision and measure training on a GPU (needs one).

    inade gpu-check                       # the first GPU, 50 iterations per precision
    inade gpu-check --device gpu:1 --iterations 20 --out gpu.json

Prints one line per check; exits 0 when every check passed, 1 when one did
not, 2 when there is no GPU.
"""
import argparse
import json
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inade gpu-check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="gpu", help="gpu or gpu:N (default gpu)")
    parser.add_argument("--iterations", type=int, default=50, help="training iterations per precision (default 50)")
    parser.add_argument("--out", help="JSON file for the full report (written atomically)")
    args = parser.parse_args(argv)
    from ..atomic import atomic_write_text
    from ..benchmark.gpu_check import format_report, gpu_check, passed
    from ..errors import InadeError

    if args.iterations < 3:
        raise InadeError("--iterations must be at least 3 (the first two are not timed)")
    report = gpu_check(args.device, args.iterations, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_report(report))
    if args.out:
        atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    return 0 if passed(report) else 1
