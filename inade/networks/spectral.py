"""Fold spectral normalization into plain weights.

In eval mode a spectral-normalised layer uses weight_orig / sigma, with sigma
from its stored u and v. Export (paddle.jit.save) does not trace Paddle's
spectral-norm hook faithfully, so exported copies carry that weight directly.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
from paddle.nn.utils.spectral_norm_hook import SpectralNorm


def fold_spectral_norm(network: nn.Layer) -> nn.Layer:
    """Replace every spectral-norm hook of ``network`` (in place) by the weight
    it computes in eval mode. Returns the network."""
    for layer in network.sublayers(include_self=True):
        hooks = [(key, hook) for key, hook in layer._forward_pre_hooks.items() if isinstance(hook, SpectralNorm)]
        for key, hook in hooks:
            with paddle.no_grad():
                weight = hook.compute_weight(layer, do_power_iteration=False).detach()
            del layer._forward_pre_hooks[key]
            del layer._parameters[hook.name + "_orig"]
            for suffix in ("_u", "_v"):
                layer._buffers.pop(hook.name + suffix, None)
            if hasattr(layer, hook.name):
                delattr(layer, hook.name)
            layer.add_parameter(hook.name, layer.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight)))
    return network
