import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import inade  # noqa: F401
from inade import backends
from inade.backends.bilinear import bilinear_2x_gradient, upsample_2x
from inade.layers.resize import upsample_bilinear_2x


def _paddles(x):
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


# 1x1 (the encoder's middle at a 16-pixel input), one row, unequal sides, a batch
@pytest.mark.parametrize("shape", [(1, 2, 1, 1), (2, 3, 1, 5), (2, 3, 4, 7), (1, 5, 16, 16)])
def test_values_and_gradient_equal_paddles(shape):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(shape).astype("float32")
    upstream = paddle.to_tensor(rng.standard_normal((*shape[:2], 2 * shape[2], 2 * shape[3])).astype("float32"))
    results = []
    for upsample in (_paddles, upsample_2x):
        x = paddle.to_tensor(values, stop_gradient=False)
        out = upsample(x)
        (grad,) = paddle.grad([out], [x], [upstream])
        results.append((out.numpy(), grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=0, atol=2e-6)


def test_gradient_is_the_transposed_stencil_on_a_unit_gradient():
    # every output pixel's weights sum to one, so a unit gradient gives each
    # source the total weight it has: 4 everywhere (2 per axis, borders included)
    grad = bilinear_2x_gradient(paddle.ones([1, 1, 6, 10]))
    np.testing.assert_allclose(grad.numpy(), np.full((1, 1, 3, 5), 4.0, "float32"), rtol=0, atol=1e-6)


def test_the_layer_runs_it_with_the_onednn_backend_when_a_gradient_is_recorded():
    x = paddle.randn([1, 2, 4, 4])
    x.stop_gradient = False
    with backends.using("onednn"):
        fast = upsample_bilinear_2x(x)
        assert fast.grad_fn.name() == "GradNodePyLayer__UpsampleBilinear2x"
    with backends.using("paddle"):
        reference = upsample_bilinear_2x(x)
        assert reference.grad_fn.name() == "BilinearInterpGradNode"
    np.testing.assert_array_equal(reference.numpy(), fast.numpy())
