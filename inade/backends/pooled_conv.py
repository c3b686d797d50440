"""The encoder's heads, an instance-aware convolution averaged over each
instance, without the convolution's maps (the onednn backend's).

The heads' convolution (4 x noise_nc outputs at full resolution: 19 GFLOP of
the encoder's ~28 at the paper setting) is only ever averaged over each
instance's pixels. Both are linear, so the sum of the output over instance k
is the weight applied to per-tap sums of the input,

    sum_{p in k} out(p) = sum_taps W_tap . S_tap(k) + b |k|,
    S_tap(k) = sum of x(q) over the pixels q = p + offset(tap), p in k, that the
               instance-aware convolution lets p see (q in the image, q in k),

and each S_tap(k) is the sum of x over all of instance k's pixels less the
pixels whose neighbour at -offset is not in k: border pixels only. So the
heads cost one [K, HW] x [HW, C] product, a sum over the border pixels and
a [K, 9C] x [9C, Cout] product, instead of a full-resolution
convolution; no map of 4 x noise_nc channels or its gradient is written. The
same function as the plain path to float rounding, for one-hot instance maps
(a pixel of no instance counts as instance 0's wherever the convolution's
argmax ids say so, as in the plain path).
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F

from .. import backends
from ..layers.resize import resize_nearest


def applies(num_instances: int, out_channels: int) -> bool:
    """Whether the encoder takes this path: with the onednn backend, in a
    dynamic graph, where it does less work than the convolution (fewer
    instances than output channels)."""
    return backends.fast() and paddle.in_dynamic_mode() and num_instances < out_channels


def neighbour_agreement(ids, has_instance, kernel_size: tuple):
    """[B, kh*kw, H, W] bool: for each tap, whether the pixel p = q - offset
    whose window reads q through that tap is in the image, in an instance and
    in q's (so that q is in p's instance sum for that tap). ids [B, 1, H, W]
    as the convolution takes them; has_instance [B, 1, H, W] bool."""
    kh, kw = kernel_size
    height, width = ids.shape[2:]
    ph, pw = kh // 2, kw // 2
    padded_ids = F.pad(ids, [pw, pw, ph, ph], value=-1.0)  # outside matches no id
    padded_has = F.pad(has_instance.astype(ids.dtype), [pw, pw, ph, ph]) > 0

    def window(padded, a, b):  # the pixel q - (a - ph, b - pw) for every q
        return padded[:, :, 2 * ph - a: 2 * ph - a + height, 2 * pw - b: 2 * pw - b + width]

    return paddle.concat([(window(padded_ids, a, b) == ids) & window(padded_has, a, b)
                          for a in range(kh) for b in range(kw)], axis=1)


def instance_tap_sums(x, ids, masks, kernel_size: tuple):
    """[B, K, kh*kw*C] (tap-major): S_tap(k) of the module docstring. x
    [B, C, H, W]; ids [B, 1, H, W] at x's size; masks [B, K, H, W] one-hot."""
    batch, channels, height, width = x.shape
    num_instances = masks.shape[1]
    taps = kernel_size[0] * kernel_size[1]
    with paddle.no_grad():
        same = (ids == paddle.arange(num_instances, dtype=x.dtype).reshape([1, -1, 1, 1])).astype(x.dtype)  # [B, K, H, W]
        agreement = neighbour_agreement(ids, masks.sum(axis=1, keepdim=True) > 0, kernel_size)  # [B, taps, H, W]
        border = paddle.nonzero(~agreement.all(axis=1))  # [Nb, 3]: (image, row, col)
    whole = paddle.matmul(same.reshape([batch, num_instances, height * width]),
                          x.reshape([batch, channels, height * width]), transpose_y=True)  # [B, K, C]
    sums = whole.unsqueeze(2).expand([batch, num_instances, taps, channels])
    if border.shape[0]:
        with paddle.no_grad():
            image, row, col = border[:, 0], border[:, 1], border[:, 2]
            disagreement = 1.0 - paddle.gather_nd(agreement.transpose([0, 2, 3, 1]), border).astype(x.dtype)  # [Nb, taps]
            owner = image * num_instances + paddle.gather_nd(ids[:, 0], border).astype("int64")  # [Nb]: (image, instance)
            pixel = image * (height * width) + row * width + col
        # rows of a pixels-first copy: Paddle's index_select along the last
        # axis (and its gradient) was several times slower
        pixels = paddle.gather(x.transpose([0, 2, 3, 1]).reshape([-1, channels]), pixel)  # [Nb, C]
        # each pixel's outer product as a batched matmul of k = 1: the same
        # products, 2-3x faster forward and backward than Paddle's broadcast multiply
        unseen = paddle.matmul(disagreement.unsqueeze(-1), pixels.unsqueeze(1))  # [Nb, taps, C]
        correction = paddle.index_add(paddle.zeros([batch * num_instances, taps * channels], x.dtype), owner, 0,
                                      unseen.reshape([-1, taps * channels]))  # [B*K, taps*C]
        sums = sums - correction.reshape([batch, num_instances, taps, channels])
    return sums.reshape([batch, num_instances, taps * channels])


def instance_average_of_conv(x, instance_ids, instances, weight, bias):
    """instance_average_pool(instance_aware_conv2d(x, instance_ids, weight,
    bias, stride=1, padding=k // 2), instances): x [B, C, H, W];
    instance_ids [B, 1, h, w] (as the conv takes them); instances [B, K, h, w]
    one-hot; weight [Cout, C, kh, kw]; bias [Cout]. Returns [B, K, Cout]."""
    height, width = x.shape[2:]
    out_channels, channels, kh, kw = weight.shape
    with paddle.no_grad():
        masks = resize_nearest(instances.astype(x.dtype), (height, width))  # [B, K, H, W]
        ids = resize_nearest(instance_ids.astype(x.dtype), (height, width))  # [B, 1, H, W]
        counts = masks.sum(axis=[2, 3]).unsqueeze(-1)  # [B, K, 1]
    tap_sums = instance_tap_sums(x, ids, masks, (kh, kw))  # [B, K, kh*kw*C]
    taps = weight.transpose([0, 2, 3, 1]).reshape([out_channels, kh * kw * channels])  # tap-major, as the sums
    sums = paddle.matmul(tap_sums, taps, transpose_y=True) + bias * counts  # [B, K, Cout]
    return sums / paddle.clip(counts, min=1.0)
