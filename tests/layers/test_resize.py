import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from inade.layers.resize import upsample_nearest_2x


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
