"""A batch sampler whose order is a pure function of (seed, epoch) and which
can start in the middle of an epoch, so a resumed run sees exactly the batches
an uninterrupted one would have seen. It also shards batches across ranks."""
from __future__ import annotations

import numpy as np
from paddle.io import BatchSampler


class ResumableBatchSampler(BatchSampler):
    def __init__(
        self,
        dataset_size: int,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ):
        if dataset_size < 1:
            raise ValueError("the dataset is empty")
        self.dataset_size = dataset_size
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start_batch = 0

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def epoch_order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.dataset_size)
        return np.random.default_rng([self.seed, epoch]).permutation(self.dataset_size)

    def __len__(self) -> int:
        per_rank = self.dataset_size // self.world_size
        if self.drop_last:
            return per_rank // self.batch_size
        return -(-per_rank // self.batch_size)

    def __iter__(self):
        order = self.epoch_order(self.epoch)
        # Every rank takes an equal, disjoint share of this epoch's order.
        per_rank = self.dataset_size // self.world_size
        mine = order[self.rank * per_rank : (self.rank + 1) * per_rank]
        for index in range(self.start_batch, len(self)):
            batch = mine[index * self.batch_size : (index + 1) * self.batch_size]
            yield [int(i) for i in batch]
        self.start_batch = 0
