import numpy as np
import paddle

from inade.networks.encoder import InstanceAdaptiveEncoder, instance_colour_statistics


def _scene(seed=0, size=32, num_instances=4):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, num_instances, size=(2, size, size))
    ids[:, 0, :num_instances] = np.arange(num_instances)  # every instance has pixels in every image
    one_hot = (ids[:, None] == np.arange(num_instances)[None, :, None, None]).astype(np.float32)  # [B, K, H, W]
    image = rng.uniform(-1, 1, size=(2, 3, size, size)).astype(np.float32)
    return image, ids, one_hot


def test_instance_colour_statistics_are_each_instances_rgb_mean_and_spread():
    image, ids, one_hot = _scene()
    stats = instance_colour_statistics(paddle.to_tensor(image), paddle.to_tensor(one_hot)).numpy()  # [B, K, 6]
    assert stats.shape == (2, 4, 6)
    for b in range(2):
        for k in range(4):
            pixels = image[b][:, ids[b] == k]  # [3, N]
            np.testing.assert_allclose(stats[b, k, :3], pixels.mean(axis=1), atol=1e-5)
            np.testing.assert_allclose(stats[b, k, 3:], pixels.std(axis=1), atol=1e-4)


def test_colour_statistics_add_a_path_beside_the_reference_encoder():
    image, _, one_hot = _scene(1)
    image, instances = paddle.to_tensor(image), paddle.to_tensor(one_hot)
    paddle.seed(3)
    reference = InstanceAdaptiveEncoder(ndf=4, noise_nc=3)
    paddle.seed(3)
    extended = InstanceAdaptiveEncoder(ndf=4, noise_nc=3, colour_statistics=True)
    assert reference.colour_mlp is None
    # The U-Net is drawn first, so one seed gives both the same body weights.
    for name, value in reference.state_dict().items():
        np.testing.assert_array_equal(extended.state_dict()[name].numpy(), value.numpy())
    added = [a.numpy() - b.numpy() for a, b in zip(extended(image, instances), reference(image, instances))]
    assert all(np.abs(a).max() > 1e-4 for a in added)  # the path is live at initialisation
    last = extended.colour_mlp[-1]
    last.weight.set_value(paddle.zeros_like(last.weight))
    last.bias.set_value(paddle.zeros_like(last.bias))
    for a, b in zip(extended(image, instances), reference(image, instances)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
