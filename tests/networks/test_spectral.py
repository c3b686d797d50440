"""Spectral normalization with the closed-form backward: Paddle's forward and
power iteration exactly, its gradient to float rounding."""
import copy

import numpy as np
import paddle
import paddle.nn as nn
import pytest
from paddle.nn.utils import spectral_norm as paddle_spectral_norm

from inade.networks.spectral import _DivideBySigma, _output_is_smaller, spectral_norm


# (32, 16, 4, 4) has fewer outputs (2 x 32 x 6 x 6) than weights: its output is divided by sigma
@pytest.mark.parametrize("shape,divides_output", [((8, 5, 3, 3), False), ((32, 16, 4, 4), True), ((6, 7, 1, 1), False)])
def test_matches_paddle_spectral_norm_through_training_steps(shape, divides_output):
    paddle.seed(3)
    ours = nn.Conv2D(shape[1], shape[0], shape[2])
    theirs = copy.deepcopy(ours)
    paddle_spectral_norm(theirs)
    spectral_norm(ours)
    ours.weight_u.set_value(theirs.weight_u)
    ours.weight_v.set_value(theirs.weight_v)
    x = paddle.randn([2, shape[1], 9, 9])
    assert _output_is_smaller(ours, [x], ours.weight_orig) == divides_output
    for _ in range(3):
        out_ours, out_theirs = ours(x), theirs(x)
        upstream = paddle.randn(out_ours.shape)
        paddle.autograd.backward([out_ours, out_theirs], [upstream, upstream])
        if divides_output:  # conv(x, W) / sigma + b: the same function, rounded differently
            np.testing.assert_allclose(out_ours.numpy(), out_theirs.numpy(), rtol=1e-5, atol=1e-5 * np.abs(out_theirs.numpy()).max())
        else:
            np.testing.assert_array_equal(out_ours.numpy(), out_theirs.numpy())
        np.testing.assert_array_equal(ours.weight_u.numpy(), theirs.weight_u.numpy())
        for name in ("weight_orig", "bias"):
            grad_ours, grad_theirs = getattr(ours, name).grad.numpy(), getattr(theirs, name).grad.numpy()
            assert np.abs(grad_ours - grad_theirs).max() <= 1e-5 * np.abs(grad_theirs).max()
        with paddle.no_grad():  # the same move for both, so that later steps see a new sigma
            moved = theirs.weight_orig - 0.1 * theirs.weight_orig.grad
            for layer in (ours, theirs):
                layer.weight_orig.set_value(moved)
                layer.weight_orig.clear_gradient()
                layer.bias.clear_gradient()


def test_closed_form_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    weight, upstream = rng.standard_normal((6, 12)), rng.standard_normal((6, 12))
    u, v = rng.standard_normal(6), rng.standard_normal(12)
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)

    def loss(w):
        return (upstream * w / (u @ w @ v)).sum()

    tensor = paddle.to_tensor(weight, stop_gradient=False)
    sigma = paddle.to_tensor(u @ weight @ v)
    out = _DivideBySigma.apply(tensor, paddle.to_tensor(u), paddle.to_tensor(v), sigma)
    paddle.autograd.backward([out], [paddle.to_tensor(upstream)])
    numeric = np.zeros_like(weight)
    for index in np.ndindex(*weight.shape):
        step = np.zeros_like(weight)
        step[index] = 1e-6
        numeric[index] = (loss(weight + step) - loss(weight - step)) / 2e-6
    np.testing.assert_allclose(tensor.grad.numpy(), numeric, atol=1e-7)


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
    assert not layer._forward_pre_hooks and not layer._forward_post_hooks
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6, atol=1e-6)
