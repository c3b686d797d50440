"""Where each dataset keeps its files, and how its label values map to classes.

Each layout function returns the (image, label, instance-or-None) path triples
of a split; ``FORMATS`` holds each type's defaults. Nothing here writes.
"""
from __future__ import annotations

import dataclasses
import glob
import os
from typing import Callable, Optional

import numpy as np

from ..errors import BadDataFile, DataError
from .classes import CLASS_NAMES
from .readers import IMAGE_EXTENSIONS


@dataclasses.dataclass(frozen=True)
class Format:
    label_nc: Optional[int]
    contain_dontcare: bool
    dontcare_value: Optional[int]  # raw label value meaning "don't care"
    label_offset: int  # subtracted from raw labels (ADE20K and Facades count from 1)
    list_files: Callable
    class_names: Optional[tuple] = None


def _require_dir(path: Optional[str], what: str) -> str:
    if not path:
        raise DataError(f"data.{what} is not set")
    if not os.path.isdir(path):
        raise DataError(f"{what} folder not found: {path}")
    return path


def _by_stem(folder: str, pattern: str = "*", strip: str = "") -> dict[str, str]:
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        name, ext = os.path.splitext(os.path.basename(path))
        if ext.lower() in IMAGE_EXTENSIONS:
            found[name[: len(name) - len(strip)] if strip and name.endswith(strip) else name] = path
    return found


def pair_files(images: dict, labels: dict, instances: Optional[dict], where: str):
    """Pair by key; missing counterparts are an error listing the first few."""
    if not images:
        raise DataError(f"no images found in {where}")
    missing = [k for k in images if k not in labels]
    if missing:
        raise DataError(
            f"{len(missing)} image(s) in {where} have no label map, e.g. {', '.join(missing[:3])}"
        )
    if instances is not None:
        missing = [k for k in images if k not in instances]
        if missing:
            raise DataError(f"{len(missing)} image(s) in {where} have no instance map, e.g. {', '.join(missing[:3])}")
    return [(images[k], labels[k], instances[k] if instances is not None else None) for k in sorted(images)]


def _split_name(phase: str, train: str, val: str) -> str:
    return train if phase == "train" else val


def list_folder(cfg, phase):
    """Training: image_dir/label_dir/instance_dir; validation: the val_ folders,
    which must be given (a held-out split is the user's choice, not guessed)."""
    prefix = "" if phase == "train" else "val_"
    if phase != "train" and not cfg.val_image_dir:
        raise DataError("the folder dataset has no validation split: set data.val_image_dir and data.val_label_dir "
                        "(and data.val_instance_dir) to folders of held-out photos and maps")
    image_dir = _require_dir(getattr(cfg, prefix + "image_dir"), prefix + "image_dir")
    label_dir = _require_dir(getattr(cfg, prefix + "label_dir"), prefix + "label_dir")
    instance_dir = getattr(cfg, prefix + "instance_dir")
    instances = _by_stem(_require_dir(instance_dir, prefix + "instance_dir")) if instance_dir else None
    return pair_files(_by_stem(image_dir), _by_stem(label_dir), instances, image_dir)


def list_cityscapes(cfg, phase):
    root = _require_dir(cfg.root, "root")
    split = _split_name(phase, "train", "val")
    images = _by_stem(os.path.join(root, "leftImg8bit", split), "*/*_leftImg8bit.png", "_leftImg8bit")
    labels = _by_stem(os.path.join(root, "gtFine", split), "*/*_gtFine_labelIds.png", "_gtFine_labelIds")
    instances = _by_stem(os.path.join(root, "gtFine", split), "*/*_gtFine_instanceIds.png", "_gtFine_instanceIds")
    return pair_files(images, labels, instances if cfg.instances_from == "file" else None, f"{root}/leftImg8bit/{split}")


def list_ade20k(cfg, phase):
    root = _require_dir(cfg.root, "root")
    split = _split_name(phase, "training", "validation")
    images = _by_stem(_require_dir(os.path.join(root, "images", split), "root/images/" + split))
    labels = _by_stem(_require_dir(os.path.join(root, "annotations", split), "root/annotations/" + split))
    instance_dir = os.path.join(root, "instances", split)
    instances = _by_stem(instance_dir) if cfg.instances_from == "file" and os.path.isdir(instance_dir) else None
    return pair_files(images, labels, instances, os.path.join(root, "images", split))


def _split_folders(cfg, phase, train, val, with_instances=True):
    root = _require_dir(cfg.root, "root")
    split = _split_name(phase, train, val)
    images = _by_stem(_require_dir(os.path.join(root, f"{split}_img"), f"root/{split}_img"))
    labels = _by_stem(_require_dir(os.path.join(root, f"{split}_label"), f"root/{split}_label"))
    instance_dir = os.path.join(root, f"{split}_inst")
    instances = None
    if with_instances and cfg.instances_from == "file":
        instances = _by_stem(_require_dir(instance_dir, f"root/{split}_inst"))
    return pair_files(images, labels, instances, os.path.join(root, f"{split}_img"))


def list_coco(cfg, phase):
    return _split_folders(cfg, phase, "train", "val")


def list_deepfashion(cfg, phase):
    return _split_folders(cfg, phase, "train", "test")


def list_celeba(cfg, phase):
    return _split_folders(cfg, phase, "train", "test", with_instances=False)


def list_facades(cfg, phase):
    """CMP Facades: each photo (.jpg) beside its indexed label (.png), in the
    root or its base/ and extended/ folders."""
    root = _require_dir(cfg.root, "root")
    images, labels = {}, {}
    for folder in (root, os.path.join(root, "base"), os.path.join(root, "extended")):
        if os.path.isdir(folder):
            images.update(_by_stem(folder, "*.jpg"))
            labels.update(_by_stem(folder, "*.png"))
            labels.update(_by_stem(folder, "*.bmp"))
    return pair_files(images, labels, None, root)


FORMATS = {
    "folder": Format(None, False, None, 0, list_folder),
    "cityscapes": Format(35, False, None, 0, list_cityscapes, CLASS_NAMES["cityscapes"]),
    "ade20k": Format(150, True, 0, 1, list_ade20k, CLASS_NAMES["ade20k"]),
    "coco": Format(182, True, 255, 0, list_coco, CLASS_NAMES["coco"]),
    "celeba": Format(19, False, None, 0, list_celeba, CLASS_NAMES["celeba"]),
    "deepfashion": Format(8, False, None, 0, list_deepfashion),
    "facades": Format(12, False, None, 1, list_facades, CLASS_NAMES["facades"]),
}


LABEL_RANGE = "label value out of range"


def map_labels(raw: np.ndarray, label_nc: int, contain_dontcare: bool, dontcare_value, offset: int, path: str):
    """Raw label values -> class ids 0..label_nc-1, don't care -> label_nc."""
    label = raw - offset
    dontcare = raw == dontcare_value if dontcare_value is not None else np.zeros(raw.shape, dtype=bool)
    bad = (~dontcare) & ((label < 0) | (label >= label_nc))
    if bad.any():
        value = int(raw[bad][0])
        extra = f" and is not the don't-care value {dontcare_value}" if dontcare_value is not None else ""
        raise BadDataFile(
            path, LABEL_RANGE,
            f"label value {value} is outside the configured label_nc={label_nc}"
            + (f" (values are shifted by {offset})" if offset else "")
            + extra,
        )
    if contain_dontcare:
        label = np.where(dontcare, label_nc, label)
    elif dontcare.any():
        raise BadDataFile(path, LABEL_RANGE, f"don't-care pixels ({dontcare_value}) found, but data.contain_dontcare is false")
    return label.astype(np.int64)
