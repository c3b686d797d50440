"""The dataset check: every sample's files opened and checked the way training
reads them, in parallel processes, all problems reported at once.

``check_dataset`` runs it (``tools/check_data.py`` and the pre-flight of
training); ``preflight`` is what training does with the result: stop with the
report, or (``data.skip_bad_files``) go on without the bad samples.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import os
import signal
import sys
import threading
import time

from ..errors import BadDataFile, DataError, InadeError
from .check_cache import CheckCache, file_stamp
from .loader import item_error_message
from .workers import WorkerPool

UNEXPECTED = "unexpected error while reading"
OTHER = "other data error"
SHOWN_PER_KIND = 5
SAVE_EVERY_SECONDS = 30.0


@dataclasses.dataclass
class CheckReport:
    total: int
    from_cache: int  # samples whose result was reused without reading their files
    processes: int
    seconds: float
    problems: dict  # sample index -> (kind, one-line message)

    def summary(self) -> str:
        bad = f"{len(self.problems)} with bad files" if self.problems else "all good"
        return (f"data check: {self.total} samples, {bad} ({self.total - self.from_cache} read in "
                f"{self.seconds:.1f} s with {self.processes} process(es), {self.from_cache} from the cache)")

    def details(self) -> list[str]:
        """Count per kind, then the first few messages of each."""
        kinds: dict[str, list[str]] = {}
        for index in sorted(self.problems):
            kind, message = self.problems[index]
            kinds.setdefault(kind, []).append(message)
        lines = []
        for kind, messages in sorted(kinds.items(), key=lambda item: -len(item[1])):
            lines.append(f"  {kind}: {len(messages)}")
            lines.extend(f"    {message}" for message in messages[:SHOWN_PER_KIND])
            if len(messages) > SHOWN_PER_KIND:
                lines.append(f"    ... and {len(messages) - SHOWN_PER_KIND} more")
        return lines


def check_parameters(dataset) -> dict:
    """What a sample's result depends on besides its files."""
    cfg = dataset.cfg
    return {
        "label_nc": dataset.label_nc, "contain_dontcare": dataset.contain_dontcare,
        "dontcare_value": dataset.dontcare_value, "label_offset": dataset.label_offset,
        "instances_from": cfg.instances_from, "max_instances": cfg.max_instances,
        "merge_extra_instances": cfg.merge_extra_instances, "max_image_pixels": cfg.max_image_pixels,
        "preprocess_mode": cfg.preprocess_mode, "load_size": cfg.load_size, "crop_size": cfg.crop_size,
        "aspect_ratio": cfg.aspect_ratio,
    }


def _problem(dataset, index: int):
    """None, or (kind, message) of what reading sample ``index`` would raise."""
    try:
        dataset.check(index)
    except BadDataFile as error:
        return error.kind, str(error)
    except InadeError as error:
        return OTHER, str(error)
    except Exception as error:  # noqa: BLE001 - a crash on one file is that file's problem
        return UNEXPECTED, item_error_message(dataset, index, error)
    return None


def _check_chunk(dataset, indices):
    return [(index, _problem(dataset, index)) for index in indices]


def default_processes(num_workers: int) -> int:
    if num_workers > 0:
        return num_workers
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="checking data", unit="sample", file=sys.stderr, dynamic_ncols=True,
                disable=not sys.stderr.isatty())


@contextlib.contextmanager
def _interruptible():
    """SIGTERM stops the check as Ctrl-C does (KeyboardInterrupt): the workers
    are ended and the results so far cached, instead of Paddle's handler
    aborting the process with a report of a fatal error."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_dataset(dataset, processes: int | None = None, cache: CheckCache | None = None) -> CheckReport:
    """Check every sample of a file dataset (one with ``files`` and ``check``)."""
    started = time.perf_counter()
    processes = processes or default_processes(dataset.cfg.num_workers)
    cache = cache or CheckCache(check_parameters(dataset))
    problems, to_read, stamps = {}, [], {}
    for index, paths in enumerate(dataset.files):
        paths = [p for p in paths if p]
        found, problem = cache.lookup(paths)
        if found:
            if problem:
                problems[index] = problem
        else:
            to_read.append(index)
            stamps[index] = (paths, file_stamp(paths))  # before reading: a file changed meanwhile is a miss next time
    chunk = max(1, min(16, len(to_read) // (processes * 8)))
    chunks = [to_read[i : i + chunk] for i in range(0, len(to_read), chunk)]
    check = functools.partial(_check_chunk, dataset)
    pool = WorkerPool(check, processes) if processes > 1 and len(chunks) > 1 else None
    results = pool.map(chunks, 2 * processes, _describe_chunk(dataset)) if pool else map(check, chunks)
    last_save = time.monotonic()
    try:
        with _interruptible(), _progress(len(to_read)) as bar:
            for checked in results:
                for index, problem in checked:
                    if problem:
                        problems[index] = problem
                    if not problem or problem[0] != UNEXPECTED:  # may be passing (memory): try again next time
                        cache.store(*stamps[index], problem)
                bar.update(len(checked))
                if time.monotonic() - last_save > SAVE_EVERY_SECONDS:  # an interrupted check keeps its progress
                    cache.save()
                    last_save = time.monotonic()
    finally:
        if pool:
            pool.close()
        if to_read:
            cache.save()
    return CheckReport(len(dataset.files), len(dataset.files) - len(to_read), processes if pool else 1,
                       time.perf_counter() - started, problems)


def _describe_chunk(dataset):
    return lambda indices: "; ".join(", ".join(p for p in dataset.files[i] if p) for i in indices)


def dataset_folder(cfg) -> str:
    return cfg.image_dir or cfg.root or "the dataset"


def raise_for_problems(report: CheckReport, cfg,
                       advice: str = "fix or remove them, or set data.skip_bad_files: true to train on the rest") -> None:
    """The report's details on stderr, then one DataError line."""
    if not report.problems:
        return
    print("\n".join([f"{len(report.problems)} of {report.total} samples have bad files:"] + report.details()),
          file=sys.stderr, flush=True)
    raise DataError(f"{dataset_folder(cfg)}: {len(report.problems)} of {report.total} samples have bad files "
                    f"(listed above); {advice}")


def preflight(dataset, cfg):
    """(dataset to train on, the check's summary, notes) after checking every
    file, or a DataError with the report. The summary is printed here, since
    the check can take minutes before a run has a log; the caller logs it and
    the notes (the files skipped by data.skip_bad_files). Datasets without
    files pass as they are, with no summary."""
    if not cfg.check_files or not hasattr(dataset, "check"):
        return dataset, None, []
    report = check_dataset(dataset)
    print(report.summary(), flush=True)
    if not report.problems:
        return dataset, report.summary(), []
    if not cfg.skip_bad_files:
        raise_for_problems(report, cfg)
    if len(report.problems) == report.total:
        raise_for_problems(report, cfg, "none is left to train on")
    kept = copy.copy(dataset)
    kept.files = [paths for index, paths in enumerate(dataset.files) if index not in report.problems]
    notes = [f"data.skip_bad_files: training on {len(kept.files)} samples, skipping {len(report.problems)}:"]
    notes += [f"  skipped {report.problems[index][1]}" for index in sorted(report.problems)]
    return kept, report.summary(), notes
