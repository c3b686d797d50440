"""Spectral normalization with the closed-form backward (the onednn backend):
Paddle's forward and power iteration exactly, its gradient to float rounding;
with the paddle backend, Paddle's hook exactly."""
import copy

import numpy as np
import paddle
import paddle.nn as nn
import pytest
from paddle.nn.utils import spectral_norm as paddle_spectral_norm

from inade import backends
from inade.backends.spectral_norm import _DivideBySigma, _output_is_smaller
from inade.networks.spectral import spectral_norm


def _twins(shape):
    """A layer spectral-normalised here and its copy by Paddle, with the same u and v."""
    ours = nn.Conv2D(shape[1], shape[0], shape[2])
    theirs = copy.deepcopy(ours)
    paddle_spectral_norm(theirs)
    spectral_norm(ours)
    ours.weight_u.set_value(theirs.weight_u)
    ours.weight_v.set_value(theirs.weight_v)
    return ours, theirs


# (32, 16, 4, 4) has fewer outputs (2 x 32 x 6 x 6) than weights: its output is divided by sigma
@pytest.mark.parametrize("shape,divides_output", [((8, 5, 3, 3), False), ((32, 16, 4, 4), True), ((6, 7, 1, 1), False)])
def test_matches_paddle_spectral_norm_through_training_steps(shape, divides_output):
    paddle.seed(3)
    ours, theirs = _twins(shape)
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


@pytest.mark.parametrize("shape", [(8, 5, 3, 3), (32, 16, 4, 4)])
def test_the_paddle_backend_runs_paddles_hook_exactly(shape):
    paddle.seed(5)
    ours, theirs = _twins(shape)
    x = paddle.randn([2, shape[1], 9, 9])
    with backends.using("paddle"):
        out_ours = ours(x)
    out_theirs = theirs(x)
    upstream = paddle.randn(out_ours.shape)
    paddle.autograd.backward([out_ours, out_theirs], [upstream, upstream])
    np.testing.assert_array_equal(out_ours.numpy(), out_theirs.numpy())
    np.testing.assert_array_equal(ours.weight_u.numpy(), theirs.weight_u.numpy())
    np.testing.assert_array_equal(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy())
