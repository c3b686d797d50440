"""The encoder's heads, an instance-aware convolution averaged over each
instance, without the convolution's maps (the onednn backend's).

The heads' convolution (4 x noise_nc outputs at full resolution: 19 GFLOP of
the encoder's ~28 at the paper setting) is only ever averaged over each
instance's pixels. Both are linear, so the average of the output over
instance I is the weight applied to per-tap sums of the input:

    sum_{p in I} out(p) = sum_taps W_tap . sum_{p in I, id(p + tap) = I} x(p + tap) + b |I|

(the instance-aware convolution sees only neighbours of the pixel's own
instance; padding is zero). The tap sums are one [9K, HW] x [HW, C] product
with a 0/1 coefficient map: about K / Cout of the convolution's work, and no
activation-sized map of 4 x noise_nc channels or its gradient is ever
written. The same function as the plain path to float rounding.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F

from ..layers.resize import resize_nearest


def applies(num_instances: int, out_channels: int) -> bool:
    """Whether the encoder takes this path (with the onednn backend): in a
    dynamic graph, where it does less work than the convolution (fewer
    instances than output channels)."""
    return paddle.in_dynamic_mode() and num_instances < out_channels


def tap_coefficients(instance_ids, masks, kernel_size: tuple):
    """[B, K * kh * kw, H * W] 0/1: entry (k, tap, q) is 1 where input pixel
    q is read through ``tap`` by an output pixel of instance k that sees q
    (q's id is k). masks [B, K, H, W] one-hot at the input's size;
    instance_ids [B, 1, h, w] as the convolution takes them."""
    kh, kw = kernel_size
    batch, num_instances, height, width = masks.shape
    ids = resize_nearest(instance_ids.astype(masks.dtype), (height, width))  # [B, 1, H, W]
    same = (ids == paddle.arange(num_instances, dtype=masks.dtype).reshape([1, -1, 1, 1])).astype(masks.dtype)
    ph, pw = kh // 2, kw // 2
    padded = F.pad(masks, [pw, pw, ph, ph])
    # tap (a, b) reads x(p + (a - ph, b - pw)): q = p + offset is in instance k's
    # sum when p is, i.e. where the masks are 1 at q - offset, a window of the padded masks
    windows = [padded[:, :, 2 * ph - a: 2 * ph - a + height, 2 * pw - b: 2 * pw - b + width]
               for a in range(kh) for b in range(kw)]
    coefficients = paddle.stack(windows, axis=2) * same.unsqueeze(2)  # [B, K, kh*kw, H, W]
    return coefficients.reshape([batch, num_instances * kh * kw, height * width])


def instance_average_of_conv(x, instance_ids, instances, weight, bias):
    """instance_average_pool(instance_aware_conv2d(x, instance_ids, weight,
    bias, stride=1, padding=k // 2), instances): x [B, C, H, W];
    instance_ids [B, 1, H, W] (as the conv takes them); instances [B, K, h, w]
    one-hot; weight [Cout, C, kh, kw]; bias [Cout]. Returns [B, K, Cout]."""
    batch, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    with paddle.no_grad():
        masks = resize_nearest(instances.astype(x.dtype), (height, width))  # [B, K, H, W]
        coefficients = tap_coefficients(instance_ids, masks, (kh, kw))
        counts = masks.sum(axis=[2, 3]).unsqueeze(-1)  # [B, K, 1]
    num_instances = masks.shape[1]
    tap_sums = paddle.matmul(coefficients, x.reshape([batch, channels, height * width]), transpose_y=True)  # [B, K*kh*kw, C]
    tap_sums = tap_sums.reshape([batch, num_instances, kh * kw * channels])
    taps = weight.transpose([0, 2, 3, 1]).reshape([out_channels, kh * kw * channels])  # tap-major, as the sums
    sums = paddle.matmul(tap_sums, taps, transpose_y=True) + bias * counts  # [B, K, Cout]
    return sums / paddle.clip(counts, min=1.0)
