"""A label map (with its instances) prepared the way the data layer prepares
training samples, keeping the user's raw instance ids."""
from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np

from ..data.formats import FORMATS, map_labels
from ..data.instances import instances_from_components, number_instances
from ..data.readers import DEFAULT_MAX_PIXELS, read_index_map, read_rgb
from ..data.transforms import resize_image, resize_nearest_map
from ..errors import InadeError


@dataclasses.dataclass
class Scene:
    name: str
    label: np.ndarray  # [H, W] class ids (don't care -> label_nc)
    instance: np.ndarray  # [H, W] indices 0..K-1
    instance_ids: np.ndarray  # [K] raw ids
    instance_classes: np.ndarray  # [K]
    class_names: tuple | None = None

    def class_name(self, cls: int) -> str:
        if self.class_names and 0 <= cls < len(self.class_names):
            return self.class_names[cls]
        return f"class {cls}"

    def describe(self, raw_id: int) -> str:
        cls = int(self.instance_classes[list(self.instance_ids).index(raw_id)])
        return f"{raw_id} ({self.class_name(cls)})"

    def valid_ids(self) -> str:
        return ", ".join(self.describe(int(i)) for i in self.instance_ids)

    def check_ids(self, ids) -> None:
        unknown = [int(i) for i in ids if int(i) not in set(self.instance_ids.tolist())]
        if unknown:
            raise InadeError(f"instance {unknown[0]} is not in {self.name}; valid instance ids: {self.valid_ids()}")

    def class_of(self, raw_id: int) -> int:
        return int(self.instance_classes[list(self.instance_ids).index(raw_id)])

    def ids_of_class(self, cls_or_name) -> list[int]:
        cls = resolve_class(cls_or_name, self.class_names)
        ids = [int(i) for i, c in zip(self.instance_ids, self.instance_classes) if int(c) == cls]
        if not ids:
            raise InadeError(f"{self.name} has no instance of {self.class_name(cls)}; valid instance ids: {self.valid_ids()}")
        return ids


def resolve_class(cls_or_name, class_names) -> int:
    if isinstance(cls_or_name, (int, np.integer)) or str(cls_or_name).isdigit():
        return int(cls_or_name)
    if class_names and cls_or_name in class_names:
        return class_names.index(cls_or_name)
    known = ", ".join(class_names) if class_names else "none (use class ids)"
    raise InadeError(f"unknown class {cls_or_name!r}; class names: {known}")


def label_rules(data_cfg, label_nc, contain_dontcare):
    """(label offset, raw don't-care value or None): how a dataset's raw label
    values map to class ids, as its format reads them (the web demo paints with them too)."""
    if data_cfg.type == "procedural":
        return 0, None
    fmt = FORMATS[data_cfg.type]
    dontcare_value = data_cfg.dontcare_value if data_cfg.dontcare_value is not None else fmt.dontcare_value
    return fmt.label_offset, dontcare_value if contain_dontcare else None


def load_scene(label, instance, size, data_cfg, label_nc, contain_dontcare, class_names, name=None,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> Scene:
    """label/instance: file paths or integer arrays [H, W]; resized (nearest)
    to ``size`` (H, W) when they differ, with a warning. Files larger than
    ``max_pixels`` are refused before they are decoded."""
    name = name or (os.path.basename(label) if isinstance(label, str) else "label map")
    raw_label = read_index_map(label, "label", max_pixels) if isinstance(label, str) else np.asarray(label, dtype=np.int64)
    offset, dontcare_value = label_rules(data_cfg, label_nc, contain_dontcare)
    classes = map_labels(raw_label, label_nc, contain_dontcare, dontcare_value, offset,
                         label if isinstance(label, str) else name)
    if instance is None:
        raw_instance = instances_from_components(classes) if data_cfg.instances_from == "components" else classes.copy()
    else:
        if isinstance(instance, str):
            raw_instance = read_index_map(instance, "instance", max_pixels)
        else:
            raw_instance = np.asarray(instance, dtype=np.int64)
        if raw_instance.shape != raw_label.shape:
            where = instance if isinstance(instance, str) else f"the instance map of {name}"
            raise InadeError(f"{where}: {raw_instance.shape[1]}x{raw_instance.shape[0]}, but its label map "
                             f"{label if isinstance(label, str) else name} is {raw_label.shape[1]}x{raw_label.shape[0]}")
    if classes.shape != tuple(size):
        warnings.warn(f"{name} is {classes.shape[1]}x{classes.shape[0]}; resized (nearest) to the model's "
                      f"{size[1]}x{size[0]}", stacklevel=2)
        classes = resize_nearest_map(classes, *size)
        raw_instance = resize_nearest_map(raw_instance, *size)
    index, ids, instance_classes, _ = number_instances(raw_instance, classes, label_nc + 1)
    return Scene(name, classes, index, ids, instance_classes, class_names)


def load_image(image, size, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A photo (path or uint8 [H, W, 3]) -> float32 [3, H, W] in [-1, 1] at ``size``."""
    array = read_rgb(image, max_pixels) if isinstance(image, str) else np.asarray(image, dtype=np.uint8)
    array = resize_image(array, *size)
    return array.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
