"""Command line of the benchmark (tools/benchmark.py, python -m inade.benchmark)."""
from __future__ import annotations

import argparse
import json
import os

from ..atomic import atomic_write_text
from ..errors import InadeError
from .configs import CONFIGURATIONS

DESCRIPTION = """Measure training and sampling speed, FLOPs and peak memory.

    python tools/benchmark.py --config paper cpu --out bench.json
    python tools/benchmark.py --config paper --compare before.json
    python tools/benchmark.py --scaling --out scaling.json      # + scaling.png beside it
"""


def _read(path: str) -> dict:
    if not os.path.isfile(path):
        raise InadeError(f"result file not found: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise InadeError(f"{path} is not a benchmark result (invalid JSON: {error})") from None


def main(argv=None) -> int:
    from . import run

    parser = argparse.ArgumentParser(description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["paper", "cpu"], metavar="NAME",
                        help=f"settings to measure: {', '.join(CONFIGURATIONS)}")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (the median is reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--compare", metavar="FILE", help="an earlier result file: print before / after")
    parser.add_argument("--scaling", action="store_true", help="time per iteration vs resolution and instances")
    parser.add_argument("--single", help=argparse.SUPPRESS)  # one setting in this process (used internally)
    parser.add_argument("--train-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        raise InadeError("--runs must be at least 1 and --warmup at least 0")

    if args.single:
        print(json.dumps(run.measure(json.loads(args.single), args.runs, args.warmup, args.train_only)))
        return 0
    if args.scaling:
        result = run.scaling(args.runs, args.warmup)
        for key, points in result.items():
            print(key, ", ".join(f"{k}: {v['train_iteration']['seconds']:.2f} s" for k, v in points.items()))
        if args.out:
            atomic_write_text(args.out, json.dumps(result, indent=1))
            figure = os.path.splitext(args.out)[0] + ".png"
            run.scaling_figure(result, figure)
            print(f"wrote {args.out} and {figure}")
        return 0
    before = _read(args.compare) if args.compare else None
    results = run.benchmark(args.config, args.runs, args.warmup)
    print(run.table(results))
    if before is not None:
        print(run.compare(before, results))
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=1))
        print(f"wrote {args.out}")
    return 0
