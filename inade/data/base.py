"""The sample contract shared by every dataset, and batching.

A dataset item is a dict of numpy arrays:

- ``image``: float32 ``[3, H, W]`` in [-1, 1]
- ``label``: int64 ``[1, H, W]``; class ids 0..label_nc-1, the don't-care value
  already mapped to ``label_nc`` (the extra channel) when the dataset has one
- ``instance``: int64 ``[1, H, W]``; instance index 0..K-1, renumbered per image
- ``instance_ids``: int64 ``[K]``; the raw id in the user's instance map for each index
- ``instance_classes``: int64 ``[K]``; the class of each instance (its most frequent label)
- ``path``: str; the image (or label) file the sample came from, or a procedural name

``collate`` stacks items into a batch and pads the per-instance vectors to the
largest K of the batch with -1; ``num_instances`` [B] tells the real K of each.
"""
from __future__ import annotations

import numpy as np

SAMPLE_KEYS = ("image", "label", "instance", "instance_ids", "instance_classes", "path")
PAD_ID = -1


def collate(items: list[dict]) -> dict:
    batch = {
        "image": np.stack([it["image"] for it in items]).astype(np.float32),
        "label": np.stack([it["label"] for it in items]).astype(np.int64),
        "instance": np.stack([it["instance"] for it in items]).astype(np.int64),
        "path": [it["path"] for it in items],
    }
    counts = np.array([len(it["instance_ids"]) for it in items], dtype=np.int64)
    k_max = int(counts.max()) if len(counts) else 0
    for key in ("instance_ids", "instance_classes"):
        padded = np.full((len(items), k_max), PAD_ID, dtype=np.int64)  # [B, K]
        for row, it in enumerate(items):
            padded[row, : len(it[key])] = it[key]
        batch[key] = padded
    batch["num_instances"] = counts
    return batch
