import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import inade  # noqa: F401
from inade.backends.narrow_conv import NarrowConv2D, narrow_conv2d


@pytest.mark.parametrize("shape, weight_shape, padding", [
    ((2, 5, 9, 11), (3, 5, 3, 3), 1),   # the generator's RGB layer
    ((2, 6, 7, 7), (1, 6, 4, 4), 2),    # a discriminator's patch predictions (output larger than the input)
    ((1, 4, 6, 5), (2, 4, 3, 3), 0),
])
def test_narrow_conv_is_conv2d_forward_and_backward(shape, weight_shape, padding):
    rng = np.random.default_rng(0)
    x, weight, bias = (paddle.to_tensor(rng.standard_normal(s).astype("float32")) for s in (shape, weight_shape, weight_shape[:1]))
    for t in (x, weight, bias):
        t.stop_gradient = False
    expected = F.conv2d(x, weight, bias, padding=padding)
    got = narrow_conv2d(x, weight, bias, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    upstream = paddle.to_tensor(rng.standard_normal(expected.shape).astype("float32"))
    for a, b in zip(paddle.grad([got], [x, weight, bias], [upstream]), paddle.grad([expected], [x, weight, bias], [upstream])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)
        assert a.is_contiguous()  # data-parallel training all-reduces gradients, which must be contiguous


def test_the_layer_keeps_conv2d_parameters_and_state_dict_keys():
    layer = NarrowConv2D(8, 3, 3, padding=1)
    plain = paddle.nn.Conv2D(8, 3, 3, padding=1)
    assert isinstance(layer, paddle.nn.Conv2D) and layer.state_dict().keys() == plain.state_dict().keys()
    plain.set_state_dict(layer.state_dict())
    x = paddle.randn([1, 8, 12, 12])
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy(), rtol=1e-5, atol=1e-5)
