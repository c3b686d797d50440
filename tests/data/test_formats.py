import hashlib
import os

import numpy as np
import pytest
from PIL import Image

from inade.data import DataConfig, build_dataset, collate
from inade.errors import DataError


def tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(path.encode())
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def save(path, array, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)


def blocks(rng, h, w, values):
    coarse = rng.choice(values, size=(h // 8, w // 8))
    return np.repeat(np.repeat(coarse, 8, 0), 8, 1)


def make_folder_dataset(root, n=3, size=(48, 64), label_values=(0, 1, 2), instance_dtype=np.uint16, palette=False):
    rng = np.random.default_rng(0)
    for i in range(n):
        h, w = size
        save(f"{root}/images/{i:03d}.jpg", rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        label = blocks(rng, h, w, label_values).astype(np.uint8)
        if palette:
            picture = Image.frombytes("P", (w, h), label.tobytes())  # fromarray(mode=) is deprecated
            picture.putpalette([c for v in range(256) for c in (v, 255 - v, 7 * v % 256)])
            os.makedirs(f"{root}/labels", exist_ok=True)
            picture.save(f"{root}/labels/{i:03d}.png")
        else:
            save(f"{root}/labels/{i:03d}.png", label)
        raw = label.astype(np.int64) * 1000 + blocks(rng, h, w, (0, 1, 2))
        save(f"{root}/instances/{i:03d}.png", raw.astype(instance_dtype))


def folder_cfg(root, **kw):
    options = dict(type="folder", image_dir=f"{root}/images", label_dir=f"{root}/labels",
                   instance_dir=f"{root}/instances", label_nc=3, crop_size=32, load_size=40)
    options.update(kw)
    return DataConfig(**options)


def test_coco_samples_real_files(fixtures_dir):
    root = os.path.join(os.path.dirname(fixtures_dir), "data", "coco_stuff_samples")
    before = tree_digest(root)
    cfg = DataConfig(type="coco", root=root, crop_size=64, load_size=72)
    for phase, count in (("train", 13), ("val", 8)):
        dataset = build_dataset(cfg, phase)
        assert len(dataset) == count
        items = [dataset[i] for i in range(count)]
        for item in items:
            assert item["image"].shape == (3, 64, 64) and item["label"].shape == (1, 64, 64)
            assert item["label"].max() <= 182
            k = len(item["instance_ids"])
            assert set(np.unique(item["instance"])) == set(range(k))
            for idx in range(k):
                pixels = item["label"][0][item["instance"][0] == idx]
                values, counts = np.unique(pixels, return_counts=True)
                assert item["instance_classes"][idx] == values[counts.argmax()]
        assert any((it["label"] == 182).any() for it in items), "real don't-care pixels map to channel 182"
        batch = collate(items[:4])
        assert batch["instance_ids"].shape[1] == batch["num_instances"].max()
    assert tree_digest(root) == before, "the dataset folder must never be written"


def test_generic_folder_with_16bit_instances_palette_labels_and_deterministic_crops(tmp_path):
    make_folder_dataset(tmp_path, palette=True)
    dataset = build_dataset(folder_cfg(tmp_path), "train")
    item = dataset[1]
    assert item["instance_ids"].max() >= 1000  # raw class*1000+k ids survive
    np.testing.assert_array_equal(item["instance_classes"], item["instance_ids"] // 1000)
    again = build_dataset(folder_cfg(tmp_path), "train")[1]
    np.testing.assert_array_equal(item["image"], again["image"])
    dataset.set_epoch(5)
    moved = [not np.array_equal(dataset[i]["image"], build_dataset(folder_cfg(tmp_path), "train")[i]["image"]) for i in range(3)]
    assert any(moved), "another epoch draws other crops/flips"


def test_image_and_maps_stay_aligned_under_crop_and_flip(tmp_path):
    # The image encodes each pixel's label in its red channel: after transforms they must agree.
    rng = np.random.default_rng(1)
    label = blocks(rng, 64, 64, (0, 1, 2)).astype(np.uint8)
    image = np.stack([label * 100, label * 0, label * 0], axis=-1).astype(np.uint8)
    save(f"{tmp_path}/images/a.png", image)
    save(f"{tmp_path}/labels/a.png", label)
    cfg = DataConfig(type="folder", image_dir=f"{tmp_path}/images", label_dir=f"{tmp_path}/labels", label_nc=3,
                     crop_size=32, load_size=64, seed=3)
    dataset = build_dataset(cfg, "train")
    for epoch in range(6):
        dataset.set_epoch(epoch)
        item = dataset[0]
        red = np.rint((item["image"][0] + 1) * 127.5 / 100).astype(int)
        np.testing.assert_array_equal(red, item["label"][0])


def test_instances_without_files_from_labels_or_components(tmp_path):
    label = np.zeros((32, 32), np.uint8)
    label[:, 8:12] = 1
    label[:, 20:24] = 1
    save(f"{tmp_path}/images/a.png", np.zeros((32, 32, 3), np.uint8))
    save(f"{tmp_path}/labels/a.png", label)
    base = dict(type="folder", image_dir=f"{tmp_path}/images", label_dir=f"{tmp_path}/labels", label_nc=2,
                crop_size=32, preprocess_mode="fixed", no_flip=True)
    per_class = build_dataset(DataConfig(**base, instances_from="label"), "train")[0]
    assert per_class["instance_ids"].tolist() == [0, 1]
    components = build_dataset(DataConfig(**base, instances_from="components"), "train")[0]
    assert len(components["instance_ids"]) == 5  # two bars + three background pieces
    assert sorted(components["instance_classes"].tolist()) == [0, 0, 0, 1, 1]


def test_cityscapes_layout_with_16bit_instance_ids(tmp_path):
    rng = np.random.default_rng(2)
    for split in ("train", "val"):
        for city in ("aachen",):
            stem = f"{city}_000000_000019"
            save(f"{tmp_path}/leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png", rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
            label = np.full((32, 64), 7, np.uint8)
            label[8:24, 16:32] = 26
            inst = label.astype(np.int32)
            inst[8:24, 16:24] = 26000
            inst[8:24, 24:32] = 26001
            save(f"{tmp_path}/gtFine/{split}/{city}/{stem}_gtFine_labelIds.png", label)
            save(f"{tmp_path}/gtFine/{split}/{city}/{stem}_gtFine_instanceIds.png", inst.astype(np.uint16))
    cfg = DataConfig(type="cityscapes", root=str(tmp_path), crop_size=64, aspect_ratio=2.0, preprocess_mode="fixed")
    item = build_dataset(cfg, "val")[0]
    assert item["label"].shape == (1, 32, 64)
    assert item["instance_ids"].tolist() == [7, 26000, 26001]
    assert item["instance_classes"].tolist() == [7, 26, 26]


def test_ade20k_shifts_labels_and_maps_zero_to_dontcare(tmp_path):
    label = np.array([[0, 1], [150, 2]], np.uint8).repeat(16, 0).repeat(16, 1)
    save(f"{tmp_path}/images/validation/ADE_val_1.jpg", np.zeros((32, 32, 3), np.uint8))
    save(f"{tmp_path}/annotations/validation/ADE_val_1.png", label)
    cfg = DataConfig(type="ade20k", root=str(tmp_path), crop_size=32, preprocess_mode="fixed")
    item = build_dataset(cfg, "val")[0]
    assert sorted(np.unique(item["label"]).tolist()) == [0, 1, 149, 150]  # 150 = don't care channel


@pytest.mark.parametrize(
    "breakage,message",
    [
        ("missing_label", r"1 image\(s\) in .* have no label map, e.g. 001"),
        ("corrupt_image", r"images/001.jpg: not an image file"),
        ("label_out_of_range", r"labels/001.png: label value 7 is outside the configured label_nc=3"),
        ("rgb_label", r"labels/001.png: a colour \(RGB\) image, but label maps must be index maps"),
        ("size_mismatch", r"labels/001.png: 64x48, but its image .*001.jpg is 32x48"),
        ("empty_images", r"no images found in"),
        ("missing_dir", r"image_dir folder not found"),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path, breakage, message):
    make_folder_dataset(tmp_path)
    if breakage == "missing_label":
        os.remove(f"{tmp_path}/labels/001.png")
    elif breakage == "corrupt_image":
        with open(f"{tmp_path}/images/001.jpg", "wb") as f:
            f.write(b"\xff\xd8\xff garbage")
    elif breakage == "label_out_of_range":
        save(f"{tmp_path}/labels/001.png", np.full((48, 64), 7, np.uint8))
    elif breakage == "rgb_label":
        save(f"{tmp_path}/labels/001.png", np.random.default_rng(0).integers(0, 3, (48, 64, 3), dtype=np.uint8))
    elif breakage == "size_mismatch":
        save(f"{tmp_path}/images/001.jpg", np.zeros((48, 32, 3), np.uint8))
    elif breakage == "empty_images":
        for name in os.listdir(f"{tmp_path}/images"):
            os.remove(f"{tmp_path}/images/{name}")
    cfg = folder_cfg(tmp_path, image_dir=f"{tmp_path}/nowhere") if breakage == "missing_dir" else folder_cfg(tmp_path)
    before = tree_digest(tmp_path)
    with pytest.raises(DataError, match=message):
        dataset = build_dataset(cfg, "train")
        for i in range(len(dataset)):
            dataset[i]
    assert tree_digest(tmp_path) == before


def test_max_instances_error_or_merge(tmp_path):
    label = np.zeros((32, 32), np.uint8)
    label[16:, :] = 1
    inst = np.arange(32 * 32, dtype=np.int32).reshape(32, 32) // 128  # 8 stripes of 4 rows
    save(f"{tmp_path}/images/a.png", np.zeros((32, 32, 3), np.uint8))
    save(f"{tmp_path}/labels/a.png", label)
    save(f"{tmp_path}/instances/a.png", inst.astype(np.uint16))
    base = dict(type="folder", image_dir=f"{tmp_path}/images", label_dir=f"{tmp_path}/labels",
                instance_dir=f"{tmp_path}/instances", label_nc=2, crop_size=32, preprocess_mode="fixed")
    with pytest.raises(DataError, match=r"instances/a.png: 8 instances, more than data.max_instances=5"):
        build_dataset(DataConfig(**base, max_instances=5), "train")[0]
    item = build_dataset(DataConfig(**base, max_instances=5, merge_extra_instances=True), "train")[0]
    assert len(item["instance_ids"]) <= 5
    assert sorted(set(item["instance_classes"].tolist())) == [0, 1]
    # every pixel still belongs to an instance of its own class
    for k, cls in enumerate(item["instance_classes"]):
        assert np.all(item["label"][0][item["instance"][0] == k] == cls)


def test_label_nc_is_required_for_generic_folders(tmp_path):
    make_folder_dataset(tmp_path)
    with pytest.raises(DataError, match="data.label_nc must be set for data.type 'folder'"):
        build_dataset(folder_cfg(tmp_path, label_nc=None), "train")


def test_batches_are_identical_with_and_without_worker_processes(tmp_path):
    from inade.data.loader import build_loader
    from inade.training.sampler import ResumableBatchSampler

    make_folder_dataset(tmp_path, n=6)
    dataset = build_dataset(folder_cfg(tmp_path), "train")
    runs = []
    for workers in (0, 2):
        sampler = ResumableBatchSampler(len(dataset), 2, seed=4)
        sampler.set_position(epoch=1)
        dataset.set_epoch(1)
        runs.append([{k: np.asarray(v) for k, v in b.items() if k != "path"} for b in build_loader(dataset, sampler, workers)])
    assert len(runs[0]) == len(runs[1]) == 3
    for a, b in zip(*runs):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("kind,split,with_inst", [("celeba", "test", False), ("deepfashion", "test", True)])
def test_split_folder_layouts(tmp_path, kind, split, with_inst):
    rng = np.random.default_rng(3)
    label = blocks(rng, 32, 32, (0, 5, 7)).astype(np.uint8)
    save(f"{tmp_path}/{split}_img/x.jpg", rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    save(f"{tmp_path}/{split}_label/x.png", label)
    if with_inst:
        save(f"{tmp_path}/{split}_inst/x.png", (label.astype(np.uint16) * 10))
    item = build_dataset(DataConfig(type=kind, root=str(tmp_path), crop_size=32, load_size=32, instances_from="file" if with_inst else "label"), "val")[0]
    assert sorted(item["instance_classes"].tolist()) == sorted(np.unique(label).tolist())
    expected_ids = sorted((np.unique(label) * (10 if with_inst else 1)).tolist())
    assert sorted(item["instance_ids"].tolist()) == expected_ids


def test_facades_shift_labels_from_one(tmp_path):
    label = np.array([[1, 3], [12, 2]], np.uint8).repeat(16, 0).repeat(16, 1)
    save(f"{tmp_path}/base/cmp_b0001.jpg", np.zeros((32, 32, 3), np.uint8))
    save(f"{tmp_path}/base/cmp_b0001.png", label)
    item = build_dataset(DataConfig(type="facades", root=str(tmp_path), crop_size=32, preprocess_mode="fixed"), "train")[0]
    assert sorted(np.unique(item["label"]).tolist()) == [0, 1, 2, 11]


@pytest.mark.parametrize(
    "mode,size,expected",
    [("resize_and_crop", (300, 500), (286, 286)), ("scale_width_and_crop", (300, 500), (171, 286)),
     ("scale_shortside_and_crop", (300, 500), (286, 477)), ("fixed", (300, 500), (128, 256)), ("none", (300, 500), (288, 512))],
)
def test_preprocess_mode_sizes(mode, size, expected):
    from inade.data.transforms import resized_size

    assert resized_size(*size, mode, load_size=286, crop_size=256, aspect_ratio=2.0) == expected
