"""The instance-adaptive encoder: a reference photo -> per-instance style distributions."""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..backends.pooled_conv import applies as pooled_heads_apply, instance_average_of_conv
from ..layers.activation import leaky_relu
from ..layers.instance_conv import InstanceAwareConv2d, instance_aware_conv2d
from ..layers.instance_pool import instance_average_pool
from ..layers.resize import upsample_bilinear_2x
from .init import init_weights

HEADS = ("scale_conv_mu", "scale_conv_var", "bias_conv_mu", "bias_conv_var")


def _norm_act(x):
    return leaky_relu(F.instance_norm(x, eps=1e-5), 0.2, overwrite=True)


def _up(x):
    return upsample_bilinear_2x(x)


def pooled_heads(y, ids, instances, weight, bias):
    """The heads' instance-aware convolution averaged over each instance:
    [B, K, Cout]. With the onednn backend, computed without the convolution's
    maps (backends/pooled_conv.py) where that is less work."""
    if pooled_heads_apply(instances.shape[1], weight.shape[0]):
        return instance_average_of_conv(y, ids, instances, weight, bias)
    maps = instance_aware_conv2d(y, ids, weight, bias, stride=1, padding=1)  # [B, Cout, H, W]
    return instance_average_pool(maps, instances)


def instance_colour_statistics(image, instances):
    """Each instance's mean and standard deviation of the image's channels:
    [B, K, 2C] from image [B, C, H, W] and one-hot instances [B, K, H, W]."""
    pixels = instance_average_pool(paddle.concat([image, image * image], axis=1), instances)  # [B, K, 2C]
    mean, mean_square = paddle.split(pixels, 2, axis=-1)
    std = paddle.sqrt(paddle.clip(mean_square - mean * mean, min=1e-6))
    return paddle.concat([mean, std], axis=-1)


class InstanceAdaptiveEncoder(nn.Layer):
    """U-Net of instance-aware convs whose four full-resolution heads are
    averaged over each instance's pixels.

    forward(image [B, 3, H, W], instances [B, K, H, W]) ->
    (scale_mu, scale_logvar, bias_mu, bias_logvar), each [B, K, noise_nc].
    H and W must be multiples of 16.

    colour_statistics (not in the reference) adds, through a small MLP, each
    instance's mean and standard deviation of RGB to the pooled heads: every
    layer of the U-Net instance-normalises over the whole image, which leaves
    an instance's absolute colour only as a contrast with the rest of the
    image, and the heads' average pooling mostly cancels stripe texture.
    """

    reads_instances = True  # forward takes the instance map after the photo

    def __init__(self, ndf: int = 64, noise_nc: int = 64, colour_statistics: bool = False):
        super().__init__()
        self.noise_nc = noise_nc
        self.layer1 = InstanceAwareConv2d(3, ndf, 3, stride=2)
        self.layer2 = InstanceAwareConv2d(ndf, 2 * ndf, 3, stride=2)
        self.layer3 = InstanceAwareConv2d(2 * ndf, 4 * ndf, 3, stride=2)
        self.layer4 = InstanceAwareConv2d(4 * ndf, 8 * ndf, 3, stride=2)
        self.middle = InstanceAwareConv2d(8 * ndf, 4 * ndf, 3)
        self.up1 = InstanceAwareConv2d(8 * ndf, 2 * ndf, 3)
        self.up2 = InstanceAwareConv2d(4 * ndf, ndf, 3)
        self.up3 = InstanceAwareConv2d(2 * ndf, ndf, 3)
        for name in HEADS:
            setattr(self, name, InstanceAwareConv2d(ndf, noise_nc, 3))
        init_weights(self)
        self.colour_mlp = None
        if colour_statistics:
            # Built after init_weights: the reference's gain-0.02 init would make
            # this three-layer path start (and learn) about 0.02^3 times too small.
            hidden = 8 * noise_nc
            self.colour_mlp = nn.Sequential(
                nn.Linear(6, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                nn.Linear(hidden, len(HEADS) * noise_nc),
            )

    def variance_parameters(self) -> list:
        """The parameters only the log-variances depend on (the heads'
        colour-statistics path is shared with the means)."""
        return [p for name in HEADS if name.endswith("_var") for p in getattr(self, name).parameters()]

    def check_inputs(self, image, instances):
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"encoder image must be [B, 3, H, W], got {list(image.shape)}")
        if list(instances.shape[2:]) != list(image.shape[2:]) or instances.shape[0] != image.shape[0]:
            raise ValueError(
                f"instance map {list(instances.shape)} does not match the image {list(image.shape)} in batch or size"
            )
        if image.shape[2] % 16 or image.shape[3] % 16:
            raise ValueError(f"encoder input height and width must be multiples of 16, got {list(image.shape[2:])}")

    def forward(self, image, instances):
        if paddle.in_dynamic_mode():  # exported graphs get their shapes from the input specs
            self.check_inputs(image, instances)
        ids = paddle.argmax(instances, axis=1, keepdim=True).astype(image.dtype)  # [B, 1, H, W]
        x1 = _norm_act(self.layer1(image, ids))
        x2 = _norm_act(self.layer2(x1, ids))
        x3 = _norm_act(self.layer3(x2, ids))
        x4 = _norm_act(self.layer4(x3, ids))
        y = _up(_norm_act(self.middle(x4, ids)))
        y = _up(_norm_act(self.up1(paddle.concat([y, x3], axis=1), ids)))
        y = _up(_norm_act(self.up2(paddle.concat([y, x2], axis=1), ids)))
        y = _up(_norm_act(self.up3(paddle.concat([y, x1], axis=1), ids)))
        # The four heads see the same input and instance map: run them as one conv.
        heads = [getattr(self, name) for name in HEADS]
        weight = paddle.concat([h.weight for h in heads], axis=0)
        bias = paddle.concat([h.bias for h in heads], axis=0)
        pooled = pooled_heads(y, ids, instances, weight, bias)  # [B, K, 4*noise_nc]
        if self.colour_mlp is not None:
            pooled = pooled + self.colour_mlp(instance_colour_statistics(image, instances))
        return tuple(paddle.split(pooled, len(HEADS), axis=-1))
