import numpy as np
import paddle
import pytest

from inade.layers.attentive_norm import (
    AttentiveNorm,
    attentive_norm_regularization,
    orthogonality_penalty,
    regional_instance_norm,
    regional_statistics,
)


def _randomize(layer, rng):
    """Non-trivial values for every parameter, so no term can hide behind its initial value."""
    for param in layer.parameters():
        param.set_value(rng.standard_normal(param.shape).astype("float32") * 0.5)


def _numpy_regional_norm(x, layout, gamma, beta, eps=1e-5):
    """Literal per-region definition: weighted mean and variance, normalise, affine, blend."""
    out = np.zeros_like(x, dtype=np.float64)
    for r in range(layout.shape[1]):
        weight = layout[:, r : r + 1]  # [B, 1, H, W]
        mass = weight.sum(axis=(2, 3), keepdims=True)
        mean = (weight * x).sum(axis=(2, 3), keepdims=True) / mass
        var = (weight * (x - mean) ** 2).sum(axis=(2, 3), keepdims=True) / mass
        region = (x - mean) / np.sqrt(var + eps)
        out += weight * (gamma[r][None, :, None, None] * region + beta[r][None, :, None, None])
    return out


def _conv1x1(weight, bias, x):
    out = np.einsum("oc,bchw->bohw", weight[:, :, 0, 0], x)
    return out if bias is None else out + bias[None, :, None, None]


def _instance_norm(x, eps=1e-5):
    return (x - x.mean(axis=(2, 3), keepdims=True)) / np.sqrt(x.var(axis=(2, 3), keepdims=True) + eps)


def test_one_region_is_instance_norm():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 5, 6, 7)) * 3 + 10).astype("float32")  # far from zero on purpose
    ones = paddle.ones([2, 1, 6, 7])
    x_hat = regional_instance_norm(paddle.to_tensor(x), ones, paddle.ones([1, 5]), paddle.zeros([1, 5]))
    expected = paddle.nn.functional.instance_norm(paddle.to_tensor(x), eps=1e-5).numpy()
    np.testing.assert_allclose(x_hat.numpy(), expected, atol=1e-5)

    # The whole layer with n = 1, in both modes: the layout is 1 everywhere, so
    # x_hat is instance norm whatever the sampling branch does.
    paddle.seed(0)
    layer = AttentiveNorm(5, num_entities=1)
    layer.residual_weight.set_value(paddle.to_tensor([1.0]))
    for train in (True, False):
        layer.train() if train else layer.eval()
        out, layout = layer(paddle.to_tensor(x), return_layout=True)
        np.testing.assert_array_equal(layout.numpy(), 1.0)
        np.testing.assert_allclose(out.numpy() - x, expected, atol=2e-5)


def test_statistics_stay_accurate_far_from_zero():
    """Variance as E[x^2] - mean^2 would lose everything in float32 at mean 1000, std 1."""
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((1, 4, 8, 8)) + 1000).astype("float32")
    layout = rng.random((1, 3, 8, 8))
    layout /= layout.sum(axis=1, keepdims=True)
    gamma, beta = np.ones((3, 4)), np.zeros((3, 4))
    got = regional_instance_norm(*(paddle.to_tensor(a.astype("float32")) for a in (x, layout, gamma, beta)))
    np.testing.assert_allclose(got.numpy(), _numpy_regional_norm(x.astype(np.float64), layout, gamma, beta), atol=1e-3)


def test_fresh_layer_is_identity_and_output_is_residual_mix():
    rng = np.random.default_rng(1)
    x = paddle.to_tensor(rng.standard_normal((2, 8, 6, 6)).astype("float32"))
    layer = AttentiveNorm(8, num_entities=4)
    assert layer.residual_weight.item() == 0.0 and layer.sampling_weight.item() == pytest.approx(0.1)
    np.testing.assert_array_equal(layer.region_gamma.numpy(), 1.0)
    np.testing.assert_array_equal(layer.region_beta.numpy(), 0.0)
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())  # rho = 0: exactly the input

    layer.eval()
    layer.residual_weight.set_value(paddle.to_tensor([0.3]))
    out, layout = layer(x, return_layout=True)
    x_hat = regional_instance_norm(x, layout, layer.region_gamma, layer.region_beta)
    np.testing.assert_allclose(out.numpy(), x.numpy() + 0.3 * x_hat.numpy(), atol=1e-6)


def test_forward_matches_the_formula_in_numpy():
    """Eval with strided sampling: every step (pooled keys, F, S, softmax, regional norm, mix) recomputed."""
    rng = np.random.default_rng(2)
    paddle.seed(2)
    layer = AttentiveNorm(16, num_entities=3, key_channels=4, tau=0.5, pool=2, eval_sampling="strided")
    _randomize(layer, rng)
    layer.eval()
    x = rng.standard_normal((2, 16, 6, 5)).astype("float32")
    out, layout = layer(paddle.to_tensor(x), return_layout=True)

    p = {name: v.numpy().astype(np.float64) for name, v in layer.state_dict().items()}
    xd = x.astype(np.float64)
    keys = _conv1x1(p["key_conv.weight"], p["key_conv.bias"], xd)  # [B, 4, 6, 5]
    padded = np.pad(keys, ((0, 0), (0, 0), (0, 0), (0, 1)), constant_values=-np.inf)  # ceil mode: 6x5 -> 3x3
    pooled = padded.reshape(2, 4, 3, 2, 3, 2).max(axis=(3, 5)).reshape(2, 4, 9)
    positions = [0, 4, 8]  # 3 points evenly spread over the 9 pooled positions
    queries = _conv1x1(p["query_conv.weight"], p["query_conv.bias"], xd).reshape(2, 4, 30)
    activation = np.einsum("bkn,bkp->bnp", pooled[:, :, positions], queries).reshape(2, 3, 6, 5)
    raw = p["sampling_weight"][0] * activation + _conv1x1(p["entity_conv.weight"], None, xd)
    expected_layout = np.exp(raw / 0.5 - (raw / 0.5).max(axis=1, keepdims=True))
    expected_layout /= expected_layout.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(layout.numpy(), expected_layout, atol=1e-5)

    x_hat = _numpy_regional_norm(xd, expected_layout, p["region_gamma"], p["region_beta"])
    np.testing.assert_allclose(out.numpy(), xd + p["residual_weight"][0] * x_hat, atol=1e-4)


def test_soft_layout_is_a_partition_of_unity():
    rng = np.random.default_rng(3)
    paddle.seed(3)
    layer = AttentiveNorm(8, num_entities=5)
    _randomize(layer, rng)
    x = paddle.to_tensor(rng.standard_normal((2, 8, 7, 9)).astype("float32") * 4)
    for train in (True, False):
        layer.train() if train else layer.eval()
        out, layout = layer(x, return_layout=True)
        assert out.shape == [2, 8, 7, 9] and layout.shape == [2, 5, 7, 9]
        assert layout.numpy().min() >= 0
        np.testing.assert_allclose(layout.numpy().sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(layer.last_layout.numpy(), layout.numpy())
        assert layer.last_layout.stop_gradient
        assert not list(layer.buffers())  # inspection only: not a buffer, not in the state dict


def test_each_hard_region_is_normalized_with_its_own_statistics():
    rng = np.random.default_rng(4)
    mask = rng.random((2, 6, 6)) < 0.4  # two disjoint regions of irregular shape
    x = rng.standard_normal((2, 3, 6, 6)).astype("float32")
    x += np.where(mask[:, None], 5.0, -2.0).astype("float32")  # regions with very different statistics
    x[:, 0] = np.where(mask, 3 + np.abs(x[:, 0]), -3 - np.abs(x[:, 0]))  # the sign of channel 0 is the mask
    one_hot = np.stack([mask, ~mask], axis=1).astype("float32")  # [B, 2, H, W]
    gamma = rng.standard_normal((2, 3)).astype("float32")
    beta = rng.standard_normal((2, 3)).astype("float32")
    x_hat = regional_instance_norm(*(paddle.to_tensor(a) for a in (x, one_hot, gamma, beta))).numpy()

    for b in range(2):
        for r, region in enumerate((mask[b], ~mask[b])):
            values = x[b][:, region]  # [C, pixels of region r]
            mean, var = values.mean(axis=1, keepdims=True), values.var(axis=1, keepdims=True)
            expected = gamma[r][:, None] * (values - mean) / np.sqrt(var + 1e-5) + beta[r][:, None]
            np.testing.assert_allclose(x_hat[b][:, region], expected, atol=1e-4)

    # The same through the layer: entity 0 = +channel 0, entity 1 = -channel 0 and a
    # tiny tau make the layout the sign of channel 0, a known hard mask.
    layer = AttentiveNorm(3, num_entities=2, tau=1e-3)
    layer.eval()
    entities = np.zeros((2, 3, 1, 1), "float32")
    entities[0, 0], entities[1, 0] = 1.0, -1.0
    layer.entity_conv.weight.set_value(paddle.to_tensor(entities))
    layer.residual_weight.set_value(paddle.to_tensor([1.0]))
    layer.region_gamma.set_value(paddle.to_tensor(gamma))
    layer.region_beta.set_value(paddle.to_tensor(beta))
    out, layout = layer(paddle.to_tensor(x), return_layout=True)
    np.testing.assert_allclose(layout.numpy(), one_hot, atol=1e-12)
    np.testing.assert_allclose(out.numpy() - x, x_hat, atol=1e-4)


def test_soft_statistics_match_numpy():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 5))
    layout = rng.random((2, 3, 5, 5))
    layout /= layout.sum(axis=1, keepdims=True)
    gamma, beta = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    got = regional_instance_norm(*(paddle.to_tensor(a.astype("float32")) for a in (x, layout, gamma, beta)))
    np.testing.assert_allclose(got.numpy(), _numpy_regional_norm(x, layout, gamma, beta), atol=1e-4)


def test_orthogonality_penalty_and_its_gradient():
    layer = AttentiveNorm(8, num_entities=4)
    assert float(layer.regularization()) < 1e-10  # initialised with orthonormal filters
    # Orthogonal rows of any length cost nothing (the rows are normalised first).
    assert float(orthogonality_penalty(paddle.to_tensor(np.diag([1.0, 3.0, 0.5]).astype("float32")))) < 1e-12

    rng = np.random.default_rng(6)
    filters = rng.standard_normal((4, 8))
    layer.entity_conv.weight.set_value(paddle.to_tensor(filters.reshape(4, 8, 1, 1).astype("float32")))
    unit = filters / np.linalg.norm(filters, axis=1, keepdims=True)
    expected = ((unit @ unit.T - np.eye(4)) ** 2).sum()
    penalty = layer.regularization()
    assert penalty.shape == [] or penalty.shape == [1]
    assert float(penalty) == pytest.approx(expected, rel=1e-5) and expected > 0
    penalty.backward()
    grad = layer.entity_conv.weight.grad
    assert grad is not None and np.abs(grad.numpy()).max() > 0

    # Summed over every AttentiveNorm of a network; zero for a network without one.
    network = paddle.nn.Sequential(paddle.nn.Conv2D(8, 8, 1), layer, AttentiveNorm(8, num_entities=4))
    total = attentive_norm_regularization(network)
    assert float(total) == pytest.approx(expected, rel=1e-5)
    assert float(attentive_norm_regularization(paddle.nn.Conv2D(8, 8, 1))) == 0.0


def test_no_tensor_spans_all_positions_twice(monkeypatch):
    """Every product in the layer goes through paddle.matmul; none may have two HW-sized axes."""
    batch, channels, regions, size = 2, 16, 4, 24
    positions = size * size
    shapes = []
    real_matmul = paddle.matmul

    def recording_matmul(a, b, *args, **kwargs):
        out = real_matmul(a, b, *args, **kwargs)
        shapes.append(list(out.shape))
        return out

    monkeypatch.setattr(paddle, "matmul", recording_matmul)
    layer = AttentiveNorm(channels, num_entities=regions)
    layer.residual_weight.set_value(paddle.to_tensor([1.0]))
    layer.train()
    out = layer(paddle.randn([batch, channels, size, size]))
    out.sum().backward()
    assert shapes, "the layer no longer uses paddle.matmul; this test would not see its products"
    assert [batch, regions, positions] in shapes  # F: n sampled keys against every query
    assert shapes.count([batch, regions, channels]) == 2  # region means and second moments
    assert shapes.count([batch, channels, positions]) == 2  # per-pixel scale and shift
    assert all(shape.count(positions) <= 1 for shape in shapes), shapes

    mean, variance = regional_statistics(paddle.randn([batch, channels, positions]),
                                         paddle.rand([batch, regions, positions]))
    assert mean.shape == variance.shape == [batch, regions, channels]


def test_eval_is_deterministic_and_training_samples_reproducibly():
    rng = np.random.default_rng(7)
    paddle.seed(7)
    layer = AttentiveNorm(8, num_entities=4)
    _randomize(layer, rng)
    x = paddle.to_tensor(rng.standard_normal((2, 8, 8, 8)).astype("float32"))
    for mode in ("off", "strided"):
        layer.eval_sampling = mode
        layer.eval()
        first = layer(x).numpy()
        paddle.seed(123)  # eval must not depend on the random state
        np.testing.assert_array_equal(layer(x).numpy(), first)
    layer.eval_sampling = "off"
    eval_layout = layer(x, return_layout=True)[1]
    np.testing.assert_allclose(  # "off" drops the t * F term: the layout is softmax(f(x) / tau)
        eval_layout.numpy(), paddle.nn.functional.softmax(layer.entity_conv(x) / layer.tau, axis=1).numpy(), atol=1e-6)

    layer.train()
    paddle.seed(11)
    first = layer(x).numpy()
    paddle.seed(11)
    np.testing.assert_array_equal(layer(x).numpy(), first)
    paddle.seed(12)
    assert not np.allclose(layer(x).numpy(), first)

    # Positions: distinct within an image, inside the pooled map, uniform over it.
    paddle.seed(0)
    counts = np.zeros(16)
    for _ in range(200):
        drawn = layer.sample_positions(2, 16).numpy()
        assert drawn.shape == (2, 4) and drawn.min() >= 0 and drawn.max() < 16
        assert all(len(set(row)) == 4 for row in drawn)
        np.add.at(counts, drawn.ravel(), 1)
    assert counts.min() > 60 and counts.max() < 140, counts  # expected 100 each, sd ~ 9.7
    assert layer.sample_positions(3, 2).shape == [3, 4]  # fewer positions than entities: with replacement
    layer.eval()
    np.testing.assert_array_equal(layer.sample_positions(2, 16).numpy(), [[0, 5, 10, 15]] * 2)


def test_gradients_reach_every_parameter():
    rng = np.random.default_rng(8)
    paddle.seed(8)
    layer = AttentiveNorm(8, num_entities=4)
    x = paddle.to_tensor(rng.standard_normal((2, 8, 6, 6)).astype("float32"))
    target = paddle.to_tensor(rng.standard_normal((2, 8, 6, 6)).astype("float32"))

    # At rho = 0 the output is x, so only rho can receive a gradient; it must,
    # or the layer could never leave the identity.
    (layer(x) * target).sum().backward()
    assert abs(layer.residual_weight.grad.item()) > 0
    layer.clear_gradients()

    layer.residual_weight.set_value(paddle.to_tensor([0.5]))
    layer.region_gamma.set_value(paddle.to_tensor(rng.uniform(0.5, 1.5, (4, 8)).astype("float32")))
    layer.region_beta.set_value(paddle.to_tensor(rng.standard_normal((4, 8)).astype("float32")))
    layer.train()
    (layer(x) * target).sum().backward()
    for name, param in layer.named_parameters():
        assert param.grad is not None and np.abs(param.grad.numpy()).max() > 0, name


def test_odd_and_tiny_sizes_and_argument_checks():
    layer = AttentiveNorm(4, num_entities=16)  # key_channels = max(4 // 8, 1) = 1
    assert layer.key_channels == 1
    for size in ((5, 7), (1, 1), (3, 2)):
        for train in (True, False):
            layer.train() if train else layer.eval()
            out = layer(paddle.randn([1, 4, *size]))
            assert out.shape == [1, 4, *size] and np.isfinite(out.numpy()).all()
    with pytest.raises(ValueError, match="expects"):
        layer(paddle.randn([1, 3, 4, 4]))
    for kwargs in ({"num_entities": 0}, {"tau": 0.0}, {"pool": 0}, {"eval_sampling": "random"}):
        with pytest.raises(ValueError):
            AttentiveNorm(4, **kwargs)


@pytest.mark.parametrize("eval_sampling", ["off", "strided"])
def test_exports_to_a_static_graph_with_any_batch(eval_sampling):
    """The synthesis export traces networks with a free batch size; the layer must trace too."""
    paddle.seed(10)
    layer = AttentiveNorm(16, num_entities=4, eval_sampling=eval_sampling)
    layer.residual_weight.set_value(paddle.to_tensor([0.7]))
    layer.eval()
    x = paddle.randn([3, 16, 8, 8])
    eager = layer(x).numpy()  # before tracing: to_static converts the layer in place
    spec = [paddle.static.InputSpec([None, 16, 8, 8], "float32")]
    traced = paddle.jit.to_static(layer, input_spec=spec, full_graph=True)
    np.testing.assert_allclose(traced(x).numpy(), eager, atol=1e-5)
    assert not np.allclose(eager, x.numpy())  # rho = 0.7: the traced graph really normalises
