"""Speed of the dataset check on generated files of Cityscapes size.

    python -m inade.benchmark.data_check --folder /tmp/cityscapes_like --samples 1000 [--unique 200] [--processes 2]

Writes ``samples`` photo/label/instance triples in the Cityscapes layout
(2048x1024 RGB photos, 8-bit label ids, 16-bit instance ids; written once,
reused by later calls), then times a cold check (empty cache) and a cached
one, and prints samples/s and files/s of each with the machine's CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

WIDTH, HEIGHT = 2048, 1024
CITY = "benchcity"


def _triple(folder: str, index: int) -> None:
    """One sample: blocky regions of 34 classes, instances of the 'thing'
    classes (24-33) numbered class*1000+k as Cityscapes does, and a photo of
    shaded regions with sensor-like noise (compresses like a street photo)."""
    from PIL import Image

    rng = np.random.default_rng(index)
    coarse = rng.integers(0, 34, (16, 32))  # [16, 32] classes -> 64x64-pixel blocks
    label = coarse.repeat(HEIGHT // 16, 0).repeat(WIDTH // 32, 1).astype(np.uint8)  # [H, W]
    blocks = np.arange(16 * 32).reshape(16, 32).repeat(HEIGHT // 16, 0).repeat(WIDTH // 32, 1)
    instance = np.where(label >= 24, label.astype(np.int64) * 1000 + blocks % 40, label).astype(np.uint16)
    shade = rng.integers(40, 220, (16, 32, 3)).repeat(HEIGHT // 16, 0).repeat(WIDTH // 32, 1)
    photo = np.clip(shade + rng.normal(0, 2.5, (HEIGHT, WIDTH, 3)), 0, 255).astype(np.uint8)
    for picture, path in zip((photo, label, instance), _paths(folder, index)):
        Image.fromarray(picture).save(path)


def _paths(folder: str, index: int) -> list[str]:
    stem = f"{CITY}_{index:06d}_000019"
    return [os.path.join(folder, "leftImg8bit", "train", CITY, f"{stem}_leftImg8bit.png"),
            os.path.join(folder, "gtFine", "train", CITY, f"{stem}_gtFine_labelIds.png"),
            os.path.join(folder, "gtFine", "train", CITY, f"{stem}_gtFine_instanceIds.png")]


def write_dataset(folder: str, samples: int, unique: int, processes: int) -> None:
    """The triples 0..samples-1 not yet in ``folder``: the first ``unique``
    generated, the others hard links to them (the check reads every path; it
    makes no difference to it that two paths hold the same bytes)."""
    from multiprocessing import Pool

    for part in ("leftImg8bit", "gtFine"):
        os.makedirs(os.path.join(folder, part, "train", CITY), exist_ok=True)
    missing = [i for i in range(min(unique, samples)) if not os.path.exists(_paths(folder, i)[2])]
    pool = Pool(processes)
    for _ in pool.imap_unordered(_generate, [(folder, i) for i in missing], chunksize=2):
        pass
    pool.close()  # and let the workers exit: terminating them would run Paddle's fatal-signal report
    pool.join()
    for index in range(unique, samples):
        for source, target in zip(_paths(folder, index % unique), _paths(folder, index)):
            if not os.path.exists(target):
                os.link(source, target)


def _generate(job):
    _triple(*job)


def measure(folder: str, samples: int, unique: int, processes: int) -> dict:
    from ..data import DataConfig, build_dataset
    from ..data.check import check_dataset
    from .timing import machine

    write_dataset(folder, samples, unique, processes)
    cfg = DataConfig(type="cityscapes", root=folder, crop_size=512, load_size=512, aspect_ratio=2.0,
                     preprocess_mode="fixed", max_instances=256)  # as configs/cityscapes.yaml
    dataset = build_dataset(cfg, "train")
    dataset.files = dataset.files[:samples]
    sizes = [sum(os.path.getsize(p) for p in paths if p) for paths in dataset.files]
    result = {"samples": len(dataset.files), "files": 3 * len(dataset.files), "distinct_samples": unique, "processes": processes,
              "megabytes_per_sample": round(float(np.mean(sizes)) / 1e6, 2), "machine": machine()}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["INADE_CACHE_DIR"] = cache
        for run in ("cold", "cached"):
            started = time.perf_counter()
            report = check_dataset(dataset, processes)
            seconds = time.perf_counter() - started
            assert not report.problems, report.details()[:5]
            result[run] = {"seconds": round(seconds, 2), "read": report.total - report.from_cache,
                           "samples_per_second": round(report.total / seconds, 1),
                           "files_per_second": round(3 * report.total / seconds, 1)}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", required=True, help="where the generated dataset is (or is written)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--unique", type=int, default=200, help="distinct triples; the rest are hard links to them")
    parser.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.folder, args.samples, args.unique, args.processes), indent=1))
    return 0


if __name__ == "__main__":
    import sys

    from ..cli import run_cli

    sys.exit(run_cli(main))
