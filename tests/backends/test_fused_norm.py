import numpy as np
import paddle
import pytest

from inade import backends
from inade.backends.fused_norm import fusable
from inade.layers import InadeNorm


def _inputs(rng):
    labels = rng.integers(0, 3, size=(2, 8, 8))
    inst = rng.integers(0, 3, size=(2, 8, 8))
    inst[0, :2] = 3  # pixels of no instance take the zero row
    segmap = np.eye(3, dtype="float32")[labels].transpose(0, 3, 1, 2)
    instances = np.eye(4, dtype="float32")[inst][..., :3].transpose(0, 3, 1, 2)
    x = (rng.standard_normal((2, 4, 8, 8)) * 2 + 0.5).astype("float32")
    noise = rng.standard_normal((2, 3, 2, 5)).astype("float32")
    return [paddle.to_tensor(a) for a in (x, segmap, instances, noise)]


def _run(norm, inputs, upstream):
    x = inputs[0].clone()
    x.stop_gradient = False
    out = norm(x, *inputs[1:])
    (out * upstream).sum().backward()
    grads = [x.grad.numpy()] + [p.grad.numpy() for p in (norm.class_weight, norm.class_bias, norm.fc_noise.weight)]
    return out.numpy(), grads, norm.param_free_norm._mean.numpy(), norm.param_free_norm._variance.numpy()


def test_fused_batch_norm_modulation_matches_separate_ops():
    """The recomputing node gives the output, every gradient and the running
    statistics of batch norm followed by the modulation as separate ops."""
    rng = np.random.default_rng(0)
    paddle.seed(0)
    fused = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="batch")
    fused.class_bias.set_value(paddle.to_tensor(rng.standard_normal((3, 4, 2)).astype("float32")))
    fused.recompute = True
    separate = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="batch")
    separate.set_state_dict(fused.state_dict())
    inputs = _inputs(rng)
    upstream = paddle.to_tensor(rng.standard_normal((2, 4, 8, 8)).astype("float32"))
    assert fusable(fused.param_free_norm)

    got = _run(fused, inputs, upstream)
    expected = _run(separate, inputs, upstream)  # recompute off: separate ops

    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    for g, e in zip(got[1], expected[1]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
        assert np.abs(e).max() > 1e-3  # every gradient is really exercised
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[3], expected[3], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["instance", "batch"])
def test_fused_path_only_for_training_batch_norm(kind):
    norm = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm=kind)
    assert fusable(norm.param_free_norm) == (kind == "batch")
    norm.eval()
    assert not fusable(norm.param_free_norm)  # running statistics: the plain layer
    sync = paddle.nn.SyncBatchNorm(4, weight_attr=False, bias_attr=False)
    assert not fusable(sync)


def test_fused_norm_with_frozen_tables_gives_only_the_input_gradient():
    inputs = _inputs(np.random.default_rng(1))
    grads = []
    for fused in (True, False):
        paddle.seed(0)
        norm = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="batch")
        for p in norm.parameters():
            p.stop_gradient = True
        norm.recompute = fused
        x = inputs[0].clone()
        x.stop_gradient = False
        norm(x, *inputs[1:]).square().sum().backward()
        grads.append(x.grad.numpy())
        assert norm.class_weight.grad is None
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_generator_passes_recompute_norms_to_every_inade_norm():
    from inade.networks import Generator

    for flag in (False, True):
        generator = Generator(4, ngf=4, noise_nc=4, crop_size=32, recompute_norms=flag)
        flags = {layer.recompute for layer in generator.sublayers() if isinstance(layer, InadeNorm)}
        assert flags == {flag}


def test_the_paddle_backend_runs_the_separate_ops_even_when_recomputing_is_asked():
    rng = np.random.default_rng(2)
    paddle.seed(0)
    asked = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="batch")
    asked.recompute = True
    separate = InadeNorm(channels=4, num_classes=3, noise_nc=5, param_free_norm="batch")
    separate.set_state_dict(asked.state_dict())
    inputs = _inputs(rng)
    upstream = paddle.to_tensor(rng.standard_normal((2, 4, 8, 8)).astype("float32"))
    with backends.using("paddle"):
        assert not asked.recomputes([2, 4, 8, 8])
        got = _run(asked, inputs, upstream)
    expected = _run(separate, inputs, upstream)
    np.testing.assert_array_equal(got[0], expected[0])
    for g, e in zip(got[1], expected[1]):
        np.testing.assert_array_equal(g, e)


def test_the_configuration_recomputes_large_inputs_by_default_and_can_choose():
    from inade.config import ModelConfig
    from inade.layers.norms import RECOMPUTE_MIN_VALUES
    from inade.networks.build import build_generator

    small, large = [8, 4, 64, RECOMPUTE_MIN_VALUES // 512], [1, 4, 1024, RECOMPUTE_MIN_VALUES // 4096]  # per image
    for setting, expected in ((None, (False, True)), (True, (True, True)), (False, (False, False))):
        model = ModelConfig(ngf=4, noise_nc=4, recompute_norms=setting)
        generator = build_generator(model, num_classes=4, crop_size=32, aspect_ratio=1.0).train()
        norms = [layer for layer in generator.sublayers() if isinstance(layer, InadeNorm)]
        assert {(norm.recomputes(small), norm.recomputes(large)) for norm in norms} == {expected}
        assert not any(norm.eval().recomputes(large) for norm in norms)  # training only


def test_spread_affine_works_in_place_only_where_nothing_is_recorded(monkeypatch):
    from inade.backends import fused_norm

    rng = np.random.default_rng(3)
    x, scale, shift = (paddle.to_tensor(rng.standard_normal(shape).astype("float32"))
                       for shape in ((2, 3, 4, 5), (2, 6, 3), (2, 6, 3)))
    masks = paddle.to_tensor(np.eye(6, dtype="float32")[rng.integers(0, 6, (2, 20))].transpose(0, 2, 1).copy())
    expected = (fused_norm.spread_rows(scale, masks, x.shape) * x + fused_norm.spread_rows(shift, masks, x.shape)).numpy()
    in_place = []
    original = paddle.Tensor.multiply_
    monkeypatch.setattr(paddle.Tensor, "multiply_", lambda self, other: in_place.append(1) or original(self, other))
    with paddle.no_grad():
        np.testing.assert_allclose(fused_norm.spread_affine(scale, shift, masks, x).numpy(), expected, rtol=1e-6)
    assert in_place == [1]
    for t in (x, scale, shift):
        t.stop_gradient = False
    out = fused_norm.spread_affine(scale, shift, masks, x)  # recorded: out of place, with its gradients
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert in_place == [1]
    (grad_x,) = paddle.grad([out.sum()], [x])
    np.testing.assert_allclose(grad_x.numpy(), fused_norm.spread_rows(scale, masks, x.shape).numpy(), rtol=1e-6)
