"""Command line of the benchmark (`inade benchmark`, python -m inade.benchmark)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..atomic import atomic_write_text
from ..errors import InadeError
from ..json_files import read_json
from . import report
from .configs import CONFIGURATIONS
from .measure import benchmark, measure_setting, scaling

DESCRIPTION = """Measure training and sampling speed, FLOPs and peak memory.

    inade benchmark --config paper cpu --out bench.json
    inade benchmark --config paper --compare before.json --out after.json
    inade benchmark --compare before.json after.json     # two files, nothing measured
    inade benchmark --scaling --out scaling.json         # + scaling.png beside it
    INADE_CONV=paddle inade benchmark --config paper --out paddle.json  # the paddle backend: Paddle's ops only

settings:
""" + "\n".join(f"    {name:6} {named.description}" for name, named in CONFIGURATIONS.items())


def read_result(path: str) -> dict:
    if not os.path.isfile(path):
        raise InadeError(f"result file not found: {path}")
    try:
        result = read_json(path)
    except ValueError as error:  # invalid JSON or UTF-8, too large, too deep
        raise InadeError(f"{path} is not a benchmark result ({error})") from None
    if not isinstance(result, dict) or not isinstance(result.get("configurations"), dict):
        raise InadeError(f"{path} is not a benchmark result (no 'configurations')")
    return result


def _write_json(path: str, result: dict) -> None:
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="inade benchmark", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", metavar="NAME",
                        help=f"settings to measure (default: paper cpu); one of {', '.join(CONFIGURATIONS)}")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY=VALUE",
                        help="change every measured setting, e.g. -o data.batch_size=2 -o model.norm_mode=spade")
    parser.add_argument("--runs", type=int, default=3, help="timed runs, the median is reported (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--out", help="JSON file for the results (written atomically)")
    parser.add_argument("--compare", nargs="+", metavar="FILE",
                        help="an earlier result file: before / after; with two files, compare them and measure nothing")
    parser.add_argument("--scaling", action="store_true",
                        help="seconds per iteration against image size (64, 128, 256), instances (4, 16, 64) and "
                             "batch size (1, 2, 4) for the first --config (default paper); --out also writes the "
                             "figure as .png")
    parser.add_argument("--device", default="cpu", help="cpu (default), gpu or gpu:N: where the networks run")
    parser.add_argument("--single", help=argparse.SUPPRESS)  # one setting in this process (used internally)
    parser.add_argument("--train-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        raise InadeError("--runs must be at least 1 and --warmup at least 0")

    if args.single:
        print(json.dumps(measure_setting(json.loads(args.single), args.runs, args.warmup, args.train_only, args.device)))
        return 0
    if args.compare and len(args.compare) > 2:
        raise InadeError("--compare takes one file (then measures) or two files (before, after)")
    if args.compare and len(args.compare) == 2:
        print(report.compare(read_result(args.compare[0]), read_result(args.compare[1])))
        return 0
    if args.scaling and args.compare:
        raise InadeError("--scaling writes its own file; compare settings without it")
    before = read_result(args.compare[0]) if args.compare else None
    if args.scaling:
        base = args.config[0] if args.config else "paper"
        result = scaling(base, args.runs, args.warmup, args.override, _progress, args.device)
        print(report.scaling_table(result))
        if args.out:
            _write_json(args.out, result)
            figure = os.path.splitext(args.out)[0] + ".png"
            report.scaling_figure(result, figure)
            print(f"wrote {args.out} and {figure}")
        return 0
    specs = [{"name": name, "overrides": args.override} for name in (args.config or ["paper", "cpu"])]
    results = benchmark(specs, args.runs, args.warmup, _progress, args.device)
    print(report.table(results))
    if before is not None:
        print(report.compare(before, results))
    if args.out:
        _write_json(args.out, results)
        print(f"wrote {args.out}")
    return 0
