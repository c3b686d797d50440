"""The loader turns every error of an item into one DataError naming its files,
in this process and in worker processes, and never waits on a dead worker."""
import os
import signal

import numpy as np
import pytest

from inade.data import DataConfig, build_dataset
from inade.data.loader import build_loader
from inade.errors import DataError
from inade.training.sampler import ResumableBatchSampler

from .bad_files import BAD_KINDS, data_section, make_dataset


def batches(dataset, workers, batch_size=2):
    return list(build_loader(dataset, ResumableBatchSampler(len(dataset), batch_size, seed=0), workers))


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("data"))
    return root, make_dataset(root, good=3)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_each_bad_kind_is_one_error_naming_the_file(dataset_root, kind, workers):
    root, bad = dataset_root
    others = [path for k, path in bad.items() if k != kind]
    dataset = build_dataset(DataConfig(**data_section(root, check_files=False)), "train")
    dataset.files = [f for f in dataset.files if not any(p in others for p in f)]
    with pytest.raises(DataError) as caught:
        batches(dataset, workers)
    assert str(caught.value).startswith(f"{bad[kind]}: ")
    assert "\n" not in str(caught.value)


class Exploding:
    """Items 0 and 1 are fine; item 2 raises an error no reader expects, or kills its worker."""

    files = [(f"/data/{k}.png", f"/labels/{k}.png", None) for k in range(4)]

    def __init__(self, how):
        self.how = how

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        if self.how == "sizes":  # items of two sizes cannot be stacked into one batch
            side = 4 + 4 * index
            return {"image": np.zeros((3, side, side), np.float32), "label": np.zeros((1, side, side), np.int64),
                    "instance": np.zeros((1, side, side), np.int64), "instance_ids": np.zeros(1, np.int64),
                    "instance_classes": np.zeros(1, np.int64), "path": self.files[index][0]}
        if index == 2:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("boom\nsecond line")
        return {"image": np.zeros((3, 4, 4), np.float32), "label": np.zeros((1, 4, 4), np.int64),
                "instance": np.zeros((1, 4, 4), np.int64), "instance_ids": np.zeros(1, np.int64),
                "instance_classes": np.zeros(1, np.int64), "path": self.files[index][0]}


@pytest.mark.parametrize("workers", [0, 1])
def test_an_unexpected_error_names_the_files(workers):
    with pytest.raises(DataError, match=r"^/data/2.png, /labels/2.png: reading this sample failed "
                                        r"\(ValueError: boom second line\)$"):
        batches(Exploding("raise"), workers, batch_size=1)


def test_a_killed_worker_ends_the_iteration():
    with pytest.raises(DataError, match=r"/data/2.png, /labels/2.png.*: a data worker process died "
                                        r"\(killed by signal 9"):
        batches(Exploding("kill"), 1, batch_size=1)


@pytest.mark.parametrize("workers", [0, 1])
def test_samples_of_different_sizes_in_one_batch_are_one_error(workers):
    with pytest.raises(DataError, match=r"these samples cannot form one batch \(sizes \d+x\d+, \d+x\d+"):
        batches(Exploding("sizes"), workers, batch_size=2)


def _double_or_fail(task):
    if task == 3:
        raise RuntimeError("no\nluck")
    if task == 4:
        return lambda: task  # a result that cannot be pickled back to the parent
    return 2 * task


@pytest.mark.parametrize("bad_task,what", [(3, r"RuntimeError: no luck"), (4, r"Can't pickle")])
def test_a_worker_function_that_raises_or_returns_the_unpicklable_is_an_error(bad_task, what):
    from inade.data.workers import WorkerPool

    pool = WorkerPool(_double_or_fail, 2)
    try:
        results = pool.map(iter([1, 2, bad_task, 5]), 2, lambda task: f"task {task}")
        assert next(results) == 2 and next(results) == 4
        with pytest.raises(DataError, match=rf"^task {bad_task}: reading these files failed \(.*{what}"):
            next(results)
    finally:
        pool.close()
