"""Batches from a dataset, in this process or in worker processes.

Every random choice of an item is drawn from (seed, epoch, index) inside the
dataset, and the order from (seed, epoch) in the sampler, so the batches do
not depend on the number of workers or on which worker made an item.

An item that cannot be read ends the iteration with a DataError naming its
files, whatever the error and the number of workers: workers return the error
as a value and this process raises it, so nothing hangs on a dead thread or a
killed queue (as Paddle's DataLoader does).
"""
from __future__ import annotations

import functools

from ..errors import DataError, InadeError
from .base import collate
from .workers import WorkerPool


class _Failure:
    """A batch that could not be made: the one-line message to raise."""

    def __init__(self, message: str):
        self.message = message


def describe_item(dataset, index: int) -> str:
    """The files of item ``index`` (or its number when it has none)."""
    files = getattr(dataset, "files", None)
    if files is None:
        return f"item {index} of the {type(dataset).__name__}"
    return ", ".join(path for path in files[index] if path)


def item_error_message(dataset, index: int, error: Exception) -> str:
    """One line for any error raised by reading item ``index``."""
    if isinstance(error, InadeError):
        return str(error)
    text = " ".join(str(error).split())
    return f"{describe_item(dataset, index)}: reading this sample failed ({type(error).__name__}: {text})"


def load_batch(dataset, indices):
    """The collated batch of ``indices``, or a _Failure naming the first bad item."""
    items = []
    for index in indices:
        try:
            items.append(dataset[index])
        except Exception as error:  # noqa: BLE001 - every error becomes a line naming the files
            return _Failure(item_error_message(dataset, index, error))
    try:
        return collate(items)
    except ValueError as error:  # e.g. preprocess_mode none with photos of different sizes
        shapes = sorted({"x".join(map(str, item["image"].shape[:0:-1])) for item in items})
        files = "; ".join(describe_item(dataset, index) for index in indices)
        return _Failure(f"{files}: these samples cannot form one batch (sizes {', '.join(shapes)}: {error}); "
                        "give them one size (e.g. data.preprocess_mode: fixed) or use data.batch_size: 1")


def _raise_failure(batch):
    if isinstance(batch, _Failure):
        raise DataError(batch.message)
    return batch


def build_loader(dataset, batch_sampler, num_workers: int = 0):
    """Batches (dicts of numpy arrays, see ``collate``) in the sampler's order.
    With 0 workers they are read in this thread when asked for."""
    load = functools.partial(load_batch, dataset)
    if num_workers == 0:
        for indices in batch_sampler:
            yield _raise_failure(load(indices))
        return
    pool = WorkerPool(load, num_workers)
    try:
        describe = lambda indices: "; ".join(describe_item(dataset, i) for i in indices)  # noqa: E731
        for batch in pool.map(batch_sampler, 2 * num_workers, describe):
            yield _raise_failure(batch)
    finally:
        pool.close()


class DeviceTransfer:
    """Batch arrays -> tensors on the device training runs on (by default
    Paddle's current device, where the rest of the step's tensors are made).

    On the CPU it is paddle.to_tensor, as before. For a GPU each array is first
    copied into page-locked (pinned) host memory, from which the copy to the GPU
    is a DMA transfer that does not hold up this thread (``blocking=False``).
    The pinned copies of a batch are kept until the next batch is asked for:
    the copy must not outlive its source, and by then the step that used the
    batch has read its losses back, which waits for everything queued before."""

    def __init__(self, device: str | None = None):
        import paddle

        self.device = paddle.device.get_device() if device is None else device
        self.pinned = self.device.split(":")[0] == "gpu"
        self._in_flight = []

    def new_batch(self) -> None:
        self._in_flight = []

    def __call__(self, array):
        import numpy as np
        import paddle

        array = np.asarray(array)
        if not self.pinned:
            return paddle.to_tensor(array)
        staged = paddle.to_tensor(array, place=paddle.CUDAPinnedPlace())
        self._in_flight.append(staged)
        return staged.cuda(blocking=False)
