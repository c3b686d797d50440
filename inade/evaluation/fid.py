"""FID and KID between the Inception features of generated and real images,
both computed in the same evaluation."""
from __future__ import annotations

import numpy as np

from ..metrics.distances import frechet_distance, kernel_inception_distance


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def fid_and_kid(fake_features: np.ndarray, real_features: np.ndarray) -> dict:
    fid = frechet_distance(*statistics(fake_features), *statistics(real_features))
    kid, kid_std = kernel_inception_distance(fake_features, real_features)
    return {"fid": fid, "kid": kid, "kid_std": kid_std}
