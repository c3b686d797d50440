"""Painted label maps: the class palette, a canvas colour that is no class's
colour, and the editor's picture (a background and brush layers) read back as
class ids."""
from __future__ import annotations

import numpy as np

from ..errors import InadeError
from ..visuals import label_palette

# The image editor's empty canvas. The palette (the PASCAL VOC bit pattern)
# gives white only to class 2**24 - 1, so an unpainted pixel is never read as a class.
CANVAS = (255, 255, 255)
# A brush layer's pixel is paint when at least this opaque (edges of strokes are half transparent).
_OPAQUE = 128


def class_colours(count: int) -> np.ndarray:
    """[count, 3] uint8: the colours of the label views, one per paintable class."""
    return label_palette(count)


def hex_colour(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb[:3])


def _nearest_class(rgb: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Class ids [H, W] of the palette colours nearest to rgb [H, W, 3]."""
    distance = ((rgb[..., None, :].astype(np.int64) - colours[None, None].astype(np.int64)) ** 2).sum(axis=3)
    return distance.argmin(axis=2)


def _rgba(picture, what: str) -> np.ndarray:
    array = np.asarray(picture)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        raise InadeError(f"the painted {what} is not an RGB(A) picture")
    if array.shape[2] == 3:
        array = np.concatenate([array, np.full(array.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return array


def painted_classes(editor_value, colours: np.ndarray, fill_class: int, canvas: tuple = CANVAS) -> np.ndarray:
    """Class ids [H, W] of an image editor's value {"background", "layers"}:
    background pixels of the canvas colour take ``fill_class``, other
    background pixels (a label view being painted over) and brush pixels the
    class of the nearest palette colour; layers are stacked in order."""
    if not isinstance(editor_value, dict) or editor_value.get("background") is None:
        raise InadeError("nothing is painted: choose a class and paint on the canvas first")
    if not 0 <= int(fill_class) < len(colours):
        raise InadeError(f"the unpainted class {fill_class} is not one of 0..{len(colours) - 1}")
    background = _rgba(editor_value["background"], "background")
    rgb = background[..., :3].astype(np.int64)
    blank = (np.abs(rgb - np.array(canvas)) <= 3).all(axis=2) | (background[..., 3] < _OPAQUE)
    classes = np.where(blank, int(fill_class), _nearest_class(background[..., :3], colours))
    for layer in editor_value.get("layers") or []:
        layer = _rgba(layer, "layer")
        if layer.shape[:2] != classes.shape:
            raise InadeError(f"a painted layer is {layer.shape[1]}x{layer.shape[0]}, "
                             f"the canvas {classes.shape[1]}x{classes.shape[0]}")
        paint = layer[..., 3] >= _OPAQUE
        classes = np.where(paint, _nearest_class(layer[..., :3], colours), classes)
    return classes.astype(np.int64)
