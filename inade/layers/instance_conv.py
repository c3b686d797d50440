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
    with paddle.no_grad():
        ids = resize_nearest(instance_ids.astype(x.dtype), (height, width))
        border, foreign = _border_taps(ids, kh, kw, stride, padding, out_h, out_w)
        b, i, j = (border[:, axis : axis + 1] for axis in range(3))  # [Nb, 1] each
        rows = i * stride - padding + paddle.to_tensor([dy for dy in range(kh) for _ in range(kw)], dtype="int64")
        cols = j * stride - padding + paddle.to_tensor([dx for _ in range(kh) for dx in range(kw)], dtype="int64")
        # taps in the zero padding add nothing: they read pixel 0, weighted 0
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)  # [Nb, k*k]
        tap_pixels = paddle.where(inside, b * (height * width) + rows * width + cols, paddle.zeros_like(rows))
        foreign = foreign.astype(x.dtype) * inside.astype(x.dtype)
        out_pixels = (b * (out_h * out_w) + i * out_w + j).reshape([-1])  # [Nb]
    # The input is gathered pixels-first (one transposed copy; rows gather fast,
    # Paddle's index_select along the last axis was several times slower), with
    # no padded copy; the correction goes into the output channels-first, a
    # view at batch 1 (index_add along the last axis: the pixels-first layout
    # costs a full transposed copy each way and made it several times slower).
    pixels = x.transpose([0, 2, 3, 1]).reshape([-1, channels])  # [B*H*W, C]
    patches = paddle.gather(pixels, tap_pixels.reshape([-1])).reshape([-1, kh * kw, channels])  # [Nb, k*k, C]
    patches = patches * foreign.unsqueeze(-1)
    taps = weight.transpose([2, 3, 1, 0]).reshape([kh * kw * channels, out_channels])
    correction = paddle.matmul(patches.reshape([-1, kh * kw * channels]), taps)  # [Nb, Cout]
    corrected = paddle.index_add(_by_channel(out), out_pixels, 1, -correction.T)  # [Cout, B*Ho*Wo]
    if _single_image(x):
        return corrected.reshape([1, out_channels, out_h, out_w])
    return corrected.reshape([out_channels, batch, out_h, out_w]).transpose([1, 0, 2, 3])


def _single_image(x) -> bool:
    """Whether x holds one image, known while the code runs. A saved graph's
    batch is a run-time value: branching on it there makes a conditional block,
    in which Paddle Inference's oneDNN reshape fails."""
    return paddle.in_dynamic_mode() and x.shape[0] == 1


def _by_channel(x):
    """[B, C, H, W] -> [C, B*H*W]: a view for one image, a transposed copy otherwise."""
    if _single_image(x):
        return x.reshape([x.shape[1], -1])
    return x.transpose([1, 0, 2, 3]).reshape([x.shape[1], -1])


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
