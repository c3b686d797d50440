"""Writing synthesis results: images, their style files, an overview grid."""
from __future__ import annotations

import os

import numpy as np

from ..visuals import colorize_labels, grid, save_png, to_uint8_image


def write_results(out_dir: str, scene, images: np.ndarray, styles_list, make_grid: bool = False) -> list[str]:
    """OUT/<name>_<k>.png and OUT/<name>_<k>.json per image (+ OUT/<name>_grid.png)."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(scene.name)[0]
    written = []
    for k, (image, styles) in enumerate(zip(images, styles_list)):
        path = os.path.join(out_dir, f"{stem}_{k}.png")
        save_png(path, to_uint8_image(image))
        styles.save(os.path.join(out_dir, f"{stem}_{k}.json"))
        written.append(path)
    if make_grid:
        labels = colorize_labels(scene.label, len(scene.class_names or ()) or int(scene.label.max()) + 1)
        pictures = [labels] + [to_uint8_image(image) for image in images]
        path = os.path.join(out_dir, f"{stem}_grid.png")
        save_png(path, grid([pictures]))
        written.append(path)
    return written
