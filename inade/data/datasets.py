"""Datasets of files on disk (every standard layout and generic folders), and
the factory that builds any dataset from a DataConfig."""
from __future__ import annotations

import numpy as np
from paddle.io import Dataset

from ..errors import BadDataFile, DataError
from .classes import dataset_class_names
from .formats import FORMATS, map_labels
from .instances import instances_from_components, limit_instances, number_instances
from .readers import read_index_map, read_rgb
from .transforms import apply_transform, crop_or_pad, plan_transform, resize_and_crop_sizes, resize_nearest_map

SIZE_MISMATCH = "files of one sample with different sizes"


class PairedDataset(Dataset):
    """Photos with label maps (and instance maps), read from files.

    Items follow ``inade.data.base``; random crops and flips are drawn from
    (seed, epoch, index), so they do not depend on the number of workers.
    Files are only ever read.
    """

    def __init__(self, files, cfg, phase: str, label_nc: int, contain_dontcare: bool, dontcare_value, label_offset, class_names=None):
        self.files = files
        self.cfg = cfg
        self.phase = phase
        self.label_nc = label_nc
        self.contain_dontcare = contain_dontcare
        self.dontcare_value = dontcare_value
        self.label_offset = label_offset
        self.class_names = class_names
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    @property
    def max_pixels(self) -> int:
        return self.cfg.max_image_pixels

    def _instances(self, label: np.ndarray, instance_path, raw_label_shape) -> np.ndarray:
        if instance_path is not None:
            raw = read_index_map(instance_path, "instance", self.max_pixels)
            if raw.shape != raw_label_shape:
                raise BadDataFile(
                    instance_path, SIZE_MISMATCH,
                    f"{raw.shape[1]}x{raw.shape[0]}, but its label map is {raw_label_shape[1]}x{raw_label_shape[0]}",
                )
            return raw
        if self.cfg.instances_from == "components":
            return instances_from_components(label)
        return label.copy()  # one instance per class region, as the reference does

    def read(self, index: int):
        """(photo [H, W, 3] uint8, class ids [H, W], raw instance ids [H, W]) of
        item ``index``: every file read and checked, nothing random yet."""
        image_path, label_path, instance_path = self.files[index]
        image = read_rgb(image_path, self.max_pixels)
        raw_label = read_index_map(label_path, "label", self.max_pixels)
        if raw_label.shape != image.shape[:2]:
            raise BadDataFile(
                label_path, SIZE_MISMATCH,
                f"{raw_label.shape[1]}x{raw_label.shape[0]}, but its image {image_path} is {image.shape[1]}x{image.shape[0]}",
            )
        label = map_labels(
            raw_label, self.label_nc, self.contain_dontcare, self.dontcare_value, self.label_offset, label_path
        )
        raw_instance = self._instances(label, instance_path if self.cfg.instances_from == "file" else None, raw_label.shape)
        return image, label, raw_instance

    def _sizes(self, image: np.ndarray):
        cfg = self.cfg
        return resize_and_crop_sizes(image.shape[0], image.shape[1], cfg.preprocess_mode, cfg.load_size or cfg.crop_size,
                                     cfg.crop_size, cfg.aspect_ratio)

    def _limit_instances(self, index: int, label: np.ndarray, raw_instance: np.ndarray):
        image_path, label_path, instance_path = self.files[index]
        index_map, ids, classes, areas = number_instances(raw_instance, label, self.label_nc + 1)
        return limit_instances(index_map, ids, classes, areas, self.cfg.max_instances, self.cfg.merge_extra_instances,
                               instance_path or label_path)

    def check(self, index: int) -> None:
        """Raise what ``self[index]`` would raise in any epoch.

        The instance limit is checked on the map after the deterministic resize,
        padded as a crop would pad it: every random crop (and flip) sees a subset
        of its instances, so a map that passes can never fail later in training,
        and one that fails would fail for some crops. The full-size map would
        over-count (a resize to fewer pixels drops small instances)."""
        image, label, raw_instance = self.read(index)
        (new_h, new_w), (crop_h, crop_w) = self._sizes(image)
        fill = (self.label_nc if self.contain_dontcare else 0, -1)
        label, raw_instance = (
            crop_or_pad(resize_nearest_map(m, new_h, new_w), 0, 0, max(new_h, crop_h), max(new_w, crop_w), f)
            for m, f in zip((label, raw_instance), fill)
        )
        self._limit_instances(index, label, raw_instance)

    def __getitem__(self, index: int) -> dict:
        image, label, raw_instance = self.read(index)
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, self.epoch, index])
        plan = plan_transform(
            image.shape[0], image.shape[1], cfg.preprocess_mode, cfg.load_size or cfg.crop_size, cfg.crop_size,
            cfg.aspect_ratio, self.phase == "train" and not cfg.no_flip, rng,
        )
        dontcare_fill = self.label_nc if self.contain_dontcare else 0
        image, (label, raw_instance) = apply_transform(image, [label, raw_instance], plan, (dontcare_fill, -1))
        index_map, ids, classes = self._limit_instances(index, label, raw_instance)
        return {
            "image": (image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0),
            "label": label[None].astype(np.int64),
            "instance": index_map[None].astype(np.int64),
            "instance_ids": ids,
            "instance_classes": classes,
            "path": self.files[index][0],
        }


def build_dataset(cfg, phase: str = "train") -> Dataset:
    """The dataset a DataConfig describes, for phase "train" or "val"."""
    if cfg.type == "procedural":
        from .procedural import ProceduralDataset

        dataset = ProceduralDataset(size=cfg.crop_size, num_samples=cfg.procedural_samples, seed=cfg.seed + (0 if phase == "train" else 1))
        if cfg.label_nc not in (None, dataset.label_nc):
            raise DataError(f"the procedural dataset has {dataset.label_nc} classes, but data.label_nc is {cfg.label_nc}")
        return dataset
    fmt = FORMATS[cfg.type]
    label_nc = cfg.label_nc if cfg.label_nc is not None else fmt.label_nc
    if label_nc is None:
        raise DataError(f"data.label_nc must be set for data.type {cfg.type!r} (the number of classes in your label maps)")
    contain_dontcare = cfg.contain_dontcare if cfg.contain_dontcare is not None else fmt.contain_dontcare
    dontcare_value = cfg.dontcare_value if cfg.dontcare_value is not None else fmt.dontcare_value
    if contain_dontcare and dontcare_value is None:
        raise DataError("data.contain_dontcare is true but data.dontcare_value is not set (e.g. 255)")
    class_names = dataset_class_names(cfg, label_nc)
    files = fmt.list_files(cfg, phase)
    return PairedDataset(files, cfg, phase, label_nc, contain_dontcare, dontcare_value, fmt.label_offset, class_names)
