"""Instance-aware convolution: each output pixel only sees neighbours of its own instance.

The reference computes it from an unfold of the features ([N, C*k*k, H*W], nine
times the feature map). Inside an instance the result is an ordinary
convolution, so here it is one: a plain conv2d everywhere, then, at the few
output pixels whose window crosses an instance border, the taps that see
another instance are gathered and their contribution subtracted. Exact, and
the extra memory is proportional to the border pixels only.
"""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..backends.conv import conv2d
from .resize import resize_nearest


def _border_taps(ids, kh, kw, stride, padding, out_h, out_w):
    """Where windows cross instance borders (computed from ids, no gradient).

    Returns (border [Nb, 3] as (batch, row, col) of output pixels,
    foreign [Nb, k*k] 1.0 where that tap sees another instance)."""
    ids = F.pad(ids, [padding] * 4)
    span_h, span_w = stride * (out_h - 1) + 1, stride * (out_w - 1) + 1

    def window(dy, dx):
        return ids[:, 0, dy : dy + span_h : stride, dx : dx + span_w : stride]

    centre = window(kh // 2, kw // 2)
    foreign = paddle.stack([window(dy, dx) != centre for dy in range(kh) for dx in range(kw)], axis=-1)
    border = paddle.nonzero(foreign.any(axis=-1))  # [Nb, 3]
    return border, paddle.gather_nd(foreign, border)


def instance_aware_conv2d(
    x: paddle.Tensor,
    instance_ids: paddle.Tensor,
    weight: paddle.Tensor,
    bias: paddle.Tensor | None,
    stride: int = 1,
    padding: int = 1,
) -> paddle.Tensor:
    """x [B, C, H, W]; instance_ids [B, 1, H, W] (float or int, any resolution:
    resized nearest to x); weight [Cout, C, k, k]; returns [B, Cout, Ho, Wo].

    Zero padding carries id 0 and zero features, so whether a padded tap
    "matches" the centre never changes the sum."""
    batch, channels, height, width = x.shape
    out_channels, in_channels, kh, kw = weight.shape
    if in_channels != channels:
        raise ValueError(f"instance-aware conv expects {in_channels} input channels, got {channels}")
    out = conv2d(x, weight, bias, stride=stride, padding=padding)
    out_h, out_w = out.shape[2:]
    padded_h, padded_w = height + 2 * padding, width + 2 * padding
    with paddle.no_grad():
        ids = resize_nearest(instance_ids.astype(x.dtype), (height, width))
        border, foreign = _border_taps(ids, kh, kw, stride, padding, out_h, out_w)
        b, i, j = border[:, 0], border[:, 1], border[:, 2]
        tap_offsets = paddle.to_tensor([dy * padded_w + dx for dy in range(kh) for dx in range(kw)], dtype="int64")
        first_tap = b * (padded_h * padded_w) + i * (stride * padded_w) + j * stride  # [Nb]
        tap_rows = (first_tap.unsqueeze(1) + tap_offsets.unsqueeze(0)).reshape([-1])  # [Nb * k*k]
        out_rows = b * (out_h * out_w) + i * out_w + j  # [Nb]
    pixels = F.pad(x, [padding] * 4).transpose([0, 2, 3, 1]).reshape([-1, channels])  # [B*Hp*Wp, C]
    patches = paddle.gather(pixels, tap_rows).reshape([-1, kh * kw, channels])  # [Nb, k*k, C]
    patches = patches * foreign.astype(x.dtype).unsqueeze(-1)
    taps = weight.transpose([2, 3, 1, 0]).reshape([kh * kw * channels, out_channels])
    correction = paddle.matmul(patches.reshape([-1, kh * kw * channels]), taps)  # [Nb, Cout]
    # Channels first, so that the correction goes in along the last axis: the
    # pixels-first layout costs a full transposed copy each way and made
    # index_add several times slower at 256x256.
    by_channel = out.reshape([batch, out_channels, out_h * out_w]).transpose([1, 0, 2]).reshape([out_channels, -1])  # [Cout, B*Ho*Wo]
    by_channel = paddle.index_add(by_channel, out_rows, 1, -correction.T)
    return by_channel.reshape([out_channels, batch, out_h, out_w]).transpose([1, 0, 2, 3])


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
