import numpy as np
import paddle

from inade.layers import instance_average_pool


def test_matches_per_instance_loop_and_empty_instances_are_zero():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((2, 5, 6, 6)).astype("float32")
    ids = rng.integers(0, 3, size=(2, 6, 6))
    onehot = np.zeros((2, 4, 6, 6), dtype="float32")  # instance 3 is empty
    for b in range(2):
        for k in range(3):
            onehot[b, k] = ids[b] == k
    pooled = instance_average_pool(paddle.to_tensor(features), paddle.to_tensor(onehot)).numpy()
    assert pooled.shape == (2, 4, 5)
    for b in range(2):
        for k in range(3):
            expected = features[b][:, ids[b] == k].mean(axis=1)
            np.testing.assert_allclose(pooled[b, k], expected, rtol=1e-5, atol=1e-6)
    assert np.all(pooled[:, 3] == 0.0) and np.isfinite(pooled).all()


def test_instances_at_higher_resolution_are_resized():
    features = paddle.arange(16, dtype="float32").reshape([1, 1, 4, 4])
    onehot = paddle.zeros([1, 2, 8, 8])
    onehot[:, 0, :, :4] = 1.0
    onehot[:, 1, :, 4:] = 1.0
    pooled = instance_average_pool(features, onehot).numpy()[0, :, 0]
    left = np.arange(16).reshape(4, 4)[:, :2].mean()
    right = np.arange(16).reshape(4, 4)[:, 2:].mean()
    np.testing.assert_allclose(pooled, [left, right])
