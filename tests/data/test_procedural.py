import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from inade.data.base import collate
from inade.data.procedural import (
    CLASS_NAMES,
    EXPORT_MARKER,
    STUFF_CLASSES,
    ProceduralDataset,
    _undersized,
    export_procedural,
)
from inade.errors import DataError

ARRAY_KEYS = ("image", "label", "instance", "instance_ids", "instance_classes")


def test_items_follow_the_contract():
    dataset = ProceduralDataset(size=64, num_samples=10, seed=3)
    assert len(dataset) == 10 and dataset.label_nc == len(CLASS_NAMES) >= 5 and dataset.contain_dontcare is False
    item = dataset[4]
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == np.float32
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["label"].shape == item["instance"].shape == (1, 64, 64)
    assert item["label"].dtype == item["instance"].dtype == item["instance_ids"].dtype == np.int64
    k = len(item["instance_ids"])
    assert item["instance_classes"].shape == (k,) and item["instance_classes"].dtype == np.int64
    assert set(np.unique(item["instance"]).tolist()) == set(range(k))
    assert item["path"] == "procedural/3/000004"
    with pytest.raises(IndexError):
        dataset[10]


def test_an_item_is_a_function_of_seed_and_index_only():
    dataset = ProceduralDataset(size=64, num_samples=10, seed=3)
    forward = [dataset[i] for i in range(6)]
    backward = [ProceduralDataset(size=64, num_samples=10, seed=3)[i] for i in reversed(range(6))][::-1]
    for a, b in zip(forward, backward):
        for key in ARRAY_KEYS:
            np.testing.assert_array_equal(a[key], b[key])
    other = ProceduralDataset(size=64, num_samples=10, seed=4)[4]
    assert not np.array_equal(forward[4]["image"], other["image"])
    assert not np.array_equal(forward[4]["label"], other["label"])


def test_instances_carry_cityscapes_raw_ids_classes_and_a_minimum_area():
    dataset = ProceduralDataset(size=64, num_samples=30, seed=0)
    things, same_class_pairs = 0, 0
    for index in range(30):
        item = dataset[index]
        areas = np.bincount(item["instance"].ravel())
        assert areas.min() >= dataset.min_area
        for k, (raw, cls) in enumerate(zip(item["instance_ids"], item["instance_classes"])):
            assert np.all(item["label"][0][item["instance"][0] == k] == cls)
            assert raw == cls if cls in STUFF_CLASSES else raw // 1000 == cls
        thing_classes = [c for c in item["instance_classes"].tolist() if c not in STUFF_CLASSES]
        things += len(thing_classes)
        same_class_pairs += len(thing_classes) > len(set(thing_classes))
    assert things >= 30 * 2 * 0.8  # most images keep 2+ things after occlusion
    assert same_class_pairs >= 30 * 0.5  # independence within an image is measurable


def test_a_stronger_minimum_area_holds_for_every_instance():
    dataset = ProceduralDataset(size=32, num_samples=40, seed=1, min_area=40, max_things=12)
    for index in range(40):
        assert np.bincount(dataset[index]["instance"].ravel()).min() >= 40


def test_a_barely_visible_stuff_region_drops_the_thing_on_top_of_it():
    below = np.zeros((16, 16), dtype=bool)
    below[8:] = True
    cover = np.ones((16, 16), dtype=bool)
    cover[0, :5] = False  # 5 sky pixels stay visible
    small = np.zeros((16, 16), dtype=bool)
    small[12:, 12:] = True
    shapes = [(3000, 3, cover), (2000, 2, small)]
    instance = np.where(below, 1, 0)
    instance[cover] = 3000
    instance[small] = 2000
    assert _undersized(instance, shapes, below, min_area=10) == {3000}
    assert _undersized(instance, shapes, below, min_area=5) == set()
    assert _undersized(instance, shapes, below, min_area=17) == {2000}  # small things go first


def test_variants_keep_the_layout_and_redraw_appearances():
    dataset = ProceduralDataset(num_samples=5, seed=1)
    a, b = dataset.generate(2, variant=0), dataset.generate(2, variant=1)
    for key in ("label", "instance", "instance_ids", "instance_classes"):
        np.testing.assert_array_equal(a[key], b[key])
    assert np.abs(a["image"] - b["image"]).mean() > 0.05
    truth_a, truth_b = dataset.appearances(2, 0), dataset.appearances(2, 1)
    assert set(truth_a) == set(a["instance_ids"].tolist())
    assert all(not np.allclose(truth_a[raw], truth_b[raw]) for raw in truth_a)
    _, raw_instance, _, _ = dataset.layout(2)
    np.testing.assert_array_equal(dataset.render(raw_instance, truth_b), b["image"])


def test_render_composes_chosen_appearances_and_names_a_missing_one():
    dataset = ProceduralDataset(num_samples=5, seed=1)
    _, raw_instance, raw_ids, _ = dataset.layout(3)
    truth = dataset.appearances(3)
    darker = {**truth, raw_ids[-1]: truth[raw_ids[-1]] * np.array([1, 1, 0.5, 1, 1, 1, 1, 1])}
    image, changed = dataset.render(raw_instance, truth), dataset.render(raw_instance, darker)
    moved = np.any(image != changed, axis=0)
    assert moved.any() and np.all(raw_instance[moved] == raw_ids[-1])
    del truth[raw_ids[-1]]
    with pytest.raises(DataError, match=f"no appearance given for instance {raw_ids[-1]} of the procedural layout"):
        dataset.render(raw_instance, truth)


def test_all_classes_appear_and_collate_pads_instances():
    dataset = ProceduralDataset(num_samples=40, seed=0)
    seen = set()
    for index in range(40):
        seen |= set(np.unique(dataset[index]["label"]).tolist())
    assert seen == set(range(len(CLASS_NAMES)))
    items = [dataset[i] for i in range(6)]
    counts = [len(it["instance_ids"]) for it in items]
    assert len(set(counts)) > 1
    batch = collate(items)
    assert batch["image"].shape == (6, 3, 64, 64) and batch["instance_ids"].shape == (6, max(counts))
    for row, count in enumerate(counts):
        np.testing.assert_array_equal(batch["instance_classes"][row, :count], items[row]["instance_classes"])
        assert np.all(batch["instance_ids"][row, count:] == -1)


def test_generation_is_fast():
    dataset = ProceduralDataset(size=64, num_samples=200, seed=0)
    dataset[0]
    start = time.perf_counter()
    for index in range(200):
        dataset[index]
    # About 1 ms each here; a per-pixel Python loop would take tens of ms.
    assert (time.perf_counter() - start) / 200 < 0.01


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 8}, "procedural size must be at least 16 pixels, got 8"),
    ({"num_samples": 0}, "procedural num_samples must be positive, got 0"),
    ({"size": 16, "min_area": 40}, "procedural min_area must be 1..32 pixels at size 16, got 40"),
    ({"max_things": 1}, "procedural max_things must be at least 2, got 1"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(DataError, match=message):
        ProceduralDataset(**kwargs)


def _exported(out, index):
    return tuple(np.array(Image.open(out / folder / f"{index:06d}.png")) for folder in ("images", "labels", "instances"))


def test_export_writes_the_generic_layout(tmp_path):
    out = tmp_path / "export"
    assert export_procedural(str(out), num_samples=3, size=32, seed=2) == str(out)
    for folder in ("images", "labels", "instances"):
        assert sorted(p.name for p in (out / folder).iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert json.loads((out / EXPORT_MARKER).read_text())["num_samples"] == 3
    assert os.listdir(tmp_path) == ["export"]  # no staging folder left behind
    dataset = ProceduralDataset(size=32, num_samples=3, seed=2)
    photo, label, raw = _exported(out, 1)
    assert photo.dtype == np.uint8 and label.dtype == np.uint8 and raw.dtype == np.uint16
    np.testing.assert_array_equal(label, dataset[1]["label"][0])
    np.testing.assert_array_equal(raw, dataset.layout(1)[1])
    assert np.abs(photo / 127.5 - 1.0 - dataset[1]["image"].transpose(1, 2, 0)).max() <= 0.5 / 127.5 + 1e-6


def test_export_refuses_a_foreign_folder_and_replaces_its_own(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="refusing to export into .*foreign: the folder is not empty and is not an earlier procedural export"):
        export_procedural(str(foreign), num_samples=1, size=16)
    assert os.listdir(foreign) == ["notes.txt"]
    with pytest.raises(DataError, match="refusing to export into .*notes.txt: it is a file, not a folder"):
        export_procedural(str(foreign / "notes.txt"), num_samples=1, size=16)

    empty = tmp_path / "empty"
    empty.mkdir()
    export_procedural(str(empty), num_samples=2, size=16, seed=0)
    export_procedural(str(empty), num_samples=1, size=16, seed=5)  # an earlier export is replaced whole
    assert sorted(os.listdir(empty / "labels")) == ["000000.png"]
    np.testing.assert_array_equal(_exported(empty, 0)[1], ProceduralDataset(size=16, num_samples=1, seed=5)[0]["label"][0])
    (empty / "images" / "extra.png").write_bytes(b"")
    with pytest.raises(DataError, match="not an earlier procedural export"):
        export_procedural(str(empty), num_samples=1, size=16)
    assert sorted(os.listdir(tmp_path)) == ["empty", "foreign"]


def test_export_command_and_its_output_loads_as_a_folder_dataset(tmp_path):
    from inade.data import DataConfig, build_dataset

    out = tmp_path / "export"
    done = subprocess.run([sys.executable, "-m", "inade", "export-procedural", str(out), "--num", "2",
                           "--size", "32"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"wrote 2 procedural samples (32x32, seed 0) to {out}" in done.stdout
    cfg = DataConfig(type="folder", image_dir=str(out / "images"), label_dir=str(out / "labels"),
                     instance_dir=str(out / "instances"), label_nc=6, crop_size=32, preprocess_mode="fixed", no_flip=True)
    item = build_dataset(cfg, "train")[1]
    original = ProceduralDataset(size=32, num_samples=2)[1]
    for key in ("label", "instance", "instance_ids", "instance_classes"):
        np.testing.assert_array_equal(item[key], original[key])
    assert np.abs(item["image"] - original["image"]).max() <= 0.5 / 127.5 + 1e-6  # 8-bit rounding only
    again = subprocess.run([sys.executable, "-m", "inade", "export-procedural", str(out / "images")],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and again.stderr.splitlines()[-1].startswith("error: refusing to export into")
