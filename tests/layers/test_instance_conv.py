import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from inade.layers import InstanceAwareConv2d, instance_aware_conv2d


def unfold_oracle(x, ids, weight, bias, stride, padding):
    """The reference formulation: unfold features and ids, mask taps whose id
    differs from the window centre's, contract with the flattened weight."""
    batch, channels, height, width = x.shape
    out_c, _, k, _ = weight.shape
    ids = F.interpolate(ids.astype("float32"), size=[height, width], mode="nearest")
    id_cols = F.unfold(ids, k, strides=stride, paddings=padding)  # [B, k*k, L]
    centre = id_cols[:, k * k // 2 : k * k // 2 + 1]
    mask = (id_cols == centre).astype("float32")  # [B, k*k, L]
    x_cols = F.unfold(x, k, strides=stride, paddings=padding).reshape([batch, channels, k * k, -1])
    masked = (x_cols * mask.unsqueeze(1)).reshape([batch, channels * k * k, -1])
    out = paddle.matmul(weight.reshape([out_c, -1]), masked) + bias.reshape([1, out_c, 1])
    out_h = (height + 2 * padding - k) // stride + 1
    return out.reshape([batch, out_c, out_h, -1])


def random_instances(rng, batch, height, width, count):
    # Blocky ids so that instances have interiors and borders.
    coarse = rng.integers(0, count, size=(batch, 1, (height + 3) // 4, (width + 3) // 4))
    return np.repeat(np.repeat(coarse, 4, axis=2), 4, axis=3)[:, :, :height, :width]


# batch 1: the maps are corrected in place of a view, without transposed copies
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [(16, 16), (12, 20), (9, 7)])
def test_equals_unfold_oracle(stride, size, batch):
    rng = np.random.default_rng(0)
    x = paddle.to_tensor(rng.standard_normal((batch, 5, *size)).astype("float32"))
    ids = paddle.to_tensor(random_instances(rng, batch, *size, count=4))
    weight = paddle.to_tensor(rng.standard_normal((6, 5, 3, 3)).astype("float32"))
    bias = paddle.to_tensor(rng.standard_normal(6).astype("float32"))
    ours = instance_aware_conv2d(x, ids, weight, bias, stride=stride, padding=1)
    oracle = unfold_oracle(x, ids, weight, bias, stride, 1)
    assert ours.shape == oracle.shape
    np.testing.assert_allclose(ours.numpy(), oracle.numpy(), atol=1e-5, rtol=0)


def test_instance_map_at_another_resolution_is_resized_nearest():
    rng = np.random.default_rng(1)
    x = paddle.to_tensor(rng.standard_normal((1, 3, 8, 8)).astype("float32"))
    ids_full = paddle.to_tensor(random_instances(rng, 1, 16, 16, count=3))
    weight = paddle.to_tensor(rng.standard_normal((4, 3, 3, 3)).astype("float32"))
    bias = paddle.zeros([4])
    ours = instance_aware_conv2d(x, ids_full, weight, bias, stride=1, padding=1)
    oracle = unfold_oracle(x, ids_full, weight, bias, 1, 1)
    np.testing.assert_allclose(ours.numpy(), oracle.numpy(), atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_single_instance_equals_conv2d(stride):
    paddle.seed(3)
    layer = InstanceAwareConv2d(4, 7, 3, stride=stride)
    x = paddle.randn([2, 4, 10, 10])
    ids = paddle.full([2, 1, 10, 10], 2.0)
    expected = F.conv2d(x, layer.weight, layer.bias, stride=stride, padding=1)
    np.testing.assert_allclose(layer(x, ids).numpy(), expected.numpy(), atol=1e-5)


def test_border_is_respected():
    # Left half instance 0, right half instance 1: with an all-ones kernel each
    # output sums only its own side's input.
    x = paddle.concat([paddle.full([1, 1, 4, 2], 1.0), paddle.full([1, 1, 4, 2], 100.0)], axis=3)
    ids = paddle.to_tensor(np.array([0, 0, 1, 1] * 4).reshape(1, 1, 4, 4))
    out = instance_aware_conv2d(x, ids, paddle.ones([1, 1, 3, 3]), None, 1, 1).numpy()[0, 0]
    # An interior pixel of the left half sees 2 columns x 3 rows of ones.
    assert out[1, 0] == 6.0 and out[1, 1] == 6.0
    assert out[1, 2] == 600.0 and out[1, 3] == 600.0


@pytest.mark.parametrize("batch", [1, 2])
def test_gradients_match_oracle(batch):
    rng = np.random.default_rng(4)
    ids = paddle.to_tensor(random_instances(rng, batch, 12, 12, count=3))
    x_np = rng.standard_normal((batch, 3, 12, 12)).astype("float32")
    w_np = rng.standard_normal((5, 3, 3, 3)).astype("float32")
    b_np = rng.standard_normal(5).astype("float32")
    upstream = paddle.to_tensor(rng.standard_normal((batch, 5, 6, 6)).astype("float32"))
    grads = []
    for fn in (instance_aware_conv2d, unfold_oracle):
        x, w, b = (paddle.to_tensor(a, stop_gradient=False) for a in (x_np, w_np, b_np))
        (fn(x, ids, w, b, 2, 1) * upstream).sum().backward()
        grads.append([t.grad.numpy() for t in (x, w, b)])
    for ours, oracle in zip(*grads):
        np.testing.assert_allclose(ours, oracle, atol=1e-4, rtol=1e-5)


def test_rejects_wrong_channel_count():
    layer = InstanceAwareConv2d(4, 2)
    with pytest.raises(ValueError, match="expects 4 input channels, got 3"):
        layer(paddle.zeros([1, 3, 8, 8]), paddle.zeros([1, 1, 8, 8]))
