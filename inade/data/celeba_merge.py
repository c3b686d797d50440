"""Merge CelebAMask-HQ's per-part masks into one label map per image.

The release keeps one binary mask per face part, ``{idx:05d}_{part}.png``, in
numbered folders (``CelebAMask-HQ-mask-anno/0 .. 14``). Parts are painted in
the standard order (``CELEBA`` in inade.data.classes, background = 0), later
parts over earlier ones.
"""
from __future__ import annotations

import glob
import os
import re

import numpy as np

from ..errors import DataError
from .classes import CELEBA

_MASK_NAME = re.compile(r"^(\d+)_(.+)\.png$")


def find_part_masks(anno_dir: str) -> dict[int, dict[str, str]]:
    """Image index -> {part name: mask path}."""
    if not os.path.isdir(anno_dir):
        raise DataError(f"CelebAMask-HQ mask folder not found: {anno_dir}")
    masks: dict[int, dict[str, str]] = {}
    unknown = set()
    for path in glob.glob(os.path.join(anno_dir, "*", "*.png")) + glob.glob(os.path.join(anno_dir, "*.png")):
        match = _MASK_NAME.match(os.path.basename(path))
        if not match:
            continue
        index, part = int(match.group(1)), match.group(2)
        if part not in CELEBA:
            unknown.add(part)
            continue
        masks.setdefault(index, {})[part] = path
    if unknown:
        raise DataError(f"{anno_dir} has masks of unknown parts {sorted(unknown)[:5]}; expected parts {CELEBA[1:]}")
    if not masks:
        raise DataError(f"no part masks named like 00000_skin.png under {anno_dir}")
    return masks


def merge_masks(parts: dict[str, str]) -> np.ndarray:
    """One image's part masks -> uint8 label map."""
    from .readers import read_index_map

    label = None
    for class_id, part in enumerate(CELEBA[1:], start=1):
        if part not in parts:
            continue
        mask = read_index_map(parts[part], "mask") > 0
        if label is None:
            label = np.zeros(mask.shape, dtype=np.uint8)
        elif mask.shape != label.shape:
            raise DataError(f"{parts[part]} is {mask.shape[1]}x{mask.shape[0]}, other parts are {label.shape[1]}x{label.shape[0]}")
        label[mask] = class_id
    return label


def merge_celeba_masks(anno_dir: str, out_dir: str) -> int:
    """Write ``out_dir/{idx}.png`` for every image; returns how many. ``out_dir``
    must be new or empty (nothing is overwritten); the release is only read."""
    from PIL import Image

    from ..atomic import atomic_path

    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise DataError(f"refusing to write into {out_dir}: the folder is not empty")
    masks = find_part_masks(anno_dir)
    os.makedirs(out_dir, exist_ok=True)
    for index in sorted(masks):
        with atomic_path(os.path.join(out_dir, f"{index}.png")) as tmp:
            Image.fromarray(merge_masks(masks[index])).save(tmp, format="PNG")
    return len(masks)
