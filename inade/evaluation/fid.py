"""FID/KID statistics: computing, caching and reading reference statistics."""
from __future__ import annotations

import io
import os

import numpy as np

from ..atomic import atomic_write_bytes
from ..errors import InadeError
from ..metrics.distances import frechet_distance, kernel_inception_distance


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def save_statistics(path: str, mu: np.ndarray, sigma: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, mu=mu, sigma=sigma)
    atomic_write_bytes(path, buffer.getvalue())


def load_statistics(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A cached ``.npz`` (mu, sigma), or a folder with the authors' m.npy and s.npy."""
    if os.path.isdir(path):
        m, s = os.path.join(path, "m.npy"), os.path.join(path, "s.npy")
        if not (os.path.isfile(m) and os.path.isfile(s)):
            raise InadeError(f"{path} holds no m.npy and s.npy reference statistics")
        return np.load(m), np.load(s)
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("expected an .npz with mu and sigma")
        return data["mu"], data["sigma"]
    except (OSError, KeyError, ValueError) as error:
        raise InadeError(f"cannot read FID statistics {path}: {error}") from None


def fid_and_kid(fake_features: np.ndarray, real_features: np.ndarray) -> dict:
    fid = frechet_distance(*statistics(fake_features), *statistics(real_features))
    kid, kid_std = kernel_inception_distance(fake_features, real_features)
    return {"fid": fid, "kid": kid, "kid_std": kid_std}
