"""Resize, crop and flip applied identically to an image (bicubic) and its
label and instance maps (nearest), following the reference preprocess modes."""
from __future__ import annotations

import numpy as np


def output_size(crop_size: int, aspect_ratio: float) -> tuple[int, int]:
    """(height, width) of what the networks see."""
    return round(crop_size / aspect_ratio), crop_size


def resized_size(height: int, width: int, mode: str, load_size: int, crop_size: int, aspect_ratio: float):
    """(height, width) after the resize step of ``mode``."""
    if mode == "resize_and_crop":
        return load_size, load_size
    if mode == "scale_width_and_crop":
        return max(1, load_size * height // width), load_size
    if mode == "scale_shortside_and_crop":
        if width <= height:
            return max(1, round(load_size * height / width)), load_size
        return load_size, max(1, round(load_size * width / height))
    if mode == "fixed":
        return output_size(crop_size, aspect_ratio)
    if mode == "none":
        # Keep the size, rounded to multiples of 32 so the generator can mirror it.
        return max(32, round(height / 32) * 32), max(32, round(width / 32) * 32)
    raise ValueError(f"unknown preprocess mode {mode!r}")


def resize_nearest_map(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest (floor rule) resize of an integer map of any dtype."""
    rows = (np.arange(height) * array.shape[0] // height).clip(0, array.shape[0] - 1)
    cols = (np.arange(width) * array.shape[1] // width).clip(0, array.shape[1] - 1)
    return array[rows[:, None], cols[None, :]]


def resize_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BICUBIC))


def resize_and_crop_sizes(height, width, mode, load_size, crop_size, aspect_ratio):
    """((resized height, width), (crop height, width)): the part of a transform
    that does not depend on the random draws."""
    new_h, new_w = resized_size(height, width, mode, load_size, crop_size, aspect_ratio)
    if mode in ("fixed", "none"):
        return (new_h, new_w), (new_h, new_w)
    return (new_h, new_w), output_size(crop_size, aspect_ratio)


def plan_transform(height, width, mode, load_size, crop_size, aspect_ratio, flip_allowed, rng: np.random.Generator):
    """The random choices of one item: resize target, crop corner and size, flip."""
    (new_h, new_w), (crop_h, crop_w) = resize_and_crop_sizes(height, width, mode, load_size, crop_size, aspect_ratio)
    top = int(rng.integers(0, max(0, new_h - crop_h) + 1))
    left = int(rng.integers(0, max(0, new_w - crop_w) + 1))
    flip = bool(flip_allowed and rng.random() < 0.5)
    return (new_h, new_w), (top, left, crop_h, crop_w), flip


def crop_or_pad(array, top, left, crop_h, crop_w, fill):
    out = array[top : top + crop_h, left : left + crop_w]
    if out.shape[:2] != (crop_h, crop_w):  # smaller than the crop: pad bottom/right
        padded = np.full((crop_h, crop_w) + array.shape[2:], fill, dtype=array.dtype)
        padded[: out.shape[0], : out.shape[1]] = out
        out = padded
    return out


def apply_transform(image, maps, plan, map_fill):
    """image [H, W, 3] uint8; maps: list of [H, W] integer maps (label, raw instances)."""
    (new_h, new_w), (top, left, crop_h, crop_w), flip = plan
    image = crop_or_pad(resize_image(image, new_h, new_w), top, left, crop_h, crop_w, 0)
    maps = [
        crop_or_pad(resize_nearest_map(m, new_h, new_w), top, left, crop_h, crop_w, fill)
        for m, fill in zip(maps, map_fill)
    ]
    if flip:
        image = image[:, ::-1]
        maps = [m[:, ::-1] for m in maps]
    return np.ascontiguousarray(image), [np.ascontiguousarray(m) for m in maps]
