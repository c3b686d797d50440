import numpy as np
import pytest

from inade.data.base import collate
from inade.data.procedural import CLASS_NAMES, STUFF_CLASSES, ProceduralDataset, export_procedural
from inade.errors import DataError


def test_items_follow_the_contract_and_are_deterministic():
    dataset = ProceduralDataset(size=64, num_samples=10, seed=3)
    item = dataset[4]
    assert item["image"].shape == (3, 64, 64) and item["image"].dtype == np.float32
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert item["label"].shape == item["instance"].shape == (1, 64, 64)
    k = len(item["instance_ids"])
    assert set(np.unique(item["instance"])) == set(range(k))
    again = ProceduralDataset(size=64, num_samples=10, seed=3)[4]
    for key in ("image", "label", "instance", "instance_ids", "instance_classes"):
        np.testing.assert_array_equal(item[key], again[key])
    other = ProceduralDataset(size=64, num_samples=10, seed=4)[4]
    assert not np.array_equal(item["image"], other["image"])


def test_instances_carry_raw_ids_classes_and_a_minimum_area():
    dataset = ProceduralDataset(size=64, num_samples=30, seed=0)
    things = 0
    for index in range(30):
        item = dataset[index]
        for k, (raw, cls) in enumerate(zip(item["instance_ids"], item["instance_classes"])):
            pixels = item["instance"][0] == k
            assert pixels.sum() >= dataset.min_area
            assert np.all(item["label"][0][pixels] == cls)
            assert raw == cls if cls in STUFF_CLASSES else raw // 1000 == cls
            things += cls not in STUFF_CLASSES
    assert things >= 30 * 2 * 0.8  # most images keep 2+ things after occlusion


def test_variants_keep_the_layout_and_redraw_appearances():
    dataset = ProceduralDataset(num_samples=5, seed=1)
    a, b = dataset.generate(2, variant=0), dataset.generate(2, variant=1)
    np.testing.assert_array_equal(a["label"], b["label"])
    np.testing.assert_array_equal(a["instance"], b["instance"])
    assert np.abs(a["image"] - b["image"]).mean() > 0.05
    assert set(dataset.appearances(2)) == set(a["instance_ids"].tolist())


def test_all_classes_appear_and_collate_pads_instances():
    dataset = ProceduralDataset(num_samples=40, seed=0)
    seen = set()
    for index in range(40):
        seen |= set(np.unique(dataset[index]["label"]).tolist())
    assert seen == set(range(len(CLASS_NAMES)))
    batch = collate([dataset[i] for i in range(4)])
    counts = batch["num_instances"]
    assert batch["instance_ids"].shape == (4, counts.max())
    for row, count in enumerate(counts):
        assert np.all(batch["instance_ids"][row, count:] == -1)


def test_export_writes_the_generic_layout_and_refuses_a_non_empty_folder(tmp_path):
    from PIL import Image

    out = tmp_path / "export"
    export_procedural(str(out), num_samples=3, size=32, seed=2)
    for folder in ("images", "labels", "instances"):
        assert sorted(p.name for p in (out / folder).iterdir()) == ["000000.png", "000001.png", "000002.png"]
    dataset = ProceduralDataset(size=32, num_samples=3, seed=2)
    np.testing.assert_array_equal(np.array(Image.open(out / "labels" / "000001.png")), dataset[1]["label"][0])
    raw = np.array(Image.open(out / "instances" / "000001.png"))
    assert sorted(np.unique(raw).tolist()) == dataset[1]["instance_ids"].tolist()
    with pytest.raises(DataError, match="refusing to export into .* not empty"):
        export_procedural(str(out), num_samples=1)


def test_export_command_and_its_output_loads_as_a_folder_dataset(tmp_path):
    import os
    import subprocess
    import sys

    from inade.data import DataConfig, build_dataset

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = tmp_path / "export"
    done = subprocess.run([sys.executable, os.path.join(root, "tools", "export_procedural.py"), str(out), "--num", "2",
                           "--size", "32"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "wrote 2 samples" in done.stdout, done.stderr
    cfg = DataConfig(type="folder", image_dir=str(out / "images"), label_dir=str(out / "labels"),
                     instance_dir=str(out / "instances"), label_nc=6, crop_size=32, preprocess_mode="fixed", no_flip=True)
    item = build_dataset(cfg, "val")[1]
    original = ProceduralDataset(size=32, num_samples=2)[1]
    np.testing.assert_array_equal(item["label"], original["label"])
    np.testing.assert_array_equal(item["instance_ids"], original["instance_ids"])
    assert np.abs(item["image"] - original["image"]).max() <= 1.0 / 127.5 + 1e-6  # 8-bit rounding only
