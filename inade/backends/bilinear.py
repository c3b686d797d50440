"""The 2x bilinear upsampling (the encoder's) with its gradient written out
(the onednn backend's).

Paddle's CPU backward kernel of ``bilinear_interp`` took 4-15x its forward's
time at the encoder's sizes (64 channels from 128x128 to 256x256: 73 ms
against 5 ms); the gradient is a fixed stencil, computed here from slices of
the output gradient in about a quarter of that. Equal to Paddle's gradient to
float rounding (tests/backends/test_bilinear.py).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle.autograd import PyLayer


def bilinear_2x_gradient(grad: paddle.Tensor) -> paddle.Tensor:
    """The gradient of upsample_bilinear_2x for the output gradient ``grad``
    [B, C, 2H, 2W]: along each axis, output 2i is 3/4 of source i and 1/4 of
    source i-1, output 2i+1 3/4 of i and 1/4 of i+1 (clamped at the borders),
    so source i collects 3/4 of outputs 2i and 2i+1 and 1/4 of outputs 2i+2
    and 2i-1, and a border source the quarter its clamped neighbour took."""
    for axis in (2, 3):
        size = int(grad.shape[axis]) // 2
        pairs = grad.reshape(list(grad.shape[:axis]) + [size, 2] + list(grad.shape[axis + 1:]))
        even, odd = (pairs.slice([axis + 1], [k], [k + 1]).squeeze(axis + 1) for k in (0, 1))
        if size == 1:  # both outputs take all of the one source
            grad = even + odd
            continue
        # what each source gets from its neighbours' outputs (its own at the borders)
        from_next = paddle.concat([even.slice([axis], [1], [size]), odd.slice([axis], [size - 1], [size])], axis=axis)
        from_previous = paddle.concat([even.slice([axis], [0], [1]), odd.slice([axis], [0], [size - 1])], axis=axis)
        grad = (even + odd) * 0.75 + (from_next + from_previous) * 0.25
    return grad


class _UpsampleBilinear2x(PyLayer):
    @staticmethod
    def forward(ctx, x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    @staticmethod
    def backward(ctx, grad):
        return bilinear_2x_gradient(grad)


def upsample_2x(x: paddle.Tensor) -> paddle.Tensor:
    """F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    whose backward is bilinear_2x_gradient."""
    return _UpsampleBilinear2x.apply(x)
