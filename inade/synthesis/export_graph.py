"""Changes to a copy of a network before it is saved for Paddle Inference,
each computing the same function in a form Paddle Inference's oneDNN kernels
run (see also inade.layers.activation and inade.layers.resize, whose saved
forms avoid the operators they fail on)."""
from __future__ import annotations

import paddle.nn as nn

from ..layers.norms import FoldedBatchNorm, InadeNorm, running_affine


def _add_unit_affine_parameters(norm: nn.BatchNorm2D) -> None:
    channels = next(iter(norm.state_dict().values())).shape[0]  # the running mean and variance: [C]
    norm.weight = norm.create_parameter([channels], default_initializer=nn.initializer.Constant(1.0))
    norm.bias = norm.create_parameter([channels], is_bias=True, default_initializer=nn.initializer.Constant(0.0))


def give_batch_norms_affine_parameters(network: nn.Layer) -> nn.Layer:
    """Give each batch norm without affine parameters (the generator's
    parameter-free norms) a unit scale and a zero shift, in place:
    oneDNN's batch-norm kernel in Paddle Inference crashes on a missing scale."""
    for layer in network.sublayers():
        if isinstance(layer, nn.BatchNorm2D) and layer.weight is None:
            _add_unit_affine_parameters(layer)
    return network


def fold_inade_batch_norms(network: nn.Layer) -> nn.Layer:
    """Put a FoldedBatchNorm in place of each INADE norm's eval-mode batch
    norm, in place: the saved graph then reads the per-channel a and b that
    the norm folds into its rows, instead of computing them on every run from
    the running statistics (Paddle Inference does not fold those operators)."""
    for layer in network.sublayers(include_self=True):
        if isinstance(layer, InadeNorm):
            affine = running_affine(layer.param_free_norm)
            if affine is not None:
                layer.param_free_norm = FoldedBatchNorm(*affine)
    return network
