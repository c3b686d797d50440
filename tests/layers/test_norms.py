import numpy as np
import paddle
import pytest

from inade.layers import InadeNorm, SpadeNorm, make_param_free_norm


def _onehot(ids, depth):
    return np.eye(depth, dtype="float32")[ids].transpose(0, 3, 1, 2)


def _inade_expected(norm, normalized, labels, inst, noise):
    """gamma * normalized + beta pixel by pixel, as InadeNorm's docstring writes it."""
    u = noise @ norm.fc_noise.weight.numpy() + norm.fc_noise.bias.numpy()  # [B, K, 2, C]
    table_w, table_b = norm.class_weight.numpy(), norm.class_bias.numpy()
    expected = np.zeros_like(normalized)
    batch, _, height, width = normalized.shape
    for n in range(batch):
        for i in range(height):
            for j in range(width):
                c, k = labels[n, i, j], inst[n, i, j]
                gamma = table_w[c, :, 0] * u[n, k, 0] + table_b[c, :, 0]
                beta = table_w[c, :, 1] * u[n, k, 1] + table_b[c, :, 1]
                expected[n, :, i, j] = gamma * normalized[n, :, i, j] + beta
    return expected


def _inade_inputs(rng, batch=2, size=8):
    """x, labels, instance ids and the tensors InadeNorm takes (3 classes + edge channel, 2 instances, noise_nc 5)."""
    x = rng.standard_normal((batch, 4, size, size)).astype("float32")
    labels = rng.integers(0, 3, size=(batch, size, size))
    inst = rng.integers(0, 2, size=(batch, size, size))
    segmap = np.concatenate([_onehot(labels, 3), np.ones((batch, 1, size, size), "float32")], axis=1)  # + edge channel
    noise = rng.standard_normal((batch, 2, 2, 5)).astype("float32")
    return x, labels, inst, noise, [paddle.to_tensor(a) for a in (x, segmap, _onehot(inst, 2), noise)]


def test_inade_norm_matches_its_formula():
    rng = np.random.default_rng(0)
    paddle.seed(0)
    norm = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="instance")
    norm.class_bias.set_value(paddle.to_tensor(rng.standard_normal((3, 4, 2)).astype("float32")))
    x, labels, inst, noise, inputs = _inade_inputs(rng)
    out = norm(*inputs).numpy()
    normalized = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, _inade_expected(norm, normalized, labels, inst, noise), atol=1e-4)


def _norm_with_running_statistics(kind, rng):
    paddle.seed(1)
    norm = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm=kind)
    norm.class_bias.set_value(paddle.to_tensor(rng.standard_normal((3, 4, 2)).astype("float32")))
    norm.train()
    for _ in range(3):  # running statistics away from 0 and 1
        _, _, _, _, inputs = _inade_inputs(rng)
        norm(inputs[0] * 3 + 1, *inputs[1:])
    return norm.eval()


@pytest.mark.parametrize("kind", ["batch", "syncbatch", "instance"])
def test_eval_mode_inade_norm_equals_its_param_free_norm_path(kind):
    from inade.layers.norms import running_affine

    rng = np.random.default_rng(3)
    norm = _norm_with_running_statistics(kind, rng)
    x, labels, inst, noise, inputs = _inade_inputs(rng)
    normalized = norm.param_free_norm(inputs[0]).numpy()  # the unfolded path's normalization
    calls = []
    norm.param_free_norm.register_forward_post_hook(lambda *args: calls.append(1))
    out = norm(*inputs).numpy()
    np.testing.assert_allclose(out, _inade_expected(norm, normalized, labels, inst, noise), rtol=1e-5, atol=1e-5)
    # batch norm with running statistics folds into the rows and never runs; instance norm must
    assert (running_affine(norm.param_free_norm) is None) == (kind == "instance") == bool(calls)


def test_training_mode_inade_norm_keeps_its_batch_norm():
    from inade.layers.norms import running_affine

    rng = np.random.default_rng(4)
    norm = _norm_with_running_statistics("batch", rng).train()
    assert running_affine(norm.param_free_norm) is None
    x, labels, inst, noise, inputs = _inade_inputs(rng)
    normalized = (x - x.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(norm(*inputs).numpy(), _inade_expected(norm, normalized, labels, inst, noise), atol=1e-4)


def test_param_free_norms_have_nothing_to_train_and_batch_norm_keeps_running_stats():
    for kind in ("instance", "batch", "syncbatch"):
        assert all(p.stop_gradient for p in make_param_free_norm(kind, 8).parameters()), kind
    batch = make_param_free_norm("batch", 8)
    assert {"_mean", "_variance"} <= set(batch.state_dict())
    with pytest.raises(ValueError, match="param-free norm must be one of"):
        make_param_free_norm("group", 8)


def test_spade_norm_shapes_and_identity_at_zero_modulation():
    norm = SpadeNorm(channels=6, semantic_nc=4, param_free_norm="instance")
    for layer in (norm.mlp_gamma, norm.mlp_beta):
        layer.weight.set_value(paddle.zeros_like(layer.weight))
        layer.bias.set_value(paddle.zeros_like(layer.bias))
    x = paddle.randn([2, 6, 8, 8])
    out = norm(x, paddle.rand([2, 4, 16, 16]))
    expected = paddle.nn.functional.instance_norm(x, eps=1e-5)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-5)


def test_clade_equals_a_one_by_one_conv_of_the_one_hot_map():
    from inade.layers.norms import CladeNorm

    rng = np.random.default_rng(1)
    norm = CladeNorm(channels=4, num_classes=3, param_free_norm="instance", instance_edges=False)
    norm.class_bias.set_value(paddle.to_tensor(rng.standard_normal((3, 4)).astype("float32")))
    x = paddle.to_tensor(rng.standard_normal((2, 4, 8, 8)).astype("float32"))
    labels = rng.integers(0, 3, size=(2, 8, 8))
    segmap = paddle.to_tensor(np.concatenate([_onehot(labels, 3), np.zeros((2, 1, 8, 8), "float32")], axis=1))
    out = norm(x, segmap).numpy()
    normalized = paddle.nn.functional.instance_norm(x, eps=1e-5)
    onehot = segmap[:, :3]
    gamma = paddle.nn.functional.conv2d(onehot, norm.class_weight.t().reshape([4, 3, 1, 1]))
    beta = paddle.nn.functional.conv2d(onehot, norm.class_bias.t().reshape([4, 3, 1, 1]))
    np.testing.assert_allclose(out, (normalized * gamma + beta).numpy(), atol=1e-5)


def test_clade_appends_the_edge_channel():
    from inade.layers.norms import CladeNorm

    norm = CladeNorm(channels=4, num_classes=3, param_free_norm="instance", instance_edges=True)
    out = norm(paddle.randn([1, 4, 8, 8]), paddle.rand([1, 4, 16, 16]))
    assert out.shape == [1, 5, 8, 8]


def test_clade_positional_map_rescales_gamma_and_beta_per_pixel():
    from inade.layers.norms import CladeNorm

    rng = np.random.default_rng(2)
    norm = CladeNorm(channels=4, num_classes=3, param_free_norm="instance", instance_edges=False, positional=True)
    norm.class_bias.set_value(paddle.to_tensor(rng.standard_normal((3, 4)).astype("float32")))
    x = paddle.to_tensor(rng.standard_normal((2, 4, 8, 8)).astype("float32"))
    labels = rng.integers(0, 3, size=(2, 8, 8))
    segmap = paddle.to_tensor(np.concatenate([_onehot(labels, 3), np.zeros((2, 1, 8, 8), "float32")], axis=1))
    positional = paddle.to_tensor(rng.uniform(-1, 1, (2, 2, 8, 8)).astype("float32"))
    plain = CladeNorm(channels=4, num_classes=3, param_free_norm="instance", instance_edges=False)
    plain.set_state_dict({k: v for k, v in norm.state_dict().items() if k.startswith("class_")})
    # the position convs start at zero: plain CLADE until training moves them
    np.testing.assert_allclose(norm(x, segmap, positional=positional).numpy(), plain(x, segmap).numpy(), atol=1e-6)

    for conv, value in ((norm.position_scale, 0.5), (norm.position_shift, -0.25)):
        conv.weight.set_value(paddle.full([1, 2, 1, 1], value))
        conv.bias.set_value(paddle.full([1], 0.1))
    out = norm(x, segmap, positional=positional).numpy()
    pos = positional.numpy()
    scale = 1 + 0.5 * pos.sum(1, keepdims=True) + 0.1
    shift = 1 - 0.25 * pos.sum(1, keepdims=True) + 0.1
    gamma = norm.class_weight.numpy()[labels].transpose(0, 3, 1, 2)
    beta = norm.class_bias.numpy()[labels].transpose(0, 3, 1, 2)
    normalized = paddle.nn.functional.instance_norm(x, eps=1e-5).numpy()
    np.testing.assert_allclose(out, normalized * gamma * scale + beta * shift, atol=1e-5)


def test_inade_norm_pixels_without_an_instance_take_the_class_offset_only():
    from inade.layers.norms import class_instance_pairs

    rng = np.random.default_rng(5)
    norm = InadeNorm(channels=3, num_classes=2, noise_nc=4, param_free_norm="instance")
    norm.class_bias.set_value(paddle.to_tensor(rng.standard_normal((2, 3, 2)).astype("float32")))
    x = rng.standard_normal((1, 3, 4, 4)).astype("float32")
    labels = np.zeros((1, 4, 4), np.int64)
    labels[:, 2:] = 1
    segmap = _onehot(labels, 2)
    instances = _onehot(np.zeros((1, 4, 4), np.int64), 2)
    instances[:, :, :, 0] = 0  # the first column belongs to no instance
    inputs = [paddle.to_tensor(a) for a in (x, segmap, instances, rng.standard_normal((1, 2, 2, 4)).astype("float32"))]
    masks, pair_class, pair_instance = class_instance_pairs(inputs[1], inputs[2], 2)
    # (class, instance) combinations present: (0, 0), (0, none), (1, 0), (1, none)
    assert sorted(zip(pair_class.numpy().tolist(), pair_instance.numpy().tolist())) == [(0, 0), (0, 2), (1, 0), (1, 2)]
    assert masks.shape == [1, 4, 4, 4] and float(masks.sum()) == 16
    out = norm(*inputs).numpy()
    normalized = (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    bias = norm.class_bias.numpy()[labels[0, :, 0]]  # [4 rows, C, 2]
    expected = bias[:, :, 0].T[None] * normalized[:, :, :, 0] + bias[:, :, 1].T[None]
    np.testing.assert_allclose(out[:, :, :, 0], expected, atol=1e-5)


def test_eval_mode_fold_passes_the_same_gradients_to_the_noise_and_tables(monkeypatch):
    # the encoder-fit stage backpropagates through the eval-mode generator into the encoded noise
    import inade.layers.norms as norms

    rng = np.random.default_rng(6)
    norm = _norm_with_running_statistics("batch", rng)
    _, _, _, _, inputs = _inade_inputs(rng)
    weights = paddle.to_tensor(rng.standard_normal(inputs[0].shape).astype("float32"))
    gradients = []
    for fold in (norms.running_affine, lambda norm: None):
        monkeypatch.setattr(norms, "running_affine", fold)
        noise = inputs[3].detach()
        noise.stop_gradient = False
        norm.clear_gradients()
        (norm(inputs[0], inputs[1], inputs[2], noise) * weights).sum().backward()
        gradients.append([noise.grad.numpy(), norm.class_weight.grad.numpy(), norm.fc_noise.weight.grad.numpy()])
    for folded, unfolded in zip(*gradients):
        np.testing.assert_allclose(folded, unfolded, rtol=1e-4, atol=1e-5)
