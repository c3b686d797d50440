import numpy as np
import paddle
import pytest

import inade  # noqa: F401
from inade import backends
from inade.backends.pooled_conv import applies, instance_average_of_conv
from inade.layers.instance_conv import instance_aware_conv2d
from inade.layers.instance_pool import instance_average_pool
from inade.networks import InstanceAdaptiveEncoder


def _layout(rng, batch, num_instances, height, width):
    ids = rng.integers(0, num_instances, (batch, height, width))
    ids[0, :4, :3] = 1  # a block: interior pixels whose windows stay inside it
    one_hot = np.eye(num_instances, dtype="float32")[ids].transpose(0, 3, 1, 2).copy()
    one_hot[-1, :, 0, 0] = 0.0  # a pixel of no instance (argmax reads it as instance 0)
    one_hot[-1, num_instances - 1] = 0.0  # an instance with no pixel in the last image
    instances = paddle.to_tensor(one_hot)
    return instances, paddle.argmax(instances, axis=1, keepdim=True).astype("float32")


@pytest.mark.parametrize("batch, channels, height, width, num_instances, out_channels, kernel", [
    (2, 5, 12, 10, 4, 7, 3),
    (1, 3, 9, 13, 6, 8, 3),
    (2, 4, 8, 8, 3, 5, 1),
])
def test_equals_the_convolution_averaged_per_instance_with_its_gradients(batch, channels, height, width, num_instances,
                                                                         out_channels, kernel):
    rng = np.random.default_rng(0)
    instances, ids = _layout(rng, batch, num_instances, height, width)
    x, weight, bias = (paddle.to_tensor(rng.standard_normal(shape).astype("float32"), stop_gradient=False) for shape in
                       ((batch, channels, height, width), (out_channels, channels, kernel, kernel), (out_channels,)))
    expected = instance_average_pool(instance_aware_conv2d(x, ids, weight, bias, 1, kernel // 2), instances)
    got = instance_average_of_conv(x, ids, instances, weight, bias)
    assert got.shape == expected.shape == [batch, num_instances, out_channels]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got.numpy()[-1, -1], np.zeros(out_channels, "float32"))  # the empty instance
    upstream = paddle.to_tensor(rng.standard_normal(expected.shape).astype("float32"))
    for a, b in zip(paddle.grad([got], [x, weight, bias], [upstream]),
                    paddle.grad([expected], [x, weight, bias], [upstream])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_a_layout_without_borders():
    # one instance everywhere and a 1x1 kernel: no pixel's window leaves its instance
    rng = np.random.default_rng(2)
    instances = paddle.ones([1, 1, 6, 5])
    ids = paddle.zeros([1, 1, 6, 5])
    x, weight, bias = (paddle.to_tensor(rng.standard_normal(shape).astype("float32")) for shape in
                       ((1, 3, 6, 5), (4, 3, 1, 1), (4,)))
    expected = instance_average_pool(instance_aware_conv2d(x, ids, weight, bias, 1, 0), instances)
    np.testing.assert_allclose(instance_average_of_conv(x, ids, instances, weight, bias).numpy(), expected.numpy(),
                               rtol=1e-5, atol=1e-5)


def test_applies_only_where_it_is_less_work():
    assert applies(16, 256) and not applies(256, 256) and not applies(300, 256)


def test_the_encoder_gives_the_same_distributions_on_both_backends():
    paddle.seed(0)
    encoder = InstanceAdaptiveEncoder(4, 4)
    rng = np.random.default_rng(1)
    instances, _ = _layout(rng, 2, 5, 32, 32)
    image = paddle.to_tensor(rng.standard_normal((2, 3, 32, 32)).astype("float32"))
    outputs = {}
    for name in ("paddle", "onednn"):
        with backends.using(name):
            outputs[name] = [t.numpy() for t in encoder(image, instances)]
    for a, b in zip(outputs["paddle"], outputs["onednn"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
