"""The dataset check as a library: kinds, the cache's key and what it keeps."""
import pytest

from inade.data import DataConfig, build_dataset
from inade.data.check import UNEXPECTED, check_dataset
from inade.errors import BadDataFile

from .bad_files import data_section, make_dataset


def test_unexpected_errors_are_reported_but_not_cached(tmp_path, monkeypatch):
    root = str(tmp_path / "data")
    make_dataset(root, good=3, bad=())
    dataset = build_dataset(DataConfig(**data_section(root)), "train")
    original = type(dataset).check

    def flaky(self, index):
        if index == 1:
            raise MemoryError("cannot allocate")
        return original(self, index)

    monkeypatch.setattr(type(dataset), "check", flaky)
    first = check_dataset(dataset, processes=1)
    assert list(first.problems) == [1] and first.problems[1][0] == UNEXPECTED
    assert first.problems[1][1].startswith(f"{dataset.files[1][0]}, {dataset.files[1][1]}")
    monkeypatch.setattr(type(dataset), "check", original)
    second = check_dataset(dataset, processes=1)
    assert second.from_cache == 2 and not second.problems  # the flaky sample was read again


def test_the_instance_limit_is_checked_on_the_resized_map_every_crop_comes_from(tmp_path):
    """16 stripes, resized 32 -> 48 rows, cropped to 32 rows: a crop holds about 11 of
    them. The check counts all 16, so a limit it passes can never fail in an epoch."""
    root = str(tmp_path / "data")
    make_dataset(root, good=0, bad=("many_instances",))

    def dataset(limit):
        return build_dataset(DataConfig(**data_section(root, preprocess_mode="resize_and_crop", load_size=48,
                                                       max_instances=limit)), "train")

    enough = dataset(16)
    enough.check(0)
    for epoch in range(4):
        enough.set_epoch(epoch)
        assert 8 <= len(enough[0]["instance_ids"]) < 16
    with pytest.raises(BadDataFile, match="16 instances, more than data.max_instances=15"):
        dataset(15).check(0)
