"""The built-in procedural dataset: scenes drawn from a seed, no files needed.

Two stuff classes (sky above a random tilted horizon, ground below it) and four
thing classes (discs, boxes, diamonds, poles; 2-6 things per image, several of
one class allowed, later ones drawn on top). Every instance draws its own
appearance inside its class's colour family (APPEARANCE_FIELDS):

- hue_offset: degrees from the centre of the class's hue band; the bands leave
  25+ degrees between neighbours, so a pixel's class can be read from its hue
- saturation and value (brightness)
- shading, shading_angle: a linear brightness ramp (relative strength, direction)
- texture, texture_angle, texture_period: sine stripes on the brightness
  (amplitude, orientation, period in pixels at 64x64; scaled with the size)

Raw instance ids follow Cityscapes: the class id for stuff, class*1000+k for
the k-th thing of a class. Item i is a pure function of (seed, i), so any
number of loader workers reproduces it; ``generate(i, variant)`` redraws only
the appearances, which gives several real photos of one label map.
``inade.data.oracle`` reads classes and appearances back from RGB.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
from paddle.io import Dataset

from ..errors import DataError
from .colour import hsv_to_rgb

CLASS_NAMES = ("sky", "ground", "disc", "box", "diamond", "pole")
STUFF_CLASSES = (0, 1)
THING_CLASSES = (2, 3, 4, 5)
THING_ID_BASE = 1000
# Hue band (centre, half width) per class, in degrees.
HUE_BANDS = ((220.0, 12.0), (115.0, 12.0), (0.0, 12.0), (52.0, 10.0), (290.0, 12.0), (170.0, 10.0))
SATURATION_RANGE = (0.5, 0.95)
VALUE_RANGE = (0.45, 0.95)
SHADING_RANGE = 0.25
TEXTURE_RANGE = (0.0, 0.12)
TEXTURE_PERIOD_RANGE = (6.0, 12.0)  # pixels at 64x64
APPEARANCE_FIELDS = ("hue_offset", "saturation", "value", "shading", "shading_angle", "texture", "texture_angle", "texture_period")
EXPORT_FOLDERS = ("images", "labels", "instances")
EXPORT_MARKER = "procedural_export.json"
# One class name a line, beside the folders: what a folder dataset's class names are read from.
CLASS_FILE = "classes.txt"


def class_of_raw_id(raw_id):
    """Class of a raw instance id (int or int array): stuff ids are class ids."""
    raw_id = np.asarray(raw_id)
    return np.where(raw_id >= THING_ID_BASE, raw_id // THING_ID_BASE, raw_id)


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
            rng.uniform(*TEXTURE_PERIOD_RANGE),
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


def _compose(below: np.ndarray, shapes: list) -> tuple[np.ndarray, np.ndarray]:
    label = np.where(below, 1, 0).astype(np.int64)  # [H, W]
    instance = label.copy()
    for raw_id, cls, mask in shapes:
        label[mask] = cls
        instance[mask] = raw_id
    return label, instance


def _undersized(instance: np.ndarray, shapes: list, below: np.ndarray, min_area: int) -> set:
    """Raw ids of the things to drop so that every visible instance gets
    ``min_area`` pixels: things below it, else the topmost thing over a stuff
    region that is visible but below it."""
    ids, counts = np.unique(instance, return_counts=True)
    area = dict(zip(ids.tolist(), counts.tolist()))
    small_things = {raw_id for raw_id, _, _ in shapes if area.get(raw_id, 0) < min_area}
    if small_things:
        return small_things
    for stuff_id, region in ((0, ~below), (1, below)):
        if 0 < area.get(stuff_id, 0) < min_area:
            return {[raw_id for raw_id, _, mask in shapes if (mask & region).any()][-1]}
    return set()


class ProceduralDataset(Dataset):
    """Procedural scenes following the sample contract of ``inade.data.base``.

    size: image side in pixels; num_samples: dataset length; seed: the scene
    stream; min_area: smallest visible instance, in pixels; max_things: most
    things drawn per image (2..max_things, before dropping small ones)."""

    class_names = CLASS_NAMES
    label_nc = len(CLASS_NAMES)
    contain_dontcare = False

    def __init__(self, size: int = 64, num_samples: int = 2000, seed: int = 0, min_area: int = 20, max_things: int = 6):
        if size < 16:
            raise DataError(f"procedural size must be at least 16 pixels, got {size}")
        if num_samples < 1:
            raise DataError(f"procedural num_samples must be positive, got {num_samples}")
        # Sky and ground each span about 0.3 size^2 or more, so under this bound
        # only things can shrink a stuff region below min_area (see _undersized).
        if not 1 <= min_area <= size * size // 8:
            raise DataError(f"procedural min_area must be 1..{size * size // 8} pixels at size {size}, got {min_area}")
        if max_things < 2:
            raise DataError(f"procedural max_things must be at least 2, got {max_things}")
        self.size = size
        self.num_samples = num_samples
        self.seed = seed
        self.min_area = min_area
        self.max_things = max_things
        self._ys, self._xs = np.mgrid[0:size, 0:size].astype(np.float64)  # [H, W] each

    def __len__(self) -> int:
        return self.num_samples

    def layout(self, index: int):
        """(label [H, W], raw instance ids [H, W], the visible raw ids (stuff
        first, then things in draw order), their classes)."""
        rng = np.random.default_rng([self.seed, index, 0])
        size, ys, xs = self.size, self._ys, self._xs
        horizon = size * rng.uniform(0.3, 0.6) + (xs - size / 2) * rng.uniform(-0.3, 0.3)
        below = ys >= horizon  # [H, W]
        shapes = []
        counts = {}
        for _ in range(rng.integers(2, self.max_things + 1)):
            cls = int(rng.choice(THING_CLASSES))
            raw_id = cls * THING_ID_BASE + counts.get(cls, 0)
            counts[cls] = counts.get(cls, 0) + 1
            shapes.append((raw_id, cls, _thing_mask(rng, cls, size, ys, xs)))
        label, instance = _compose(below, shapes)
        while drop := _undersized(instance, shapes, below, self.min_area):
            shapes = [shape for shape in shapes if shape[0] not in drop]
            label, instance = _compose(below, shapes)
        present = [i for i in STUFF_CLASSES if (instance == i).any()] + [shape[0] for shape in shapes]
        return label, instance, present, [int(class_of_raw_id(i)) for i in present]

    def appearances(self, index: int, variant: int = 0) -> dict[int, np.ndarray]:
        """The drawn appearance of every instance of item ``index``: raw id ->
        float64 [8] in APPEARANCE_FIELDS order. Each ``variant`` is an
        independent draw for the same layout."""
        _, _, raw_ids, classes = self.layout(index)
        return self._draw_appearances(index, variant, raw_ids, classes)

    def _draw_appearances(self, index: int, variant: int, raw_ids: list, classes: list) -> dict[int, np.ndarray]:
        rng = np.random.default_rng([self.seed, index, 1, variant])
        return {raw_id: _draw_appearance(rng, cls) for raw_id, cls in zip(raw_ids, classes)}

    def render(self, raw_instance: np.ndarray, appearances: dict) -> np.ndarray:
        """RGB float32 [3, H, W] in [-1, 1] of a raw instance map [H, W] painted
        with ``appearances`` (raw id -> APPEARANCE_FIELDS vector)."""
        raw_ids = np.unique(raw_instance)
        missing = [int(i) for i in raw_ids if int(i) not in appearances]
        if missing:
            raise DataError(f"no appearance given for instance {missing[0]} of the procedural layout")
        table = np.stack([np.asarray(appearances[int(i)], dtype=np.float64) for i in raw_ids])  # [N, 8]
        slot = np.searchsorted(raw_ids, raw_instance)  # [H, W]
        hue_offset, saturation, value, shading, shading_angle, texture, texture_angle, period = np.moveaxis(table[slot], -1, 0)
        centres = np.array([centre for centre, _ in HUE_BANDS])[class_of_raw_id(raw_ids)]  # [N]
        ramp = (self._ys / self.size - 0.5) * np.sin(shading_angle) + (self._xs / self.size - 0.5) * np.cos(shading_angle)
        phase = (self._ys * np.sin(texture_angle) + self._xs * np.cos(texture_angle)) * (2 * np.pi / (period * self.size / 64.0))
        brightness = value * (1.0 + shading * ramp) + texture * np.sin(phase)  # [H, W]
        rgb = hsv_to_rgb(centres[slot] + hue_offset, saturation, np.clip(brightness, 0.0, 1.0))  # [H, W, 3]
        return (rgb.transpose(2, 0, 1) * 2.0 - 1.0).astype(np.float32)

    def _scene(self, index: int, variant: int):
        label, raw_instance, raw_ids, classes = self.layout(index)
        return label, raw_instance, self.render(raw_instance, self._draw_appearances(index, variant, raw_ids, classes))

    def generate(self, index: int, variant: int = 0) -> dict:
        """Item ``index`` (any index, also beyond ``len``) with the appearances of ``variant``."""
        label, raw_instance, image = self._scene(index, variant)
        ids = np.unique(raw_instance)  # [K] sorted raw ids
        return {
            "image": image,
            "label": label[None],
            "instance": np.searchsorted(ids, raw_instance)[None].astype(np.int64),  # [1, H, W] 0..K-1
            "instance_ids": ids.astype(np.int64),
            "instance_classes": class_of_raw_id(ids).astype(np.int64),
            "path": f"procedural/{self.seed}/{index:06d}" + (f"-v{variant}" if variant else ""),
        }

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.num_samples:
            raise IndexError(f"procedural item {index} out of range 0..{self.num_samples - 1}")
        return self.generate(int(index))


def _previous_export(out_dir: str) -> bool:
    """True when ``out_dir`` holds exactly what an earlier export wrote."""
    try:
        with open(os.path.join(out_dir, EXPORT_MARKER), encoding="utf-8") as f:
            names = {f"{index:06d}.png" for index in range(int(json.load(f)["num_samples"]))}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if set(os.listdir(out_dir)) - {CLASS_FILE} != {EXPORT_MARKER, *EXPORT_FOLDERS}:
        return False
    return all(os.path.isdir(os.path.join(out_dir, folder)) and set(os.listdir(os.path.join(out_dir, folder))) == names
               for folder in EXPORT_FOLDERS)


def export_procedural(out_dir: str, num_samples: int, size: int = 64, seed: int = 0) -> str:
    """Write items 0..num_samples-1 in the generic folder layout: images/*.png
    (RGB), labels/*.png (8-bit class ids), instances/*.png (16-bit raw ids),
    plus procedural_export.json with the settings and classes.txt. Returns the absolute folder.

    The folder appears complete or not at all (built beside it, then renamed).
    It must be new, empty, or an earlier export, which is replaced; anything
    else is refused."""
    from PIL import Image

    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise DataError(f"refusing to export into {out_dir}: it is a file, not a folder")
        if os.listdir(out_dir) and not _previous_export(out_dir):
            raise DataError(f"refusing to export into {out_dir}: the folder is not empty and is not an earlier procedural export")
    dataset = ProceduralDataset(size=size, num_samples=num_samples, seed=seed)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", suffix=".tmp", dir=parent)
    try:
        for folder in EXPORT_FOLDERS:
            os.mkdir(os.path.join(staging, folder))
        for index in range(num_samples):
            label, raw_instance, image = dataset._scene(index, 0)
            photo = ((image.transpose(1, 2, 0) + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)  # [H, W, 3]
            name = f"{index:06d}.png"
            Image.fromarray(photo).save(os.path.join(staging, "images", name))
            Image.fromarray(label.astype(np.uint8)).save(os.path.join(staging, "labels", name))
            Image.fromarray(raw_instance.astype(np.uint16)).save(os.path.join(staging, "instances", name))
        with open(os.path.join(staging, EXPORT_MARKER), "w", encoding="utf-8") as f:
            json.dump({"num_samples": num_samples, "size": size, "seed": seed, "class_names": CLASS_NAMES}, f, indent=1)
        with open(os.path.join(staging, CLASS_FILE), "w", encoding="utf-8") as f:
            f.write("".join(name + "\n" for name in CLASS_NAMES))
        replaced = None
        if os.path.exists(out_dir) and os.listdir(out_dir):
            replaced = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", suffix=".old", dir=parent)
            os.replace(out_dir, replaced)
        os.replace(staging, out_dir)  # also replaces an empty out_dir
        if replaced:
            shutil.rmtree(replaced)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    return out_dir
