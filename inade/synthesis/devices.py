"""Which device a model runs on, from the user's words ("cpu", "gpu:0")."""
from __future__ import annotations

import paddle

from ..errors import InadeError


def resolve_place(device: str | None):
    """A Paddle place for ``device`` ("cpu", "gpu", "gpu:N"); None: Paddle's current device."""
    name = paddle.device.get_device() if device is None else str(device).strip().lower()
    kind, _, index = name.partition(":")
    if kind == "cpu" and not index:
        return paddle.CPUPlace()
    if kind == "gpu" and (not index or index.isdigit()):
        if not paddle.device.is_compiled_with_cuda():
            raise InadeError(f"device {device!r}: this Paddle is a CPU build (install paddlepaddle-gpu for GPUs)")
        return paddle.CUDAPlace(int(index or 0))
    raise InadeError(f"unknown device {device!r}: use cpu, gpu or gpu:N")
