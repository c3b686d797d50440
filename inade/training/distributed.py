"""Data-parallel helpers: ranks from `paddle.distributed.launch`, gradient averaging."""
from __future__ import annotations

import os

import paddle
import paddle.distributed as dist


def world_size() -> int:
    return int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))


def rank() -> int:
    return int(os.environ.get("PADDLE_TRAINER_ID", "0"))


def init_if_launched() -> bool:
    """Join the process group when started by paddle.distributed.launch with >1 process."""
    if world_size() > 1:
        dist.init_parallel_env()
        return True
    return False


def average_gradients(parameters) -> None:
    """All-reduce and average the gradients of ``parameters`` across ranks."""
    size = dist.get_world_size()
    if size <= 1:
        return
    with paddle.no_grad():
        for param in parameters:
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad.scale_(1.0 / size)


def broadcast_parameters(layer: paddle.nn.Layer) -> None:
    """Start every rank from rank 0's weights and buffers."""
    if dist.get_world_size() <= 1:
        return
    for tensor in list(layer.parameters()) + list(layer.buffers()):
        dist.broadcast(tensor, src=0)
