"""HSV <-> RGB on numpy arrays (channels last), hue in degrees."""
from __future__ import annotations

import numpy as np


def hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray, value: np.ndarray) -> np.ndarray:
    """hue in degrees, saturation and value in [0, 1] (same shapes) -> [..., 3] in [0, 1]."""
    h = (np.asarray(hue, dtype=np.float64) % 360.0) / 60.0
    chroma = value * saturation
    x = chroma * (1.0 - np.abs(h % 2.0 - 1.0))
    zero = np.zeros_like(chroma)
    sector = np.floor(h).astype(np.int64) % 6
    r = np.choose(sector, [chroma, x, zero, zero, x, chroma])
    g = np.choose(sector, [x, chroma, chroma, x, zero, zero])
    b = np.choose(sector, [zero, zero, x, chroma, chroma, x])
    m = value - chroma
    return np.stack([r + m, g + m, b + m], axis=-1)


def rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[..., 3] in [0, 1] -> (hue degrees, saturation, value)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    value = rgb.max(axis=-1)
    chroma = value - rgb.min(axis=-1)
    safe = np.where(chroma > 1e-12, chroma, 1.0)
    hue = np.where(
        value == r, ((g - b) / safe) % 6.0, np.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)
    )
    hue = np.where(chroma > 1e-12, hue * 60.0, 0.0)
    saturation = np.where(value > 1e-12, chroma / np.where(value > 1e-12, value, 1.0), 0.0)
    return hue, saturation, value
