"""Local edits: a redrawn instance is composited into the image it edits, so
that no pixel farther than EDIT_FEATHER pixels from the edited instances moves.

The generator's convolutions see the whole label map, so a new code for one
instance also moves pixels around it; the paper re-renders the whole image.
Here the new rendering is blended in with a mask: 1 on the edited instances,
falling to 0 over EDIT_FEATHER pixels (chessboard distance) around them, 0
beyond, where the previous image is kept exactly."""
from __future__ import annotations

import numpy as np

from ..errors import DataError

EDIT_FEATHER = 2


def _dilate(mask: np.ndarray) -> np.ndarray:
    """One pixel of 3x3 dilation of a boolean [H, W] mask."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy:dy + height, dx:dx + width]
    return out


def edit_alpha(scene, ids, feather: int = EDIT_FEATHER) -> np.ndarray:
    """float32 [H, W]: 1 on the instances ``ids`` (raw ids of ``scene``), then
    feather/(feather+1), ..., 1/(feather+1) on the rings around them, 0 beyond."""
    present = [int(raw) for raw in scene.instance_ids]
    missing = [int(raw) for raw in ids if int(raw) not in present]
    if missing:
        # a style file's edit history names ids of another map
        raise DataError(f"the style file's edits name instance ids {missing} that this instance map does not have "
                        f"(its ids: {present}); use the maps the style file was made with")
    indices = [present.index(int(raw)) for raw in ids]
    mask = np.isin(scene.instance, indices)
    alpha = mask.astype(np.float32)
    for _ in range(feather):
        mask = _dilate(mask)
        alpha += mask
    return alpha / np.float32(feather + 1)


def composite(previous: np.ndarray, new: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``new`` over ``previous`` ([3, H, W] each) with ``alpha`` [H, W]; where
    alpha is 0 the previous pixels are kept as they are (not recomputed)."""
    blended = previous * (1.0 - alpha) + new * alpha
    return np.where(alpha > 0, blended, previous).astype(np.float32)
