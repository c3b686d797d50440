"""Measure training and sampling speed, FLOPs and peak memory (see inade/benchmark).

    python tools/benchmark.py --config paper cpu --out bench.json
    python tools/benchmark.py --config paper --compare before.json --out after.json
    python tools/benchmark.py --compare before.json after.json
    python tools/benchmark.py --scaling --out scaling.json
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import inade  # noqa: E402,F401  (thread and MKL settings before Paddle loads)
from inade.benchmark.cli import main  # noqa: E402
from inade.cli import run_cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(run_cli(main))
