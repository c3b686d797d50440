"""Pictures for people: colourised label maps, image grids, PNG files."""
from __future__ import annotations

import numpy as np

from .atomic import atomic_path


def label_palette(num_classes: int) -> np.ndarray:
    """A fixed, well-spread colour per class id (the PASCAL VOC bit pattern). [N, 3] uint8."""
    palette = np.zeros((num_classes, 3), dtype=np.uint8)
    for cls in range(num_classes):
        value, r, g, b = cls, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette[cls] = (r, g, b)
    return palette


def colorize_labels(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Class ids [..., H, W] -> RGB uint8 [..., H, W, 3]."""
    palette = label_palette(max(int(num_classes), int(labels.max()) + 1 if labels.size else 1))
    return palette[labels]


def to_uint8_image(image: np.ndarray) -> np.ndarray:
    """[3, H, W] in [-1, 1] -> [H, W, 3] uint8."""
    return np.clip((np.asarray(image).transpose(1, 2, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
    """Tile [H, W, 3] uint8 pictures (same size) into one picture, row by row."""
    height, width = rows[0][0].shape[:2]
    columns = max(len(r) for r in rows)
    canvas = np.full(
        (len(rows) * (height + pad) + pad, columns * (width + pad) + pad, 3), 255, dtype=np.uint8
    )
    for i, row in enumerate(rows):
        for j, picture in enumerate(row):
            top, left = pad + i * (height + pad), pad + j * (width + pad)
            canvas[top : top + height, left : left + width] = picture
    return canvas


def save_png(path: str, picture: np.ndarray) -> None:
    """Write an [H, W, 3] uint8 (or [H, W] index) picture atomically."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
