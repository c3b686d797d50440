"""Spectral normalization of the networks' convolutions, and folding it into
plain weights for sampling and export.

``spectral_norm`` gives a layer Paddle's parameters and buffers (weight_orig,
weight_u, weight_v: the names PyTorch and the reference checkpoints use) and
the same forward, weight_orig / sigma with sigma = u . (W v) from one power
iteration. The backend runs it (inade.backends.spectral_norm: a closed-form
backward with the onednn backend, Paddle's hook with the paddle backend).

In eval mode a spectral-normalised layer uses weight_orig / sigma, with sigma
from its stored u and v. Export (paddle.jit.save) does not trace Paddle's
spectral-norm hook faithfully, so exported copies carry that weight directly.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
from paddle.nn.utils import spectral_norm as _paddle_spectral_norm

from ..backends.spectral_norm import ClosedFormSpectralNorm
from ..paddle_private import SpectralNormHook, forward_post_hooks, forward_pre_hooks


def spectral_norm(layer: nn.Layer) -> nn.Layer:
    """Spectral-normalise ``layer.weight`` (a convolution, whose output channels
    are the weight's first axis) as paddle.nn.utils.spectral_norm does, run by
    the backend's hook (ClosedFormSpectralNorm). Returns the layer."""
    if not isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D)):
        raise TypeError(f"spectral_norm here takes a convolution (output channels first), got {type(layer).__name__}")
    _paddle_spectral_norm(layer)  # parameters, buffers and their random start, as Paddle makes them
    for key, hook in list(forward_pre_hooks(layer).items()):
        if type(hook) is SpectralNormHook:
            closed_form = ClosedFormSpectralNorm(hook.name, hook.n_power_iterations, hook.dim, hook.eps)
            forward_pre_hooks(layer)[key] = closed_form
            layer.register_forward_post_hook(closed_form.divide_output)
    return layer


def fold_spectral_norm(network: nn.Layer) -> nn.Layer:
    """Replace every spectral-norm hook of ``network`` (in place) by the weight
    it computes in eval mode. Returns the network."""
    for layer in network.sublayers(include_self=True):
        hooks = [(key, hook) for key, hook in forward_pre_hooks(layer).items() if isinstance(hook, SpectralNormHook)]
        for key, hook in hooks:
            with paddle.no_grad():
                weight = hook.compute_weight(layer, do_power_iteration=False).detach()
            del forward_pre_hooks(layer)[key]
            for post_key, post_hook in list(forward_post_hooks(layer).items()):
                if getattr(post_hook, "__self__", None) is hook:
                    del forward_post_hooks(layer)[post_key]
            delattr(layer, hook.name + "_orig")  # Layer.__delattr__ drops parameters and buffers
            buffers = dict(layer.named_buffers(include_sublayers=False))
            for name in (hook.name + "_u", hook.name + "_v"):
                if name in buffers:
                    delattr(layer, name)
            if hasattr(layer, hook.name):
                delattr(layer, hook.name)
            layer.add_parameter(hook.name, layer.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight)))
    return network
