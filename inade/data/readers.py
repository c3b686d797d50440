"""Decoding image, label and instance files, with clear errors.

Every image the project reads goes through here, so that one pixel limit
bounds the memory a file can make it allocate: the size is read from the
header and checked before any pixel is decoded.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from ..errors import BadDataFile

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_MAX_PIXELS = 50_000_000
LIMIT_SETTINGS = "data.max_image_pixels / --max-pixels"
# Lossy codecs change pixel values at region borders: ids would change with them.
LOSSY_FORMATS = ("JPEG", "MPO")

# Problem kinds (BadDataFile.kind) of the files this module reads.
UNREADABLE = "unreadable or truncated file"
TOO_LARGE = "image over the pixel limit"
NOT_INDEX_MAP = "label/instance map that is not an index map"


def _amount(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels" if pixels >= 100_000 else f"{pixels} pixels"


def _over_limit(path: str, width: int | None, height: int | None, pixels: int, limit: int) -> BadDataFile:
    size = f"{width}x{height} pixels ({_amount(pixels)})" if width else _amount(pixels)
    return BadDataFile(path, TOO_LARGE, f"{size} is over the limit of {_amount(limit)} ({LIMIT_SETTINGS})")


def _open(path: str, max_pixels: int):
    """The opened picture, its pixels decoded only once its header's size is
    known to be within ``max_pixels``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit; the check below decides instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(path)
    except FileNotFoundError:
        raise BadDataFile(path, UNREADABLE, "file not found") from None
    except Image.DecompressionBombError as error:
        # Pillow refuses sizes above twice its limit before we see the header's size.
        found = re.search(r"\((\d+) pixels\)", str(error))
        pixels = int(found.group(1)) if found else 0
        if pixels > max_pixels:
            raise _over_limit(path, None, None, pixels, max_pixels) from None
        raise BadDataFile(path, TOO_LARGE, f"Pillow refuses it as a possible decompression bomb ({error})") from None
    except UnidentifiedImageError:
        raise BadDataFile(path, UNREADABLE, "not an image file (or of a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise BadDataFile(path, UNREADABLE, f"cannot read the image ({error})") from None
    width, height = picture.size
    if width * height > max_pixels:
        picture.close()
        raise _over_limit(path, width, height, width * height, max_pixels)
    try:
        picture.load()
    except (OSError, SyntaxError, ValueError, MemoryError) as error:
        picture.close()
        raise BadDataFile(path, UNREADABLE, f"cannot read the image ({error})") from None
    return picture


def read_rgb(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """[H, W, 3] uint8."""
    return np.asarray(_open(path, max_pixels).convert("RGB"))


def read_index_map(path: str, what: str = "label", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An index map (8-bit, palette or 16/32-bit PNG) -> int64 [H, W].

    A colour image is refused: its pixels are colours, not ids; so is a JPEG,
    whose compression changes the ids."""
    picture = _open(path, max_pixels)
    if picture.format in LOSSY_FORMATS:
        raise BadDataFile(
            path, NOT_INDEX_MAP, f"a {picture.format} file, but {what} maps must be stored losslessly "
            "(its compression changes the ids at every region border); save the ids as a PNG"
        )
    if picture.mode in ("RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        array = np.asarray(picture.convert("RGB"))
        if np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2]):
            return array[..., 0].astype(np.int64)  # grey stored as RGB: the ids are the grey levels
        raise BadDataFile(
            path, NOT_INDEX_MAP,
            f"a colour ({picture.mode}) image, but {what} maps must be index maps with one id per pixel "
            "(8-bit grey, palette or 16-bit PNG); convert the colours to ids first (e.g. map each palette colour "
            "to its class index and save as an 8-bit PNG)"
        )
    if picture.mode == "LA":
        picture = picture.getchannel(0)
    return np.asarray(picture).astype(np.int64)
