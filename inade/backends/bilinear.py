"""The 2x bilinear upsampling (the encoder's) with its gradient written out
(the onednn backend's).

Paddle's CPU backward kernel of ``bilinear_interp`` took 4-15x its forward's
time at the encoder's sizes (64 channels from 128x128 to 256x256: 73 ms
against 5 ms); the gradient is two products with the axes' fixed weights,
9 ms there. Equal to Paddle's gradient to float rounding
(tests/backends/test_bilinear.py).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from ..layers import resize


def bilinear_2x_gradient(grad: paddle.Tensor) -> paddle.Tensor:
    """The gradient of upsample_bilinear_2x for the output gradient ``grad``
    [B, C, 2H, 2W]: the upsampling is rows @ x @ columns^T with each axis's
    fixed bilinear weights (layers.resize.bilinear_weights, two non-zeros a
    row), so the gradient is rows^T @ grad @ columns, two batched products.
    Denser arithmetic than the stencil, but a product is one kernel where
    slices, sums and concatenations of the gradient were six passes over it:
    5-20x faster at the encoder's sizes."""
    height, width = int(grad.shape[2]), int(grad.shape[3])
    rows = paddle.to_tensor(resize.bilinear_weights(height // 2, height))  # [2H, H]
    columns = paddle.to_tensor(resize.bilinear_weights(width // 2, width))  # [2W, W]
    return paddle.matmul(paddle.matmul(rows, grad, transpose_x=True), columns)


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
