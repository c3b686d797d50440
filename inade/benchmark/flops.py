"""FLOPs of the networks, counted at the operations that dominate: products.

One multiply-add counts as 2 FLOPs. Counted in a forward pass:

- every convolution (nn.Conv2D, the plain-conv part of InstanceAwareConv2d,
  the encoder's four heads, which it runs as one functional conv, or as
  instance sums and one product where backends/pooled_conv.py runs them):
  2 * Cout * Cin/groups * kh * kw * Hout * Wout per image;
- every nn.Linear (the generator's z layer, the norms' noise layers);
- INADE's norm: its two [P, C] x [P, HW] products (gamma and beta spread from
  the P (class, instance) pairs present), 2 * 2 * P * C * H * W per image
  (where it recomputes, model.recompute_norms, the training backward spreads gamma once more);
- the encoder's instance pooling, a [K, HW] x [HW, 4 noise_nc] product.

Backward (``count_training_flops``, one real training step with hooks): each
counted product costs its forward FLOPs again for the input gradient, if its
input needs one, and again for the weight gradient, if its weight is being
trained at that moment; the norm's and the pooling's products have one
differentiated operand. So the first layers (the image, z) cost 2x, frozen
weights (D's in the G step, if the step freezes them) cost 2x, the rest 3x,
and nothing is assumed about how the step is written.

Not counted (a few percent together): the instance-aware convs' corrections
at the pixels whose window crosses an instance border (data-dependent, about
5% of the encoder's convs on the paper layout), element-wise work (norm
statistics, activations, resizing, losses, Adam's updates) and the spectral
norms' power iterations (vector-matrix products).
"""
from __future__ import annotations

from typing import NamedTuple

import paddle
import paddle.nn as nn

from ..backends.conv import pair
from ..backends.pooled_conv import applies as pooled_heads_apply
from ..backends.narrow_conv import NarrowConv2D
from ..layers.instance_conv import InstanceAwareConv2d
from ..layers.norms import InadeNorm, class_instance_pairs
from ..networks.encoder import HEADS, InstanceAdaptiveEncoder
from ..paddle_private import conv_settings


def _trains(*tensors) -> int:
    """How many of ``tensors`` get a gradient in this call (0 under no_grad)."""
    if not paddle.is_grad_enabled():
        return 0
    return sum(1 for t in tensors if t is not None and not t.stop_gradient)


class ConvSignature(NamedTuple):
    """What one convolution call computes, for timing it alone (floor.py).
    Every convolution here pads with zeros by an int."""

    input_shape: tuple
    weight_shape: tuple
    stride: tuple
    padding: tuple
    groups: int
    input_grad: bool
    weight_grad: bool
    narrow: bool  # run by few_outputs_conv2d
    bias: bool  # whether a bias is added (it decides which kernel oneDNN can use)


def conv_signature(layer, inputs) -> ConvSignature:
    """The ConvSignature of ``layer`` called on ``inputs``."""
    if isinstance(layer, InstanceAwareConv2d):
        stride, padding, groups = layer.stride, layer.padding, 1
    else:
        settings = conv_settings(layer)
        stride, padding, groups = settings.stride, settings.padding, settings.groups
    return ConvSignature(tuple(int(d) for d in inputs[0].shape), tuple(int(d) for d in layer.weight.shape),
                         pair(stride), pair(padding), groups, _trains(inputs[0]) > 0, _trains(layer.weight) > 0,
                         isinstance(layer, NarrowConv2D), layer.bias is not None)


def _conv(layer, inputs, output):
    out_channels, in_per_group, kh, kw = layer.weight.shape
    batch, _, height, width = output.shape
    flops = 2 * int(batch) * out_channels * in_per_group * kh * kw * int(height) * int(width)
    return flops, flops * _trains(inputs[0], layer.weight)


def _linear(layer, inputs, output):
    fan_in, fan_out = layer.weight.shape
    flops = 2 * (int(paddle.numel(output)) // fan_out) * fan_in * fan_out
    return flops, flops * _trains(inputs[0], layer.weight)


def _inade_norm(layer, inputs, output):
    # forward(x, segmap, instances, noise, positional, pairs): P from the pairs'
    # masks [B, P, H, W], or found again when the norm was called without them
    pairs = inputs[5] if len(inputs) > 5 and inputs[5] is not None else None
    if pairs is None:
        pairs = class_instance_pairs(inputs[1], inputs[2], layer.num_classes)
    batch, channels, height, width = output.shape
    flops = 2 * 2 * int(batch) * int(pairs[0].shape[1]) * channels * int(height) * int(width)
    # the per-pair rows carry the gradient (tables, noise layer, encoded noise); the masks none
    rows_train = _trains(layer.class_weight, layer.class_bias, layer.fc_noise.weight, inputs[3]) > 0
    if not layer.recomputes(inputs[0].shape):
        return flops, flops * rows_train
    # the fused node (backends/fused_norm.py): two per-pair sums serve every
    # gradient, and x's gradient spreads gamma once more
    x_train = _trains(inputs[0]) > 0
    return flops, flops * (rows_train or x_train) + flops // 2 * x_train


def _encoder_tail(encoder: InstanceAdaptiveEncoder, instances_seen: list, convolutions: list):
    """Counted at up3 (whose output, upsampled 2x, feeds them): the fused heads
    and the instance pooling of their maps, or, where backends/pooled_conv.py
    runs them, its two products (instance sums, then the weight)."""
    heads = [getattr(encoder, name) for name in HEADS]
    out_channels = sum(h.weight.shape[0] for h in heads)
    _, in_channels, kh, kw = heads[0].weight.shape

    def counter(layer, inputs, output):
        batch, _, height, width = (int(d) for d in output.shape)
        forward, backward = _conv(layer, inputs, output)
        pixels, num_instances = 4 * height * width, instances_seen[0]
        heads_trained, input_trains = _trains(heads[0].weight) > 0, _trains(output) > 0
        if pooled_heads_apply(num_instances, out_channels):
            instance_sums = 2 * batch * num_instances * pixels * in_channels  # the border corrections are not counted
            weighting = 2 * batch * num_instances * kh * kw * in_channels * out_channels
            return (forward + instance_sums + weighting,
                    backward + instance_sums * input_trains + weighting * (input_trains + heads_trained))
        convolutions.append(ConvSignature((batch, in_channels, 2 * height, 2 * width), (out_channels, in_channels, kh, kw),
                                          (1, 1), pair(heads[0].padding), 1, input_trains, heads_trained,
                                          narrow=False, bias=True))
        heads_flops = 2 * batch * out_channels * in_channels * kh * kw * pixels
        pooling = 2 * batch * num_instances * pixels * out_channels
        maps_train = input_trains or heads_trained
        return (forward + heads_flops + pooling,
                backward + heads_flops * (input_trains + heads_trained) + pooling * maps_train)
    return counter


class FlopCounter:
    """Forward and backward FLOPs of everything ``networks`` ({name: layer})
    compute while the counter is open, per network; and the signature of
    every convolution call (``convolutions``, see conv_signature)."""

    def __init__(self, networks: dict):
        self.totals = {name: {"forward": 0, "backward": 0} for name in networks}
        self.convolutions = []
        self.hooks = []
        for name, network in networks.items():
            self._attach(name, network)

    def _add(self, name, counter):
        def hook(layer, inputs, output):
            if isinstance(layer, (nn.Conv2D, InstanceAwareConv2d)):
                self.convolutions.append(conv_signature(layer, inputs))
            forward, backward = counter(layer, inputs, output)
            self.totals[name]["forward"] += forward
            self.totals[name]["backward"] += backward
        return hook

    def _attach(self, name, network):
        special, skipped = {}, set()
        for layer in network.sublayers(include_self=True):
            if isinstance(layer, InstanceAdaptiveEncoder):
                instances_seen = [0]  # K of the call being counted, set before the call
                special[id(layer.up3)] = _encoder_tail(layer, instances_seen, self.convolutions)
                skipped |= {id(getattr(layer, head)) for head in HEADS}  # run functionally, never called
                self.hooks.append(layer.register_forward_pre_hook(
                    lambda layer, inputs, seen=instances_seen: seen.__setitem__(0, int(inputs[1].shape[1]))))
        for layer in network.sublayers(include_self=True):
            if id(layer) in special:
                counter = special[id(layer)]
            elif id(layer) in skipped:
                continue
            elif isinstance(layer, (nn.Conv2D, InstanceAwareConv2d)):
                counter = _conv
            elif isinstance(layer, nn.Linear):
                counter = _linear
            elif isinstance(layer, InadeNorm):
                counter = _inade_norm
            else:
                continue
            self.hooks.append(layer.register_forward_post_hook(self._add(name, counter)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for hook in self.hooks:
            hook.remove()
        self.hooks = []


def counted(networks: dict, call, gradients: bool = True) -> FlopCounter:
    """Run ``call()`` with ``networks`` ({name: layer}) counted; the closed counter."""
    with FlopCounter({name: net for name, net in networks.items() if net is not None}) as counter:
        if gradients:
            call()
        else:
            with paddle.no_grad():
                call()
    return counter


def count_flops(network: nn.Layer, *inputs, **kwargs) -> int:
    """Forward FLOPs of ``network(*inputs, **kwargs)`` (run once, without gradients)."""
    return counted({"network": network}, lambda: network(*inputs, **kwargs), gradients=False).totals["network"]["forward"]


def count_training_flops(networks: dict, step) -> dict:
    """{name: {"forward", "backward"}} FLOPs of one call of ``step`` (a whole
    training iteration), whose every differentiated graph is backpropagated."""
    return counted(networks, step).totals
