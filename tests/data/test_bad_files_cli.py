"""Bad data files through the command-line tools: training's pre-flight check,
tools/check_data.py and its cache, data.skip_bad_files, and the loader's own
errors when the check is off: exit 2, one `error:` line naming the file, no
traceback, no hang, nothing written for a run that never started."""
import os
import signal
import subprocess
import sys
import time

import pytest

from ..training.tiny import write_config
from .bad_files import BAD_KINDS, data_section, make_dataset

TIMEOUT = 120  # seconds; a hang shows as subprocess.TimeoutExpired


def tool(name, *args, env=None):
    return subprocess.run([sys.executable, "-m", "inade", name, *args], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)


def error_lines(done):
    assert "Traceback" not in done.stderr, done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def bad_dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bad_dataset"))
    return root, make_dataset(root)


def test_training_preflight_reports_every_bad_file_at_once(bad_dataset, tmp_path):
    root, bad = bad_dataset
    config = write_config(tmp_path, tmp_path / "run", data=data_section(root))
    done = tool("train", "--config", config)
    assert done.returncode == 2
    (line,) = error_lines(done)
    assert line.startswith(f"error: {root}/images: 7 of 11 samples have bad files")
    for kind, path in bad.items():
        assert f"    {path}: " in done.stderr, kind
    assert "12000x12000 pixels (144.0 megapixels) is over the limit of 50.0 megapixels" in done.stderr
    assert "label value out of range: 1" in done.stderr and "not an index map: 2" in done.stderr
    assert not (tmp_path / "run").exists()


def test_check_data_tool_reports_and_caches(bad_dataset, tmp_path):
    root, bad = bad_dataset
    env = dict(os.environ, INADE_CACHE_DIR=str(tmp_path / "cache"))
    config = write_config(tmp_path, tmp_path / "run", data=data_section(root))
    before = {path: os.stat(path).st_mtime_ns for path in bad.values()}
    first = tool("check-data", "--config", config, env=env)
    assert first.returncode == 2
    assert error_lines(first)[0].startswith(f"error: {root}/images: 7 of 11 samples have bad files")
    assert "11 read in" in first.stdout and "0 from the cache" in first.stdout
    second = tool("check-data", "--config", config, env=env)
    assert second.returncode == 2 and "0 read in" in second.stdout and "11 from the cache" in second.stdout
    for path in bad.values():
        assert path in second.stderr  # problems found earlier are reported from the cache too
    assert {path: os.stat(path).st_mtime_ns for path in bad.values()} == before  # the dataset is only read

    # A changed file is read again; a broken cache file is ignored with a warning and rewritten.
    os.utime(bad["truncated"], ns=(before[bad["truncated"]] + 10**9,) * 2)
    third = tool("check-data", "--config", config, env=env)
    assert third.returncode == 2 and "1 read in" in third.stdout and "10 from the cache" in third.stdout
    (cache_file,) = os.listdir(tmp_path / "cache" / "data-check")
    (tmp_path / "cache" / "data-check" / cache_file).write_text("{not json")
    fourth = tool("check-data", "--config", config, env=env)
    assert fourth.returncode == 2 and "11 read in" in fourth.stdout and "ignoring the data-check cache" in fourth.stderr
    fifth = tool("check-data", "--config", config, env=env)
    assert "11 from the cache" in fifth.stdout and "ignoring" not in fifth.stderr

    # The check's parameters are part of the cache key: another limit reads every file again.
    raised = tool("check-data", "--config", config, "-o", "data.max_instances=64", env=env)
    assert raised.returncode == 2 and "11 read in" in raised.stdout and "6 of 11 samples" in raised.stderr
    assert bad["many_instances"] not in raised.stderr


def test_skip_bad_files_trains_on_the_rest_and_lists_them(bad_dataset, tmp_path):
    root, bad = bad_dataset
    config = write_config(tmp_path, tmp_path / "run", data=data_section(root, skip_bad_files=True),
                          optim={"iterations": 2}, logging={"image_every": 0, "checkpoint_every": 100},
                          loss={"lambda_vgg": 10.0, "vgg_weights": None})
    done = tool("train", "--config", config)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    log = (tmp_path / "run" / "train.log").read_text()
    assert "training on 4 samples, skipping 7" in log
    # the check's summary: printed once (before the run folder exists), logged once
    assert done.stdout.count("data check: 11 samples") == 1 and log.count("data check: 11 samples") == 1
    # a warning is one line for the user, not Python's file:line and source
    (warning,) = [line for line in done.stderr.splitlines() if "lambda_vgg" in line]
    assert warning.startswith("warning: loss.lambda_vgg is set but loss.vgg_weights names no VGG19 weights file")
    assert "UserWarning" not in done.stderr
    for path in bad.values():
        assert f"skipped {path}: " in done.stdout and f"skipped {path}: " in log


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_error_ends_training_at_any_worker_count(tmp_path, workers):
    """The pre-flight off: the loader itself ends the run. With 0 workers the bad
    file is in the first batch (nothing is written); with 1 worker it comes
    after a good batch, so the run has started and its folder exists."""
    root = str(tmp_path / "data")
    order = ("truncated",) if workers == 0 else ("huge",)
    bad = make_dataset(root, good=2 if workers == 0 else 8, bad=order)
    # the batch order is shuffled: every batch but the last holds only good samples when only
    # the bad sample's own batch can fail; at 0 workers every sample is read in the first batches
    config = write_config(tmp_path, tmp_path / "run",
                          data=data_section(root, check_files=False, num_workers=workers,
                                            batch_size=3 if workers == 0 else 1),
                          optim={"iterations": 9}, logging={"image_every": 0, "checkpoint_every": 100})
    done = tool("train", "--config", config)
    assert done.returncode == 2
    (line,) = error_lines(done)
    assert line.startswith(f"error: {bad[order[0]]}: ")
    assert (tmp_path / "run" / "config.yaml").exists() == (workers == 1)


def test_sigterm_stops_training_that_reads_with_worker_processes(tmp_path):
    """The loop's stop request still works with the loader's workers, which
    leave signals to it and end with it."""
    root = str(tmp_path / "data")
    make_dataset(root, good=4, bad=())
    config = write_config(tmp_path, tmp_path / "run", data=data_section(root, num_workers=2),
                          optim={"iterations": 100000}, logging={"image_every": 0, "checkpoint_every": 100000})
    process = subprocess.Popen([sys.executable, "-m", "inade", "train", "--config", config],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = tmp_path / "run" / "train.log"
    deadline = time.monotonic() + TIMEOUT
    while not (log.exists() and "iter 2 " in log.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "interrupted at iteration" in out
    assert os.listdir(tmp_path / "run" / "checkpoints")  # the stop request saved a checkpoint
