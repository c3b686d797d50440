"""Read the procedural dataset's truth back from any RGB image.

``segment`` gives the class of each pixel: the class whose hue band centre is
nearest to the pixel's hue (the bands of ``inade.data.procedural`` leave 25+
degrees between neighbours, and every other drawn parameter leaves hue alone).

``instance_appearance`` describes each instance by DESCRIPTOR_FIELDS, each
scaled so that real instances spread uniformly over about [0, 1] (distances
weigh the four equally; generated images may fall outside):

0. hue_offset: mean hue minus the class band's centre, -half width..+half width -> 0..1
1. saturation: mean HSV saturation, SATURATION_RANGE -> 0..1
2. value: mean HSV value (brightness, shading and stripes included), VALUE_RANGE -> 0..1
3. texture: stripe amplitude, sqrt(2) x the standard deviation of value around
   the best linear ramp over the instance (the ramp absorbs the shading),
   TEXTURE_RANGE -> 0..1

An instance's descriptor reads only its own pixels. The statistics of sets of
descriptors (appearance diversity across images of one label map, per-class
spread, same-class independence) and ``miou`` are re-exported here from
``inade.metrics`` so that the evaluation finds every building block in one place.

Images are float in [-1, 1], a batch [B, 3, H, W] or one image [3, H, W]; the
results keep that batch axis or drop it accordingly.
"""
from __future__ import annotations

import numpy as np

from ..metrics.appearance import appearance_diversity, class_spread, instance_independence
from ..metrics.segmentation import segmentation_scores
from .colour import rgb_to_hsv
from .procedural import HUE_BANDS, SATURATION_RANGE, TEXTURE_RANGE, VALUE_RANGE

__all__ = ["DESCRIPTOR_FIELDS", "appearance_diversity", "class_spread", "instance_appearance", "instance_independence",
           "miou", "segment"]

DESCRIPTOR_FIELDS = ("hue_offset", "saturation", "value", "texture")
_CENTRES = np.array([centre for centre, _ in HUE_BANDS])
_HALF_WIDTHS = np.array([half for _, half in HUE_BANDS])


def _hsv(images: np.ndarray):
    """[B, 3, H, W] or [3, H, W] in [-1, 1] -> hue, saturation, value, each [B, H, W]."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images [B, 3, H, W] or [3, H, W], got shape {images.shape}")
    return rgb_to_hsv((images.transpose(0, 2, 3, 1) + 1.0) / 2.0)


def _hue_difference(hue, centres):
    """Signed hue difference in degrees, wrapped to [-180, 180)."""
    return (hue - centres + 180.0) % 360.0 - 180.0


def segment(images: np.ndarray) -> np.ndarray:
    """Class id per pixel -> int64 [B, H, W] (or [H, W] for one image)."""
    hue, _, _ = _hsv(images)
    classes = np.abs(_hue_difference(hue[..., None], _CENTRES)).argmin(axis=-1).astype(np.int64)
    return classes[0] if np.ndim(images) == 3 else classes


def _unit(values, low, high):
    return (values - low) / (high - low)


def instance_appearance(images: np.ndarray, instance: np.ndarray, instance_classes: np.ndarray) -> np.ndarray:
    """Per-instance descriptor float64 [B, K, 4] (DESCRIPTOR_FIELDS; [K, 4] for one image).

    instance: indices 0..K-1, [B, H, W] or [B, 1, H, W] ([H, W] or [1, H, W] for
    one image). instance_classes: [B, K] ([K] for one image), the class of each
    instance, which fixes the hue band to measure against; -1 marks padding (as
    ``collate`` pads), so a batch's ``instance_classes`` also gives each image's
    number of instances. Rows of padding or of instances without pixels are NaN."""
    single = np.ndim(images) == 3
    hue, saturation, value = _hsv(images)
    batch, height, width = hue.shape
    instance = np.asarray(instance).reshape(batch, height, width)
    classes = np.asarray(instance_classes, dtype=np.int64).reshape(batch, -1)  # [B, K]
    num_instances = classes.shape[1]
    inside = (instance >= 0) & (instance < num_instances)
    slot = (np.arange(batch)[:, None, None] * num_instances + instance)[inside]  # flat (b, k) per pixel
    pixel_class = classes.reshape(-1)[slot]
    measured = pixel_class >= 0
    slot, pixel_class = slot[measured], pixel_class[measured]
    ys, xs = np.broadcast_to(np.mgrid[0:height, 0:width] / float(max(height, width)), (batch, 2, height, width)).transpose(1, 0, 2, 3)
    hue_offset = _hue_difference(hue[inside][measured], _CENTRES[pixel_class]) / _HALF_WIDTHS[pixel_class]
    v, y, x = value[inside][measured], ys[inside][measured], xs[inside][measured]

    count = np.bincount(slot, minlength=batch * num_instances)  # [B*K]

    def mean(per_pixel):
        return np.bincount(slot, per_pixel, minlength=batch * num_instances) / np.maximum(count, 1)

    mean_v, mean_y, mean_x = mean(v), mean(y), mean(x)
    # Covariances of position and value per instance; the ramp explains g^T C^+ g of the value variance.
    cov_yy, cov_xx, cov_xy = mean(y * y) - mean_y**2, mean(x * x) - mean_x**2, mean(x * y) - mean_x * mean_y
    var_v = mean(v * v) - mean_v**2
    g = np.stack([mean(v * y) - mean_v * mean_y, mean(v * x) - mean_v * mean_x], axis=-1)[..., None]  # [B*K, 2, 1]
    cov = np.stack([np.stack([cov_yy, cov_xy], -1), np.stack([cov_xy, cov_xx], -1)], -2)  # [B*K, 2, 2]
    explained = (np.swapaxes(g, 1, 2) @ np.linalg.pinv(cov, hermitian=True) @ g)[:, 0, 0]
    residual_std = np.sqrt(np.maximum(var_v - explained, 0.0))
    descriptors = np.stack(
        [
            _unit(mean(hue_offset), -1.0, 1.0),
            _unit(mean(saturation[inside][measured]), *SATURATION_RANGE),
            _unit(mean_v, *VALUE_RANGE),
            _unit(np.sqrt(2.0) * residual_std, *TEXTURE_RANGE),
        ],
        axis=-1,
    ).reshape(batch, num_instances, len(DESCRIPTOR_FIELDS))
    descriptors[count.reshape(batch, num_instances) == 0] = np.nan
    return descriptors[0] if single else descriptors


def miou(pred: np.ndarray, target: np.ndarray, num_classes: int) -> float:
    """Mean intersection over union of integer maps of any (equal) shape, over
    the classes present in target or pred, from one confusion matrix."""
    return segmentation_scores([pred], [target], num_classes)["miou"]
