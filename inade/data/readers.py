"""Decoding image, label and instance files, with clear errors."""
from __future__ import annotations

import numpy as np

from ..errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _open(path: str):
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(path)
        picture.load()
        return picture
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"cannot read image {path}: {error}") from None


def read_rgb(path: str) -> np.ndarray:
    """[H, W, 3] uint8."""
    return np.asarray(_open(path).convert("RGB"))


def read_index_map(path: str, what: str = "label") -> np.ndarray:
    """An index map (8-bit, palette or 16/32-bit PNG) -> int64 [H, W].

    A colour image is refused: its pixels are colours, not ids."""
    picture = _open(path)
    if picture.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        array = np.asarray(picture.convert("RGB"))
        if np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2]):
            return array[..., 0].astype(np.int64)  # grey stored as RGB: the ids are the grey levels
        raise DataError(
            f"{path} is a colour ({picture.mode}) image, but {what} maps must be index maps with one id per pixel "
            "(8-bit grey, palette or 16-bit PNG); convert the colours to ids first (e.g. map each palette colour "
            "to its class index and save as an 8-bit PNG)"
        )
    if picture.mode == "LA":
        picture = picture.getchannel(0)
    return np.asarray(picture).astype(np.int64)
