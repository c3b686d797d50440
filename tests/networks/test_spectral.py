"""Spectral normalization of the networks' layers: checkpoint names, and
folding into plain weights (the backward is tested in tests/backends)."""
import numpy as np
import paddle
import paddle.nn as nn
import pytest

from inade.networks.spectral import spectral_norm
from inade.paddle_private import forward_post_hooks, forward_pre_hooks


def test_keeps_the_parameter_and_buffer_names_of_checkpoints():
    layer = spectral_norm(nn.Conv2D(3, 4, 3))
    assert set(layer.state_dict()) == {"weight_orig", "weight_u", "weight_v", "bias"}


def test_refuses_a_layer_whose_output_axis_is_not_first():
    with pytest.raises(TypeError, match="convolution"):
        spectral_norm(nn.Linear(3, 4))


def test_folding_removes_both_hooks_and_keeps_the_eval_output():
    from inade.networks.spectral import fold_spectral_norm

    paddle.seed(1)
    layer = spectral_norm(nn.Conv2D(16, 32, 4))
    x = paddle.randn([1, 16, 6, 6])
    layer(x)  # a training forward through the output-dividing path moves u and v
    layer.eval()
    expected = layer(x).numpy()
    fold_spectral_norm(layer)
    assert not forward_pre_hooks(layer) and not forward_post_hooks(layer)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6, atol=1e-6)
