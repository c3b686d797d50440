"""Every use inade makes of Paddle's private APIs, in one place.

Paddle offers no public way to read a convolution's or batch norm's settings
back from the layer, to list an optimizer's parameters, to reach the hooks a
layer holds, to name its random-generator state class, or to run its batch-norm
kernel for the batch statistics alone. Each is wrapped here, and
tests/test_paddle_private.py checks every wrapper against the installed Paddle:
a Paddle release that renames or changes one fails those tests by name instead
of breaking training somewhere else. The Paddle versions they pass on are the
range in pyproject.toml (3.3.x).
"""
from __future__ import annotations

from typing import NamedTuple

import paddle
import paddle.nn as nn
from paddle import _C_ops
from paddle.nn.utils.spectral_norm_hook import SpectralNorm as SpectralNormHook  # noqa: F401 (the hook class)


class ConvSettings(NamedTuple):
    """What an nn.Conv1D/2D/3D was built with."""
    stride: list | int
    padding: list | int | str  # as given to the constructor
    padding_per_axis: list  # the explicit padding Paddle's own forward passes
    padding_algorithm: str  # EXPLICIT, SAME or VALID
    padding_mode: str  # zeros, reflect, replicate, circular
    dilation: list | int
    groups: int
    data_format: str


def conv_settings(layer: nn.Layer) -> ConvSettings:
    return ConvSettings(layer._stride, layer._padding, layer._updated_padding, layer._padding_algorithm,
                        layer._padding_mode, layer._dilation, layer._groups, layer._data_format)


class BatchNormSettings(NamedTuple):
    running_mean: paddle.Tensor
    running_variance: paddle.Tensor
    momentum: float  # the running value's weight (0.9 == torch's 0.1)
    epsilon: float
    data_format: str
    use_global_stats: bool | None


def batch_norm_settings(norm: nn.Layer) -> BatchNormSettings:
    return BatchNormSettings(norm._mean, norm._variance, norm._momentum, norm._epsilon, norm._data_format,
                             norm._use_global_stats)


def batch_statistics(norm: nn.Layer, x: paddle.Tensor):
    """(mean, 1 / sqrt(var + eps)) per channel of the NCHW batch ``x``, with
    ``norm``'s running statistics updated as its training forward would; no
    gradient path. Paddle's own batch-norm kernel (as F.batch_norm calls it)
    returns both beside the normalized output, which is dropped: one pass
    cheaper than computing the statistics from ops."""
    settings = batch_norm_settings(norm)
    with paddle.no_grad():
        _, _, _, mean, inv_std, _ = _C_ops.batch_norm(
            x, settings.running_mean, settings.running_variance, None, None, False, settings.momentum,
            settings.epsilon, "NCHW", False, False)
    return mean, inv_std


def optimizer_parameters(optimizer) -> list:
    """The parameters ``optimizer`` updates (the list itself, in its order)."""
    return optimizer._parameter_list


def forward_pre_hooks(layer: nn.Layer) -> dict:
    """The layer's forward pre-hooks by key (the live dict: changes apply to the layer)."""
    return layer._forward_pre_hooks


def forward_post_hooks(layer: nn.Layer) -> dict:
    """The layer's forward post-hooks by key (the live dict)."""
    return layer._forward_post_hooks


def generator_state_class() -> type:
    """The class of Paddle's random-generator states (as paddle.get_rng_state returns them)."""
    return type(paddle.get_rng_state(device="cpu")[0])


def leaky_relu_gradient(sign_source: paddle.Tensor, grad: paddle.Tensor, negative_slope: float) -> paddle.Tensor:
    """Paddle's leaky-ReLU backward kernel: ``grad`` where ``sign_source`` > 0,
    ``negative_slope * grad`` elsewhere (Paddle passes the op's input as ``sign_source``)."""
    return _C_ops.leaky_relu_grad(sign_source, grad, negative_slope)
