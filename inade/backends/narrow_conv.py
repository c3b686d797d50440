"""Convolutions with very few output channels, as one matmul per call.

Paddle's CPU convolution costs nearly the same whatever the number of output
channels: its time goes into unfolding the input, so a layer with 1-3 outputs
(the discriminators' last layers, the generator's RGB layer) runs far below
the machine's speed. Here each output channel of each kernel tap is a row of
one [Cout, T, Cin] x [Cin, H * W] product over the unpadded input, and the
taps' maps are summed shifted: the same function, several times faster
forward and backward than Paddle's kernel (docs/backends.md), and autograd
needs nothing special.

oneDNN's convolution (inade.backends.conv) is faster still with a few outputs
but not with one, so with the onednn backend NarrowConv2D runs oneDNN's kernel
for 2-4 outputs where it can; with the paddle backend it is F.conv2d.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F

from .. import backends
from ..paddle_private import conv_settings
from . import onednn
from .conv import Conv2D, onednn_kernels

# Up to this many output channels a layer is a NarrowConv2D.
NARROW = 4


def narrow_conv2d(x, weight, bias=None, padding: int = 0) -> paddle.Tensor:
    """F.conv2d(x, weight, bias, stride=1, padding=padding) for a narrow
    ``weight`` [Cout, Cin, kh, kw]; x [B, Cin, H, W]."""
    batch, in_channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    taps = kh * kw
    # [1, Cout, Cin, T]^T x [B, 1, Cin, H * W] -> [B, Cout, T, H * W]: every tap of every
    # output channel in one product, with no transposed copy of the weight (whose
    # gradient would come back as a strided view, which collectives refuse)
    maps = paddle.matmul(weight.reshape([1, out_channels, in_channels, taps]),
                         x.reshape([batch, 1, in_channels, height * width]), transpose_x=True)
    maps = maps.reshape([batch, out_channels * taps, height, width])
    if padding:
        maps = F.pad(maps, [padding] * 4)  # [B, Cout * T, H + 2p, W + 2p]
    maps = maps.reshape([batch, out_channels, taps, height + 2 * padding, width + 2 * padding])
    out_h, out_w = height + 2 * padding - kh + 1, width + 2 * padding - kw + 1
    out = None
    for dy in range(kh):
        for dx in range(kw):
            tap = maps[:, :, dy * kw + dx, dy:dy + out_h, dx:dx + out_w]  # [B, Cout, out_h, out_w]
            out = tap if out is None else out + tap
    return out if bias is None else out + bias.reshape([1, out_channels, 1, 1])


def few_outputs_conv2d(x, weight, bias=None, padding: int = 0) -> paddle.Tensor:
    """What NarrowConv2D runs: with the paddle backend F.conv2d; with the
    onednn backend oneDNN's convolution for more than one output channel where
    conv2d would run an optimised oneDNN kernel, narrow_conv2d otherwise."""
    if not backends.fast():
        return F.conv2d(x, weight, bias, padding=padding)
    kernels = onednn_kernels(x, weight, bias, 1, padding) if weight.shape[0] > 1 else None
    if kernels is not None:
        return onednn.convolve(kernels, x, weight, bias)
    return narrow_conv2d(x, weight, bias, padding)


class NarrowConv2D(Conv2D):
    """nn.Conv2D (same parameters and state-dict keys) for a stride-1,
    zero-padded convolution with few output channels, run by few_outputs_conv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0, bias_attr=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding=padding, bias_attr=bias_attr)

    def forward(self, x):
        return few_outputs_conv2d(x, self.weight, self.bias, conv_settings(self).padding)  # the int given above
