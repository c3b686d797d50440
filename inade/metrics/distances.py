"""Distances between feature distributions (FID, KID) and pixel diversity."""
from __future__ import annotations

import numpy as np
from scipy import linalg


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)), the FID formula."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        # Singular product: regularise both covariances slightly.
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def kernel_inception_distance(features1: np.ndarray, features2: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
    averaged over random subsets. Returns (mean, std)."""
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(features1), len(features2))
    dim = features1.shape[1]
    values = []
    for _ in range(subsets):
        x = features1[rng.choice(len(features1), size, replace=False)].astype(np.float64)
        y = features2[rng.choice(len(features2), size, replace=False)].astype(np.float64)
        kxx = (x @ x.T / dim + 1) ** 3
        kyy = (y @ y.T / dim + 1) ** 3
        kxy = (x @ y.T / dim + 1) ** 3
        off = ~np.eye(size, dtype=bool)
        values.append(kxx[off].mean() + kyy[off].mean() - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def mean_pairwise_l1(images: np.ndarray) -> float:
    """Mean L1 distance between every pair of images [S, ...] (a weight-free diversity measure)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    upper = np.triu_indices(len(images), k=1)
    return float(np.abs(flat[:, None] - flat[None]).mean(axis=-1)[upper].mean())
