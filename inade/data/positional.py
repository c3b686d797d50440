"""CLADE's intra-class positional map: where each pixel sits inside its
connected class region, as offsets from the region's centroid."""
from __future__ import annotations

import cv2
import numpy as np


def class_positional_map(label: np.ndarray, ignore: int | None = None) -> np.ndarray:
    """label [H, W] class ids -> [2, H, W] float32 (row offset, column offset).

    Every connected region (8-connectivity) of every class gets its pixels'
    offsets from the region's centroid, each axis divided by the region's
    largest absolute offset on that axis, so values lie in [-1, 1] whatever
    the region's size. Pixels of the ``ignore`` class stay 0 (see
    ``unmapped_class``).
    """
    label = np.asarray(label)
    height, width = label.shape
    offsets = np.zeros((2, height * width), np.float64)
    rows, cols = np.divmod(np.arange(height * width), width)
    for cls in np.unique(label):
        if ignore is not None and cls == ignore:
            continue
        count, regions = cv2.connectedComponents((label == cls).astype(np.uint8), connectivity=8)
        regions = regions.reshape(-1)
        inside = regions > 0
        region = regions[inside]
        sizes = np.bincount(region, minlength=count)[1:].astype(np.float64)
        for axis, coords in enumerate((rows[inside], cols[inside])):
            centroid = np.bincount(region, weights=coords, minlength=count)[1:] / sizes  # [regions]
            offset = coords - centroid[region - 1]
            reach = np.zeros(count - 1)
            np.maximum.at(reach, region - 1, np.abs(offset))
            offsets[axis, inside] = offset / (reach[region - 1] + 1e-5)
    return offsets.reshape(2, height, width).astype(np.float32)


def unmapped_class(data_cfg, label_nc: int, contain_dontcare: bool) -> int | None:
    """The class whose pixels the authors leave out of the positional map: they
    skip raw label value 0 of the label files. That is class 0 for datasets
    whose labels start at 0 (Cityscapes' "unlabeled", but also COCO-Stuff's
    "person"; kept so that converted CLADE-ICPE models see the maps they were
    trained with), and the don't-care class where raw 0 means unlabelled (ADE20K)."""
    from .formats import FORMATS

    offset = FORMATS[data_cfg.type].label_offset if data_cfg.type in FORMATS else 0
    if offset == 0:
        return 0
    return label_nc if contain_dontcare else None


def positional_maps(labels: np.ndarray, ignore: int | None = None) -> np.ndarray:
    """labels [B, 1, H, W] -> [B, 2, H, W]."""
    return np.stack([class_positional_map(label[0], ignore) for label in np.asarray(labels)])


def dataset_positional_maps(labels: np.ndarray, data_cfg, label_nc: int, contain_dontcare: bool) -> np.ndarray:
    """positional_maps of labels [B, 1, H, W] leaving out the dataset's unmapped class."""
    return positional_maps(labels, unmapped_class(data_cfg, label_nc, contain_dontcare))
