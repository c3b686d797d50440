"""The built-in procedural dataset: scenes drawn from a seed, no files needed.

Two stuff classes (sky above a random horizon, ground below it) and four thing
classes (discs, boxes, diamonds, poles; 2-6 things per image, overlapping).
Every instance draws its own appearance inside its class's colour family:

- hue: an offset inside the class's hue band (bands are 25+ degrees apart, so
  the class of a pixel can be read back from its colour)
- saturation and value (brightness)
- shading: a linear brightness ramp in a random direction
- texture: sine stripes of random orientation, period and contrast

Item i is a pure function of (seed, i); ``variant`` redraws only the
appearances, keeping the layout, which gives several real photos of one label
map. ``inade.data.oracle`` reads classes and appearances back from RGB.
"""
from __future__ import annotations

import os

import numpy as np
from paddle.io import Dataset

from ..errors import DataError
from .colour import hsv_to_rgb

CLASS_NAMES = ("sky", "ground", "disc", "box", "diamond", "pole")
STUFF_CLASSES = (0, 1)
THING_CLASSES = (2, 3, 4, 5)
# Hue band (centre, half width) per class, in degrees.
HUE_BANDS = ((220.0, 12.0), (115.0, 12.0), (0.0, 12.0), (52.0, 10.0), (290.0, 12.0), (170.0, 10.0))
SATURATION_RANGE = (0.5, 0.95)
VALUE_RANGE = (0.45, 0.95)
SHADING_RANGE = 0.25
TEXTURE_RANGE = (0.0, 0.12)
# Appearance parameters of one instance, in this order.
APPEARANCE_FIELDS = ("hue_offset", "saturation", "value", "shading", "shading_angle", "texture", "texture_angle", "texture_period")


def _draw_appearance(rng: np.random.Generator, cls: int) -> np.ndarray:
    half_width = HUE_BANDS[cls][1]
    return np.array(
        [
            rng.uniform(-half_width, half_width),
            rng.uniform(*SATURATION_RANGE),
            rng.uniform(*VALUE_RANGE),
            rng.uniform(-SHADING_RANGE, SHADING_RANGE),
            rng.uniform(0, 2 * np.pi),
            rng.uniform(*TEXTURE_RANGE),
            rng.uniform(0, np.pi),
            rng.uniform(6.0, 12.0),
        ]
    )


def _thing_mask(rng: np.random.Generator, cls: int, size: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    scale = size / 64.0
    cy, cx = rng.uniform(0.2, 0.85) * size, rng.uniform(0.1, 0.9) * size
    if cls == 2:  # disc
        radius = rng.uniform(6, 13) * scale
        return (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2
    if cls == 3:  # box
        half_h, half_w = rng.uniform(5, 12, size=2) * scale
        return (np.abs(ys - cy) <= half_h) & (np.abs(xs - cx) <= half_w)
    if cls == 4:  # diamond
        half_h, half_w = rng.uniform(6, 14, size=2) * scale
        return np.abs(ys - cy) / half_h + np.abs(xs - cx) / half_w <= 1.0
    half_w, half_h = rng.uniform(2, 4) * scale, rng.uniform(9, 16) * scale  # pole
    return (np.abs(ys - cy) <= half_h) & (np.abs(xs - cx) <= half_w)


class ProceduralDataset(Dataset):
    """Procedural scenes following the sample contract of ``inade.data.base``."""

    class_names = CLASS_NAMES
    label_nc = len(CLASS_NAMES)
    contain_dontcare = False

    def __init__(self, size: int = 64, num_samples: int = 2000, seed: int = 0, min_area: int = 20, max_things: int = 6):
        if size < 16:
            raise DataError(f"procedural size must be at least 16 pixels, got {size}")
        if num_samples < 1:
            raise DataError(f"procedural num_samples must be positive, got {num_samples}")
        self.size = size
        self.num_samples = num_samples
        self.seed = seed
        self.min_area = min_area
        self.max_things = max(2, max_things)
        self._ys, self._xs = np.mgrid[0:size, 0:size].astype(np.float64)

    def __len__(self) -> int:
        return self.num_samples

    def layout(self, index: int):
        """(label [H, W], instance raw ids [H, W], raw ids in draw order, their classes)."""
        rng = np.random.default_rng([self.seed, index, 0])
        size, ys, xs = self.size, self._ys, self._xs
        horizon = size * rng.uniform(0.3, 0.6) + (xs - size / 2) * rng.uniform(-0.3, 0.3)
        below = ys >= horizon
        shapes = []
        counts = {}
        for _ in range(rng.integers(2, self.max_things + 1)):
            cls = int(rng.choice(THING_CLASSES))
            raw_id = cls * 1000 + counts.get(cls, 0)
            counts[cls] = counts.get(cls, 0) + 1
            shapes.append((raw_id, cls, _thing_mask(rng, cls, size, ys, xs)))
        # Drop things whose visible part is too small to measure, then redraw without them.
        while True:
            label = np.where(below, 1, 0).astype(np.int64)
            instance = label.copy()
            for raw_id, cls, mask in shapes:
                label[mask] = cls
                instance[mask] = raw_id
            areas = {raw_id: int((instance == raw_id).sum()) for raw_id, _, _ in shapes}
            small = [raw_id for raw_id, area in areas.items() if area < self.min_area]
            if not small:
                break
            shapes = [s for s in shapes if s[0] not in small]
        present = [i for i in (0, 1) if (instance == i).any()] + [s[0] for s in shapes]
        classes = [i if i < 1000 else i // 1000 for i in present]
        return label, instance, present, classes

    def appearances(self, index: int, variant: int = 0) -> dict[int, np.ndarray]:
        """Raw instance id -> its appearance parameters (APPEARANCE_FIELDS)."""
        _, _, raw_ids, classes = self.layout(index)
        rng = np.random.default_rng([self.seed, index, 1, variant])
        return {raw_id: _draw_appearance(rng, cls) for raw_id, cls in zip(raw_ids, classes)}

    def render(self, instance: np.ndarray, raw_ids, classes, appearances: dict) -> np.ndarray:
        """RGB [3, H, W] in [-1, 1] of a layout with the given appearances."""
        ys, xs = self._ys / self.size, self._xs / self.size
        hue = np.zeros(instance.shape)
        sat = np.zeros(instance.shape)
        val = np.zeros(instance.shape)
        for raw_id, cls in zip(raw_ids, classes):
            mask = instance == raw_id
            hue_offset, saturation, value, shading, shading_angle, texture, texture_angle, period = appearances[raw_id]
            ramp = (ys - 0.5) * np.sin(shading_angle) + (xs - 0.5) * np.cos(shading_angle)
            phase = (self._ys * np.sin(texture_angle) + self._xs * np.cos(texture_angle)) * (2 * np.pi / period)
            pixel_value = value * (1.0 + shading * ramp) + texture * np.sin(phase)
            hue[mask] = HUE_BANDS[cls][0] + hue_offset
            sat[mask] = saturation
            val[mask] = pixel_value[mask]
        rgb = hsv_to_rgb(hue, sat, np.clip(val, 0.0, 1.0))  # [H, W, 3]
        return (rgb.transpose(2, 0, 1) * 2.0 - 1.0).astype(np.float32)

    def generate(self, index: int, variant: int = 0) -> dict:
        label, raw_instance, raw_ids, classes = self.layout(index)
        image = self.render(raw_instance, raw_ids, classes, self.appearances(index, variant))
        ids = np.array(sorted(raw_ids), dtype=np.int64)
        instance = np.searchsorted(ids, raw_instance)  # raw id -> 0..K-1
        class_of = dict(zip(raw_ids, classes))
        return {
            "image": image,
            "label": label[None],
            "instance": instance[None].astype(np.int64),
            "instance_ids": ids,
            "instance_classes": np.array([class_of[i] for i in ids], dtype=np.int64),
            "path": f"procedural/{self.seed}/{index:06d}" + (f"-v{variant}" if variant else ""),
        }

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        return self.generate(int(index))


def export_procedural(out_dir: str, num_samples: int, size: int = 64, seed: int = 0) -> str:
    """Write samples in the generic folder layout: images/*.png, labels/*.png
    (8-bit class ids), instances/*.png (16-bit raw instance ids)."""
    from PIL import Image

    from ..atomic import atomic_path

    if os.path.exists(out_dir) and os.listdir(out_dir):
        raise DataError(f"refusing to export into {out_dir}: the folder is not empty")
    dataset = ProceduralDataset(size=size, num_samples=num_samples, seed=seed)
    folders = {name: os.path.join(out_dir, name) for name in ("images", "labels", "instances")}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)
    for index in range(num_samples):
        label, raw_instance, _, _ = dataset.layout(index)
        image = ((dataset[index]["image"].transpose(1, 2, 0) + 1.0) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
        stem = f"{index:06d}.png"
        for folder, picture in (
            (folders["images"], Image.fromarray(image)),
            (folders["labels"], Image.fromarray(label.astype(np.uint8))),
            (folders["instances"], Image.fromarray(raw_instance.astype(np.uint16))),
        ):
            with atomic_path(os.path.join(folder, stem)) as tmp:
                picture.save(tmp, format="PNG")
    return out_dir
