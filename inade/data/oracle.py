"""Read the procedural dataset's truth back from any RGB image.

``segment`` gives the class of each pixel (nearest hue band); the
``instance_appearance`` descriptor summarises each instance's drawn appearance
in four dimensions on comparable scales:

0. hue offset from the class band's centre, in band half-widths (about -1..1)
1. mean saturation (0..1)
2. mean value, i.e. brightness (0..1)
3. texture contrast: 4 x the standard deviation of value around the best
   linear ramp over the instance (the ramp absorbs the shading), about 0..0.4

These are pure numpy functions over images in [-1, 1], [B, 3, H, W] or [3, H, W].
"""
from __future__ import annotations

import numpy as np

from .colour import rgb_to_hsv
from .procedural import HUE_BANDS

DESCRIPTOR_FIELDS = ("hue_offset", "saturation", "value", "texture")
_CENTRES = np.array([centre for centre, _ in HUE_BANDS])
_HALF_WIDTHS = np.array([half for _, half in HUE_BANDS])


def _hsv(images: np.ndarray):
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images[None]
    return rgb_to_hsv((images.transpose(0, 2, 3, 1) + 1.0) / 2.0)


def _hue_difference(hue, centres):
    return (hue[..., None] - centres + 180.0) % 360.0 - 180.0


def segment(images: np.ndarray) -> np.ndarray:
    """Class id per pixel: the class whose hue band centre is nearest. -> int64 [B, H, W]."""
    hue, _, _ = _hsv(images)
    return np.abs(_hue_difference(hue, _CENTRES)).argmin(axis=-1).astype(np.int64)


def instance_appearance(images: np.ndarray, instance: np.ndarray, instance_classes: np.ndarray) -> np.ndarray:
    """Per-instance descriptor [B, K, 4] (NaN rows for instances with no pixel).

    instance: [B, H, W] or [B, 1, H, W] indices 0..K-1; instance_classes [B, K]
    (the class of each instance, which fixes the hue band to measure against)."""
    hue, saturation, value = _hsv(images)
    instance = np.asarray(instance)
    if instance.ndim == 4:
        instance = instance[:, 0]
    classes = np.atleast_2d(np.asarray(instance_classes))
    batch, num_instances = classes.shape
    height, width = instance.shape[1:]
    ys, xs = np.mgrid[0:height, 0:width]
    descriptors = np.full((batch, num_instances, 4), np.nan)
    for b in range(batch):
        for k in range(num_instances):
            mask = instance[b] == k
            if not mask.any() or classes[b, k] < 0:
                continue
            cls = int(classes[b, k])
            offset = _hue_difference(hue[b][mask], np.array([_CENTRES[cls]]))[:, 0]
            values = value[b][mask]
            design = np.stack([np.ones(mask.sum()), ys[mask] / height, xs[mask] / width], axis=1)
            coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
            residual = values - design @ coefficients
            descriptors[b, k] = (
                offset.mean() / _HALF_WIDTHS[cls],
                saturation[b][mask].mean(),
                values.mean(),
                4.0 * residual.std(),
            )
    return descriptors


def miou(pred: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """Mean intersection over union over the classes present in target or pred."""
    from ..metrics.segmentation import segmentation_scores

    return segmentation_scores([pred], [target], num_classes)["miou"]
