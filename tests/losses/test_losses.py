import numpy as np
import paddle
import pytest

from inade.errors import CheckpointError
from inade.losses import (
    VGG19Features,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    inade_kld_loss,
    kld_loss,
    load_vgg19,
    pooled_l1_loss,
    vgg_loss,
)
from inade.losses.reconstruction import chromaticity, local_contrast


def preds(*maps):
    return [[paddle.zeros([1]), paddle.to_tensor(np.array(m, dtype="float32"))] for m in maps]


def test_hinge_losses_by_hand():
    scales = preds([2.0, 0.5, -1.0], [0.0, 3.0])
    # real: mean(relu(1 - x)) per scale -> (0 + 0.5 + 2)/3 and (1 + 0)/2
    assert float(discriminator_loss(scales, True)) == pytest.approx(((2.5 / 3) + 0.5) / 2)
    # fake: mean(relu(1 + x)) -> (3 + 1.5 + 0)/3 and (1 + 4)/2
    assert float(discriminator_loss(scales, False)) == pytest.approx((1.5 + 2.5) / 2)
    # generator: -mean(x) -> -0.5 and -1.5
    assert float(generator_adversarial_loss(scales)) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="gan_mode must be one of"):
        discriminator_loss(scales, True, gan_mode="relativistic")


def test_other_gan_modes():
    scales = preds([0.0])
    assert float(discriminator_loss(scales, True, "ls")) == pytest.approx(1.0)
    assert float(discriminator_loss(scales, True, "original")) == pytest.approx(np.log(2.0))
    assert float(discriminator_loss(preds([2.0]), False, "w")) == pytest.approx(2.0)


def test_feature_matching_uses_only_the_last_intermediate_feature_in_inade_mode():
    fake = [[paddle.full([1, 2], 1.0), paddle.full([1, 2], 2.0), paddle.full([1, 1], 9.0)]] * 2
    real = [[paddle.full([1, 2], 0.0), paddle.full([1, 2], 0.0), paddle.full([1, 1], 0.0)]] * 2
    assert float(feature_matching_loss(fake, real, lambda_feat=10.0, last_only=True)) == pytest.approx(20.0)
    assert float(feature_matching_loss(fake, real, lambda_feat=10.0, last_only=False)) == pytest.approx(30.0)


def test_feature_matching_does_not_send_gradients_to_real_features():
    fake = paddle.ones([1, 2])
    fake.stop_gradient = False
    real = paddle.zeros([1, 2])
    real.stop_gradient = False
    feature_matching_loss([[fake, fake]], [[real, real]]).backward()
    assert fake.grad is not None and real.grad is None


def test_kld_matches_closed_form():
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    expected = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))
    got = kld_loss(paddle.to_tensor(mu, dtype="float32"), paddle.to_tensor(logvar, dtype="float32"))
    assert float(got) == pytest.approx(expected, rel=1e-5)
    zero = paddle.zeros([1, 2, 3])
    assert float(kld_loss(zero, zero)) == 0.0
    both = inade_kld_loss(*(paddle.to_tensor(a, dtype="float32") for a in (mu, logvar, mu, logvar)), lambda_kld=0.05)
    assert float(both) == pytest.approx(expected * 0.05, rel=1e-5)


def test_vgg19_loads_from_pdparams_and_is_frozen(tmp_path):
    paddle.seed(0)
    source = VGG19Features()
    path = str(tmp_path / "vgg19.pdparams")
    paddle.save(source.state_dict(), path)
    vgg = load_vgg19(path)
    assert all(p.stop_gradient for p in vgg.parameters())
    x = paddle.randn([1, 3, 32, 32])
    np.testing.assert_allclose(vgg(x)[-1].numpy(), source(x)[-1].numpy(), atol=1e-5)
    assert [list(f.shape[1:]) for f in vgg(x)] == [[64, 32, 32], [128, 16, 16], [256, 8, 8], [512, 4, 4], [512, 2, 2]]
    assert float(vgg_loss(vgg, x, x)) == 0.0
    assert float(vgg_loss(vgg, x, x + 1)) > 0.0


def test_vgg19_loads_from_safetensors(tmp_path):
    from inade.checkpoints.safetensors_format import write_safetensors

    paddle.seed(1)
    source = VGG19Features()
    path = str(tmp_path / "vgg19.safetensors")
    write_safetensors(path, {name: value.numpy() for name, value in source.state_dict().items()})
    x = paddle.randn([1, 3, 32, 32])
    np.testing.assert_array_equal(load_vgg19(path)(x)[-1].numpy(), source(x)[-1].numpy())


def test_vgg19_refuses_missing_or_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="VGG19 weights file not found"):
        load_vgg19(str(tmp_path / "none.pdparams"))
    other = str(tmp_path / "other.pdparams")
    paddle.save({"conv.weight": paddle.zeros([1])}, other)
    with pytest.raises(CheckpointError, match="is not a VGG19 checkpoint: missing features.0.weight"):
        load_vgg19(other)


def test_pooled_l1_is_plain_l1_without_pooling_and_ignores_detail_below_the_pool():
    rng = np.random.default_rng(0)
    real = paddle.to_tensor(rng.standard_normal([2, 3, 8, 8]).astype("float32"))
    fake = paddle.to_tensor(rng.standard_normal([2, 3, 8, 8]).astype("float32"), stop_gradient=False)
    assert float(pooled_l1_loss(fake, real)) == pytest.approx(float((fake - real).abs().mean()), rel=1e-6)
    # a +-1 checkerboard averages out in every 2x2 block: no low-frequency error
    checker = np.indices([8, 8]).sum(0) % 2 * 2.0 - 1.0
    detail = paddle.to_tensor(np.broadcast_to(checker, [2, 3, 8, 8]).astype("float32"))
    assert float(pooled_l1_loss(real + detail, real, pool=2)) == pytest.approx(0.0, abs=1e-6)
    assert float(pooled_l1_loss(real + 0.5, real, pool=2)) == pytest.approx(0.5, rel=1e-6)
    real.stop_gradient = False
    pooled_l1_loss(fake, real, pool=2).backward()
    assert fake.grad is not None and real.grad is None


def _hsv_image(hue_degrees, saturation, value):
    from inade.data.colour import hsv_to_rgb

    rgb = hsv_to_rgb(np.full([4, 4], hue_degrees), np.full([4, 4], saturation), np.full([4, 4], value))  # [H, W, 3] in [0, 1]
    return paddle.to_tensor((rgb.transpose(2, 0, 1)[None] * 2.0 - 1.0).astype("float32"))


def _stripes(amplitude, phase, size=16, period=6.0):
    ys, xs = np.mgrid[0:size, 0:size]
    wave = amplitude * np.sin(2 * np.pi * (0.6 * ys + 0.8 * xs) / period + phase)
    return paddle.to_tensor(np.broadcast_to(0.1 + wave, [1, 3, size, size]).astype("float32"))


def test_contrast_term_sees_texture_strength_not_its_phase():
    photo = _stripes(0.2, 0.0)
    shifted, faint = _stripes(0.2, 2.0), _stripes(0.05, 0.0)
    pooled = {name: float(pooled_l1_loss(fake, photo, pool=4)) for name, fake in (("phase", shifted), ("amplitude", faint))}
    total = {name: float(pooled_l1_loss(fake, photo, pool=4, contrast_weight=1.0)) for name, fake in (("phase", shifted), ("amplitude", faint))}
    contrast = {name: total[name] - pooled[name] for name in pooled}
    assert contrast["amplitude"] > 0.05 and contrast["amplitude"] > 4 * contrast["phase"]
    # stripes period 6 leak through 4x4 pooling: alone the pooled term prefers faint stripes to
    # strong ones at another phase (which a generator cannot know); the contrast term reverses that
    assert pooled["amplitude"] < pooled["phase"] and total["phase"] < total["amplitude"]
    # standard deviation per window: a flat image has none (up to the epsilon), a +-a checkerboard has a
    flat = paddle.full([1, 1, 8, 8], 0.3)
    checker = paddle.to_tensor((np.indices([8, 8]).sum(0) % 2 * 2.0 - 1.0)[None, None].astype("float32") * 0.5)
    assert local_contrast(flat, 4).shape == [1, 1, 2, 2]
    assert np.allclose(local_contrast(flat, 4).numpy(), 0.01, atol=1e-4)
    assert np.allclose(local_contrast(checker, 4).numpy(), np.sqrt(0.25 + 1e-4), atol=1e-5)
    fake = paddle.to_tensor(faint.numpy(), stop_gradient=False)
    pooled_l1_loss(fake, flat.expand([1, 3, 8, 8]).tile([1, 1, 2, 2]), pool=4, contrast_weight=1.0).backward()
    assert np.isfinite(fake.grad.numpy()).all() and np.abs(fake.grad.numpy()).max() > 0
    with pytest.raises(ValueError, match="needs pool >= 2, got 1"):
        pooled_l1_loss(faint, photo, pool=1, contrast_weight=1.0)


def test_chromaticity_term_weighs_hue_and_ignores_brightness():
    photo = _hsv_image(100.0, 0.7, 0.7)
    hue_shifted, brighter = _hsv_image(112.0, 0.7, 0.7), _hsv_image(100.0, 0.7, 0.9)
    # brightness scales the colour: its chromaticity stays (up to the epsilon that keeps black finite)
    assert np.abs(chromaticity(brighter).numpy() - chromaticity(photo).numpy()).max() < 0.01
    assert np.abs(chromaticity(hue_shifted).numpy() - chromaticity(photo).numpy()).max() > 0.03
    # weight 0 is the plain term; the weight adds to the hue shift's cost far more than to the brightness change's
    assert float(pooled_l1_loss(hue_shifted, photo, chromaticity_weight=0.0)) == pytest.approx(float((hue_shifted - photo).abs().mean()))
    added = {name: float(pooled_l1_loss(fake, photo, chromaticity_weight=8.0)) - float(pooled_l1_loss(fake, photo))
             for name, fake in (("hue", hue_shifted), ("brightness", brighter))}
    assert added["hue"] > 5 * added["brightness"] > 0
    fake = paddle.to_tensor(hue_shifted.numpy(), stop_gradient=False)
    pooled_l1_loss(fake, photo, pool=2, chromaticity_weight=8.0).backward()
    assert np.isfinite(fake.grad.numpy()).all() and np.abs(fake.grad.numpy()).max() > 0
