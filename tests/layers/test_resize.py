import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from inade.layers.activation import leaky_relu
from inade.layers.resize import (nearest_source_indices, resize_bilinear, resize_nearest, upsample_bilinear_2x,
                                 upsample_nearest_2x)


@pytest.mark.parametrize("shape", [(1, 3, 4, 4), (2, 5, 3, 7)])
def test_upsample_2x_matches_nearest_interpolation_forward_and_backward(shape):
    paddle.seed(0)
    x = paddle.randn(shape)
    upstream = paddle.randn([shape[0], shape[1], 2 * shape[2], 2 * shape[3]])
    outputs, grads = [], []
    for fn in (upsample_nearest_2x, lambda t: F.interpolate(t, scale_factor=2, mode="nearest")):
        leaf = x.clone()
        leaf.stop_gradient = False
        out = fn(leaf)
        paddle.autograd.backward([out], [upstream])
        outputs.append(out.numpy())
        grads.append(leaf.grad.numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def test_upsample_2x_without_gradient_takes_no_autograd_node():
    x = paddle.randn([1, 2, 3, 3])
    with paddle.no_grad():
        out = upsample_nearest_2x(x)
    assert out.stop_gradient
    np.testing.assert_array_equal(out.numpy(), F.interpolate(x, scale_factor=2, mode="nearest").numpy())


class _Call(paddle.nn.Layer):
    def __init__(self, function, *args):
        super().__init__()
        self.function, self.args = function, args

    def forward(self, x):
        return self.function(x, *self.args)


def _saved_form(function, *args, shape):
    """``function`` as a saved graph runs it (paddle.jit.to_static, a dynamic batch)."""
    spec = [paddle.static.InputSpec([None, *shape[1:]], "float32")]
    return paddle.jit.to_static(_Call(function, *args), input_spec=spec, full_graph=True)


# shrinking by whole and by fractional factors, growing, one axis unchanged
SIZES = [((64, 64), (4, 4)), ((64, 64), (32, 16)), ((30, 20), (7, 9)), ((8, 8), (24, 40)), ((5, 7), (5, 3))]


@pytest.mark.parametrize("size_in, size_out", SIZES)
def test_saved_resizes_compute_what_paddles_interpolation_does(size_in, size_out):
    x = paddle.rand([2, 3, *size_in])
    shape = [2, 3, *size_in]
    nearest = _saved_form(resize_nearest, size_out, shape=shape)(x)
    np.testing.assert_array_equal(nearest.numpy(), F.interpolate(x, size=size_out, mode="nearest").numpy())
    bilinear = _saved_form(resize_bilinear, size_out, shape=shape)(x)
    expected = F.interpolate(x, size=size_out, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(bilinear.numpy(), expected.numpy(), rtol=0, atol=1e-6)
    doubled = _saved_form(upsample_bilinear_2x, shape=shape)(x)
    expected = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(doubled.numpy(), expected.numpy(), rtol=0, atol=1e-6)


def test_nearest_source_indices_follow_paddles_float_rule():
    # 2 -> 82 is a case where float32 rounding and the exact floor(k * in / out) disagree
    for size_in, size_out in [(2, 82), (10, 3), (7, 21), (35, 256), (256, 35)]:
        x = paddle.arange(size_in, dtype="float32").reshape([1, 1, size_in, 1])
        picked = F.interpolate(x, size=[size_out, 1], mode="nearest").numpy().ravel().astype(np.int64)
        np.testing.assert_array_equal(nearest_source_indices(size_in, size_out), picked)


def test_saved_leaky_relu_is_the_same_function():
    x = paddle.to_tensor(np.linspace(-3, 3, 61, dtype="float32").reshape([1, 1, 61, 1]))
    saved = _saved_form(leaky_relu, 0.2, shape=[1, 1, 61, 1])(x)
    np.testing.assert_array_equal(saved.numpy(), F.leaky_relu(x, 0.2).numpy())
