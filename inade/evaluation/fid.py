"""FID/KID statistics: computing, caching and reading reference statistics."""
from __future__ import annotations

import io
import os

import numpy as np

from ..atomic import atomic_write_bytes
from ..checkpoints.numpy_files import read_npy, read_npz
from ..errors import CheckpointError, InadeError
from ..metrics.distances import frechet_distance, kernel_inception_distance


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def save_statistics(path: str, mu: np.ndarray, sigma: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=mu, sigma=sigma)
    atomic_write_bytes(path, buffer.getvalue())


def load_statistics(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A cached ``.npz`` (mu, sigma), or a folder with the authors' m.npy and s.npy,
    read without pickle and with every declared size checked against the file."""
    if os.path.isdir(path):
        m, s = os.path.join(path, "m.npy"), os.path.join(path, "s.npy")
        if not (os.path.isfile(m) and os.path.isfile(s)):
            raise InadeError(f"{path} holds no m.npy and s.npy reference statistics")
        mu, sigma = read_npy(m), read_npy(s)
    else:
        arrays = read_npz(path, ("mu", "sigma"))
        mu, sigma = arrays["mu"], arrays["sigma"]
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise CheckpointError(f"{path}: FID statistics need a mean [D] and a covariance [D, D], "
                         f"got {list(mu.shape)} and {list(sigma.shape)}")
    return mu, sigma


def fid_and_kid(fake_features: np.ndarray, real_features: np.ndarray) -> dict:
    fid = frechet_distance(*statistics(fake_features), *statistics(real_features))
    kid, kid_std = kernel_inception_distance(fake_features, real_features)
    return {"fid": fid, "kid": kid, "kid_std": kid_std}
