"""Instance maps of any encoding -> per-image indices 0..K-1, with the raw id
and class of each index."""
from __future__ import annotations

import numpy as np

from ..errors import BadDataFile

TOO_MANY_INSTANCES = "more instances than data.max_instances"


def instances_from_components(label: np.ndarray) -> np.ndarray:
    """One instance per 8-connected region of each class; raw id = class * 1000 + k."""
    import cv2

    raw = np.zeros(label.shape, dtype=np.int64)
    for cls in np.unique(label):
        count, regions = cv2.connectedComponents((label == cls).astype(np.uint8), connectivity=8)
        mask = regions > 0
        raw[mask] = int(cls) * 1000 + regions[mask] - 1
    return raw


def number_instances(raw: np.ndarray, label: np.ndarray, num_labels: int):
    """(index map [H, W] int64, raw ids [K], classes [K], areas [K]); the class
    of an instance is its most frequent label."""
    ids, index = np.unique(raw, return_inverse=True)
    index = index.reshape(raw.shape).astype(np.int64)
    joint = np.bincount(index.ravel() * num_labels + label.ravel(), minlength=len(ids) * num_labels)
    joint = joint.reshape(len(ids), num_labels)
    return index, ids.astype(np.int64), joint.argmax(axis=1).astype(np.int64), joint.sum(axis=1)


def limit_instances(index, ids, classes, areas, max_instances: int, merge: bool, path: str):
    """Enforce max_instances: an error naming the file, or (merge) fold the
    smallest extra instances into one per class."""
    if len(ids) <= max_instances:
        return index, ids, classes
    if not merge:
        raise BadDataFile(
            path, TOO_MANY_INSTANCES,
            f"{len(ids)} instances, more than data.max_instances={max_instances} "
            "(raise it, or set data.merge_extra_instances: true to merge the smallest ones per class)",
        )
    order = np.argsort(-areas, kind="stable")
    keep = max_instances
    while keep > 0 and keep + len(np.unique(classes[order[keep:]])) > max_instances:
        keep -= 1
    if keep + len(np.unique(classes[order[keep:]])) > max_instances:
        raise BadDataFile(path, TOO_MANY_INSTANCES,
                          f"even merged per class, its instances exceed data.max_instances={max_instances}")
    target = np.arange(len(ids))
    for cls in np.unique(classes[order[keep:]]):
        members = [i for i in order[keep:] if classes[i] == cls]
        target[members] = members[0]  # the largest of the merged ones names the group
    survivors, new_index = np.unique(target, return_inverse=True)
    return new_index[index], ids[survivors], classes[survivors]
