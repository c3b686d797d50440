"""Semantic consistency from predicted label maps (any external segmenter)."""
from __future__ import annotations

import numpy as np


def segmentation_scores(predictions, targets, num_classes: int, ignore_index: int | None = None) -> dict:
    """mIoU (over classes present in targets or predictions) and pixel accuracy,
    accumulated over pairs of integer maps."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for pred, target in zip(predictions, targets):
        pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
        keep = (target >= 0) & (target < num_classes)
        if ignore_index is not None:
            keep &= target != ignore_index
        pred = np.clip(pred[keep], 0, num_classes - 1)
        confusion += np.bincount(target[keep] * num_classes + pred, minlength=num_classes**2).reshape(num_classes, num_classes)
    intersection = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - intersection
    present = union > 0
    return {
        "miou": float((intersection[present] / union[present]).mean()),
        "pixel_accuracy": float(intersection.sum() / max(confusion.sum(), 1)),
    }
