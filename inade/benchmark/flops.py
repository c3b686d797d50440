"""FLOPs of a forward pass, counted at the layers that dominate: convolutions,
linear layers and the products inside INADE's normalization.

One multiply-add counts as 2 FLOPs. Element-wise work (activations, norms'
statistics, additions) is left out; it is a few percent here. A training
iteration is counted as 3x the forward FLOPs of what gets gradients (the
backward pass computes input and weight gradients, ~2x the forward), see run.py.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn

from ..layers.instance_conv import InstanceAwareConv2d
from ..layers.norms import InadeNorm
from ..networks.encoder import HEADS, InstanceAdaptiveEncoder


def _conv_flops(layer, inputs, output) -> int:
    weight = layer.weight
    out_channels, in_per_group = weight.shape[0], weight.shape[1]
    kernel = weight.shape[2] * weight.shape[3]
    return 2 * int(output.shape[0]) * out_channels * in_per_group * kernel * int(output.shape[2]) * int(output.shape[3])


def _linear_flops(layer, inputs, output) -> int:
    fan_in, fan_out = layer.weight.shape
    return 2 * (int(paddle.numel(output)) // fan_out) * fan_in * fan_out


def _inade_norm_flops(layer, inputs, output) -> int:
    # gamma and beta: one [P, C] x [P, HW] product each, P = (class, instance) pairs
    batch, channels, height, width = output.shape
    pairs = inputs[5][0].shape[1] if len(inputs) > 5 and inputs[5] is not None else inputs[2].shape[1]
    return 2 * 2 * int(batch) * channels * int(pairs) * int(height) * int(width)


def _encoder_heads_flops(encoder):
    # The instance-adaptive encoder runs its four heads as one functional conv on
    # up3's output upsampled x2, which no layer hook sees.
    def counter(layer, inputs, output):
        heads = [getattr(encoder, name) for name in HEADS]
        out_channels = sum(h.weight.shape[0] for h in heads)
        kernel = heads[0].weight.shape[2] * heads[0].weight.shape[3]
        batch, channels, height, width = output.shape
        return _conv_flops(layer, inputs, output) + 2 * int(batch) * out_channels * channels * kernel * 4 * int(height) * int(width)
    return counter


def count_flops(network: nn.Layer, *inputs, **kwargs) -> int:
    """Forward FLOPs of ``network(*inputs, **kwargs)`` (run once, without gradients)."""
    total = [0]
    hooks = []
    special, heads = {}, set()
    for layer in network.sublayers(include_self=True):
        if isinstance(layer, InstanceAdaptiveEncoder):
            special[id(layer.up3)] = _encoder_heads_flops(layer)
            heads |= {id(getattr(layer, name)) for name in HEADS}
    for layer in network.sublayers(include_self=True):
        if id(layer) in special:
            counter = special[id(layer)]
        elif id(layer) in heads:
            continue
        elif isinstance(layer, (nn.Conv2D, InstanceAwareConv2d)) and hasattr(layer, "weight"):
            counter = _conv_flops
        elif isinstance(layer, nn.Linear):
            counter = _linear_flops
        elif isinstance(layer, InadeNorm):
            counter = _inade_norm_flops
        else:
            continue
        hooks.append(layer.register_forward_post_hook(
            lambda layer, inp, out, counter=counter: total.__setitem__(0, total[0] + counter(layer, inp, out))))
    try:
        with paddle.no_grad():
            network(*inputs, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return total[0]
