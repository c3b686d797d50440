"""Instance-level style statistics over appearance descriptors (e.g. those of
``inade.data.oracle``): arrays [S, K, D] hold S images of one label map with
K instances each; classes [K] give each instance's class."""
from __future__ import annotations

import numpy as np

from .distances import frechet_distance


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


def _same_class_pairs(descriptors: np.ndarray, classes: np.ndarray):
    """(a, b) descriptors [S, D] of every pair of same-class instances measured in all S images."""
    for i in range(len(classes)):
        for j in range(i + 1, len(classes)):
            a, b = descriptors[:, i], descriptors[:, j]
            if classes[i] == classes[j] and np.isfinite(a).all() and np.isfinite(b).all():
                yield a, b


def appearance_diversity(descriptors: np.ndarray) -> float:
    """Mean over instances of the mean pairwise distance of that instance's
    descriptor across the S images: how much an instance's style varies."""
    samples, instances, _ = descriptors.shape
    if samples < 2:
        raise ValueError("diversity needs at least 2 images of the label map")
    upper = np.triu_indices(samples, k=1)
    values = [_pairwise(descriptors[:, k], descriptors[:, k])[upper].mean() for k in range(instances)
              if np.isfinite(descriptors[:, k]).all()]
    return float(np.mean(values))


def instance_independence(descriptors: np.ndarray, classes: np.ndarray) -> float:
    """Distance between two same-class instances within one image, divided by
    the distance between the same two instances taken from different images.
    About 1 when every instance draws its own style; 0 when all instances of a
    class share one style. NaN without a same-class pair."""
    samples = descriptors.shape[0]
    within, across = [], []
    for a, b in _same_class_pairs(descriptors, classes):
        distances = _pairwise(a, b)  # [S, S]
        within.append(np.diag(distances).mean())
        across.append(distances[~np.eye(samples, dtype=bool)].mean())
    if not within:
        return float("nan")
    return float(np.mean(within) / max(np.mean(across), 1e-12))


def instance_covariation(descriptors: np.ndarray, classes: np.ndarray) -> float:
    """How much two same-class instances of one label map change together
    across the S images: the mean over same-class pairs of |correlation|
    between their deviations from their own means. 0 when each instance
    draws its own style, 1 when a shared code moves them in step (as an
    image-level z does), whatever fixed differences the two keep. NaN
    without a same-class pair that varies."""
    values = []
    for a, b in _same_class_pairs(descriptors, classes):
        a, b = a - a.mean(axis=0), b - b.mean(axis=0)
        scale = np.sqrt((a * a).sum() * (b * b).sum())
        if scale > 1e-12:
            values.append(abs((a * b).sum()) / scale)
    return float(np.mean(values)) if values else float("nan")


def class_spread(descriptors: np.ndarray, classes: np.ndarray) -> float:
    """Mean distance between two instances of the same class, over a pool of
    instances (descriptors [N, D], classes [N]): the scale of style variation."""
    values = []
    for cls in np.unique(classes):
        pool = descriptors[(classes == cls) & np.isfinite(descriptors).all(axis=1)]
        if len(pool) >= 2:
            values.append(_pairwise(pool, pool)[np.triu_indices(len(pool), k=1)].mean())
    return float(np.mean(values))


def reconstruction_error(reconstructed: np.ndarray, real: np.ndarray) -> float:
    """Mean distance between matching instances' descriptors ([N, D] each)."""
    keep = np.isfinite(reconstructed).all(axis=1) & np.isfinite(real).all(axis=1)
    return float(np.linalg.norm(reconstructed[keep] - real[keep], axis=1).mean())


def style_distribution_distance(fake: np.ndarray, fake_classes: np.ndarray, real: np.ndarray, real_classes: np.ndarray) -> float:
    """Mean over classes of the Frechet distance between the Gaussians fitted to
    fake and real descriptors of that class."""
    values = []
    for cls in np.intersect1d(np.unique(fake_classes), np.unique(real_classes)):
        f = fake[(fake_classes == cls) & np.isfinite(fake).all(axis=1)]
        r = real[(real_classes == cls) & np.isfinite(real).all(axis=1)]
        if len(f) > f.shape[1] and len(r) > r.shape[1]:
            values.append(frechet_distance(f.mean(0), np.cov(f, rowvar=False), r.mean(0), np.cov(r, rowvar=False)))
    return float(np.mean(values))
