"""Instance-aware convolution: each output pixel only sees neighbours of its own instance.

The reference computes it from an unfold of the features ([N, C*k*k, H*W], nine
times the feature map). Here the k*k taps are accumulated one at a time: for
tap (dy, dx) the (strided) shifted input goes through a 1x1 product with that
tap's weights and is masked by "neighbour id == centre id". The mask is the
same for every input channel, so masking after the product is exact and the
transient memory is one shifted copy of the input plus the output.
"""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .resize import resize_nearest


def instance_aware_conv2d(
    x: paddle.Tensor,
    instance_ids: paddle.Tensor,
    weight: paddle.Tensor,
    bias: paddle.Tensor | None,
    stride: int = 1,
    padding: int = 1,
) -> paddle.Tensor:
    """x [B, C, H, W]; instance_ids [B, 1, H, W] (float or int, any resolution:
    resized nearest to x); weight [Cout, C, k, k]; returns [B, Cout, Ho, Wo]."""
    batch, channels, height, width = x.shape
    out_channels, in_channels, kh, kw = weight.shape
    if in_channels != channels:
        raise ValueError(f"instance-aware conv expects {in_channels} input channels, got {channels}")
    ids = resize_nearest(instance_ids.astype(x.dtype), (height, width))
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    if padding:
        # Zero padding for both: padded pixels carry id 0, and zero features, so
        # whether they "match" the centre never changes the sum.
        x = F.pad(x, [padding] * 4)
        ids = F.pad(ids, [padding] * 4)
    span_h = stride * (out_h - 1) + 1
    span_w = stride * (out_w - 1) + 1

    def window(t, dy, dx):
        return t[:, :, dy : dy + span_h : stride, dx : dx + span_w : stride]

    centre_ids = window(ids, kh // 2, kw // 2)  # [B, 1, Ho, Wo]
    taps = weight.reshape([out_channels, in_channels, kh * kw]).transpose([2, 0, 1])  # [k*k, Cout, C]
    out = None
    for dy in range(kh):
        for dx in range(kw):
            shifted = window(x, dy, dx).reshape([batch, channels, out_h * out_w])  # [B, C, Ho*Wo]
            same_instance = (window(ids, dy, dx) == centre_ids).astype(x.dtype)  # [B, 1, Ho, Wo]
            tap = paddle.matmul(taps[dy * kw + dx], shifted)  # [B, Cout, Ho*Wo]
            term = tap * same_instance.reshape([batch, 1, out_h * out_w])
            out = term if out is None else out + term
    out = out.reshape([batch, out_channels, out_h, out_w])
    if bias is not None:
        out = out + bias.reshape([1, out_channels, 1, 1])
    return out


class InstanceAwareConv2d(nn.Layer):
    """A conv layer (same ``weight`` [Cout, Cin, k, k] and ``bias`` as nn.Conv2D)
    whose windows are cut at instance borders. On a single-instance map it is
    exactly a Conv2D."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.padding = padding
        fan_in = in_channels * kernel_size * kernel_size
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = self.create_parameter(
            [out_channels, in_channels, kernel_size, kernel_size],
            default_initializer=nn.initializer.KaimingUniform(fan_in=fan_in, negative_slope=math.sqrt(5), nonlinearity="leaky_relu"),
        )
        self.bias = self.create_parameter(
            [out_channels], is_bias=True, default_initializer=nn.initializer.Uniform(-bound, bound)
        )

    def forward(self, x: paddle.Tensor, instance_ids: paddle.Tensor) -> paddle.Tensor:
        return instance_aware_conv2d(x, instance_ids, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        k = self.weight.shape[-1]
        return f"{self.in_channels}, {self.out_channels}, kernel_size={k}, stride={self.stride}, padding={self.padding}"
