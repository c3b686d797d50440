"""Batches from a dataset with worker processes.

Every random choice of an item is drawn from (seed, epoch, index) inside the
dataset, and the order from (seed, epoch) in the sampler, so the batches do
not depend on the number of workers or on which worker made an item.
"""
from __future__ import annotations

import paddle

from .base import collate


def build_loader(dataset, batch_sampler, num_workers: int = 0) -> paddle.io.DataLoader:
    return paddle.io.DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate,
        num_workers=num_workers,
        return_list=True,
    )
