"""The reference initialisation: Xavier normal (gain 0.02) for every conv and
linear weight, zero biases; INADE class tables keep their own init."""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn

from ..layers.instance_conv import InstanceAwareConv2d


def _xavier_normal_(param: paddle.Tensor, gain: float, fan_in: int, fan_out: int) -> None:
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    param.set_value(paddle.normal(0.0, std, shape=param.shape).astype(param.dtype))


def init_weights(network: nn.Layer, gain: float = 0.02) -> None:
    for layer in network.sublayers(include_self=True):
        if isinstance(layer, (nn.Conv2D, InstanceAwareConv2d)):
            # A spectral-normalised conv keeps its trainable weight as weight_orig.
            weight = getattr(layer, "weight_orig", None)
            if weight is None:
                weight = layer.weight
            out_c, in_c, kh, kw = weight.shape
            _xavier_normal_(weight, gain, in_c * kh * kw, out_c * kh * kw)
        elif isinstance(layer, nn.Linear):
            fan_in, fan_out = layer.weight.shape  # paddle stores [in, out]
            _xavier_normal_(layer.weight, gain, fan_in, fan_out)
        else:
            continue
        bias = getattr(layer, "bias", None)
        if bias is not None:
            bias.set_value(paddle.zeros_like(bias))


def count_parameters(network: nn.Layer) -> int:
    """Trainable parameters (spectral-norm u/v and norm statistics are buffers)."""
    return int(sum(int(p.size) for p in network.parameters() if not p.stop_gradient))
