"""Per-instance colour statistics of images, for any dataset: what the
procedural oracle measures with its known appearance model, reduced to what
every photo has (the colour of an instance's pixels)."""
from __future__ import annotations

import numpy as np

COLOUR_FIELDS = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b")


def instance_colour_statistics(images: np.ndarray, instance: np.ndarray, num_instances: int) -> np.ndarray:
    """Mean and standard deviation of each channel over each instance's pixels
    -> float64 [S, K, 6] (COLOUR_FIELDS, in [0, 1] for images in [-1, 1]).

    images: [S, 3, H, W] in [-1, 1], all of one label map; instance: [H, W]
    indices 0..K-1 (others ignored). Instances without pixels are NaN."""
    images = (np.asarray(images, dtype=np.float64) + 1.0) / 2.0
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images [S, 3, H, W], got shape {images.shape}")
    instance = np.asarray(instance).reshape(images.shape[2:])
    inside = (instance >= 0) & (instance < num_instances)
    slot = instance[inside]
    count = np.bincount(slot, minlength=num_instances).astype(np.float64)  # [K]
    pixels = images[:, :, inside]  # [S, 3, P]
    out = np.empty((len(images), num_instances, 2, 3))
    for s in range(len(images)):
        for c in range(3):
            total = np.bincount(slot, pixels[s, c], minlength=num_instances)
            squares = np.bincount(slot, pixels[s, c] ** 2, minlength=num_instances)
            mean = total / np.maximum(count, 1)
            out[s, :, 0, c] = mean
            out[s, :, 1, c] = np.sqrt(np.maximum(squares / np.maximum(count, 1) - mean**2, 0.0))
    out = out.reshape(len(images), num_instances, len(COLOUR_FIELDS))
    out[:, count == 0] = np.nan
    return out
