import numpy as np
import paddle
import pytest

from inade.networks import Generator, InstanceAdaptiveEncoder, MultiscaleDiscriminator, latent_size, remap_noise


def tiny_generator(**kwargs):
    options = dict(ngf=4, noise_nc=3, z_dim=8, crop_size=32)
    options.update(kwargs)
    return Generator(3, **options)


def inputs(batch=2, height=32, width=32, instances=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=(batch, height, width))
    semantics = np.concatenate(
        [np.eye(3, dtype="float32")[labels].transpose(0, 3, 1, 2), np.zeros((batch, 1, height, width), "float32")], 1
    )
    ids = rng.integers(0, instances, size=(batch, height, width))
    onehot = np.eye(instances, dtype="float32")[ids].transpose(0, 3, 1, 2)
    return paddle.to_tensor(semantics), paddle.to_tensor(onehot)


@pytest.mark.parametrize(
    "mode,crop,aspect,expected",
    [("normal", 32, 1.0, (32, 32)), ("more", 64, 1.0, (64, 64)), ("most", 128, 1.0, (128, 128)), ("normal", 64, 2.0, (32, 64))],
)
def test_output_size_for_each_upsampling_mode_and_aspect(mode, crop, aspect, expected):
    generator = tiny_generator(num_upsampling_layers=mode, crop_size=crop, aspect_ratio=aspect)
    generator.eval()
    semantics, instances = inputs(1, *expected)
    assert generator.output_size == expected
    out = generator(semantics, instances)
    assert list(out.shape) == [1, 3, *expected]
    assert float(out.abs().max()) <= 1.0


def test_latent_size_errors():
    with pytest.raises(ValueError, match="multiple of 32"):
        latent_size(48, 1.0, "normal")
    with pytest.raises(ValueError, match="num_upsampling_layers must be one of"):
        latent_size(256, 1.0, "many")


def test_seeded_construction_and_forward_reproduce():
    outputs = []
    for _ in range(2):
        paddle.seed(7)
        generator = tiny_generator()
        semantics, instances = inputs()
        outputs.append(generator(semantics, instances).numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_explicit_noise_is_deterministic_and_changes_only_through_its_instance():
    paddle.seed(1)
    generator = tiny_generator()
    generator.eval()
    semantics, _ = inputs(1)
    # Two instances: left and right halves.
    onehot = np.zeros((1, 2, 32, 32), "float32")
    onehot[0, 0, :, :16] = 1
    onehot[0, 1, :, 16:] = 1
    instances = paddle.to_tensor(onehot)
    noise = paddle.randn([1, 2, 2, 3])
    z = paddle.randn([1, 8])
    first = generator(semantics, instances, noise, z).numpy()
    np.testing.assert_array_equal(first, generator(semantics, instances, noise, z).numpy())
    edited = noise.clone()
    edited[:, 1] = paddle.randn([1, 2, 3]) * 3
    second = generator(semantics, instances, edited, z).numpy()
    change = np.abs(second - first).mean(axis=(0, 1))
    assert change[:, 16:].mean() > 0
    assert change[:, 16:].mean() > 3 * change[:, :16].mean()


def test_clear_errors_for_bad_inputs():
    generator = tiny_generator()
    semantics, instances = inputs()
    with pytest.raises(ValueError, match=r"semantic map must be \[B, 4, H, W\]"):
        generator(semantics[:, :3], instances)
    with pytest.raises(ValueError, match="instance map .* does not match the semantic map"):
        generator(semantics, instances[:, :, :16])
    with pytest.raises(ValueError, match="INADE needs the instance one-hot map"):
        generator(semantics)
    with pytest.raises(ValueError, match=r"instance noise must have shape \[2, 3, 2, 3\]"):
        generator(semantics, instances, paddle.zeros([2, 3, 3]))
    with pytest.raises(ValueError, match="image noise z must have shape"):
        generator(semantics, instances, None, paddle.zeros([2, 7]))


def test_spade_generator_without_z_starts_from_the_map():
    generator = Generator(3, norm_mode="spade", ngf=4, crop_size=32, use_z=False)
    generator.eval()
    semantics, _ = inputs(1)
    first = generator(semantics).numpy()
    np.testing.assert_array_equal(first, generator(semantics).numpy())  # deterministic: no noise anywhere


def test_encoder_and_remapping_shapes_and_zero_variance_gives_the_mean():
    paddle.seed(0)
    encoder = InstanceAdaptiveEncoder(ndf=4, noise_nc=3)
    _, instances = inputs(2, 32, 32, instances=5)
    outputs = encoder(paddle.randn([2, 3, 32, 32]), instances)
    assert [list(o.shape) for o in outputs] == [[2, 5, 3]] * 4
    mu = paddle.ones([2, 5, 3])
    remapped = remap_noise(paddle.randn([2, 5, 2, 3]), mu, paddle.full([2, 5, 3], -80.0), -mu, paddle.full([2, 5, 3], -80.0))
    np.testing.assert_allclose(remapped[:, :, 0].numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(remapped[:, :, 1].numpy(), -1.0, atol=1e-6)
    with pytest.raises(ValueError, match="multiples of 16"):
        encoder(paddle.randn([1, 3, 24, 24]), paddle.ones([1, 1, 24, 24]))


def test_discriminator_feature_shapes():
    discriminator = MultiscaleDiscriminator(7, ndf=8, n_layers=4, num_d=2)
    features = discriminator(paddle.randn([2, 7, 64, 64]))
    assert [list(f.shape[1:]) for f in features[0]] == [[8, 33, 33], [16, 17, 17], [32, 9, 9], [64, 10, 10], [1, 11, 11]]
    assert [list(f.shape[1:]) for f in features[1]] == [[8, 17, 17], [16, 9, 9], [32, 5, 5], [64, 6, 6], [1, 7, 7]]


def test_reference_initialisation():
    paddle.seed(0)
    generator = Generator(3, ngf=16, noise_nc=8, z_dim=32, crop_size=32)
    conv = generator.up_0.conv_0  # spectral norm: the trainable weight is weight_orig
    out_c, in_c, kh, kw = conv.weight_orig.shape
    expected_std = 0.02 * np.sqrt(2.0 / (in_c * kh * kw + out_c * kh * kw))
    assert abs(float(conv.weight_orig.std()) / expected_std - 1) < 0.1
    assert float(conv.bias.abs().max()) == 0.0
    table = generator.up_0.norm_0.class_weight.numpy()
    assert table.min() >= 0.0 and table.max() <= 1.0 and abs(table.mean() - 0.5) < 0.05
    assert float(generator.up_0.norm_0.class_bias.abs().max()) == 0.0
    fc_in, fc_out = generator.fc.weight.shape
    assert abs(float(generator.fc.weight.std()) / (0.02 * np.sqrt(2.0 / (fc_in + fc_out))) - 1) < 0.1


def test_folding_spectral_norm_keeps_eval_outputs():
    import copy

    from inade.networks.spectral import fold_spectral_norm

    paddle.seed(2)
    generator = tiny_generator()
    generator.eval()
    semantics, instances = inputs(1)
    noise, z = paddle.randn([1, 3, 2, 3]), paddle.randn([1, 8])
    folded = fold_spectral_norm(copy.deepcopy(generator))
    assert not any(name.endswith("weight_orig") for name in folded.state_dict())
    np.testing.assert_allclose(folded(semantics, instances, noise, z).numpy(),
                               generator(semantics, instances, noise, z).numpy(), atol=1e-6)
    assert any(name.endswith("weight_orig") for name in generator.state_dict())  # the original is untouched


def test_attentive_norm_in_the_generator_starts_as_the_identity_and_checks_its_width():
    from inade.layers import AttentiveNorm

    paddle.seed(0)
    plain = Generator(6, norm_mode="spade", ngf=4, crop_size=64, use_z=False).eval()
    with_an = Generator(6, norm_mode="spade", ngf=4, crop_size=64, use_z=False, attentive_norm_width=32).eval()
    assert with_an.attentive_after == "up_2" and isinstance(with_an.attentive_norm, AttentiveNorm)
    assert with_an.attentive_norm.region_gamma.shape[1] == 8  # up_2's output channels: 2 * ngf
    with_an.set_state_dict(plain.state_dict())  # every weight but the new layer's
    semantics = paddle.to_tensor(np.eye(7, dtype="float32")[np.random.default_rng(0).integers(0, 7, (1, 64, 64))]
                                 .transpose(0, 3, 1, 2))
    with paddle.no_grad():  # rho starts at 0: the layer adds nothing until trained
        np.testing.assert_allclose(with_an(semantics).numpy(), plain(semantics).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"attentive_norm_width 48 is not a width the generator's blocks produce: \[2, 4, 8, 16, 32, 64\]"):
        Generator(6, norm_mode="spade", ngf=4, crop_size=64, use_z=False, attentive_norm_width=48)


def test_spade_hidden_width_is_configurable_and_read_back_from_releases():
    narrow = Generator(6, norm_mode="spade", ngf=4, crop_size=64, use_z=False, spade_hidden=8)
    assert narrow.head_0.norm_0.mlp_shared[0].weight.shape == [8, 7, 3, 3]
    from inade.checkpoints.convert import detect_generator_options

    state = {k: v.numpy() for k, v in narrow.state_dict().items()}
    assert detect_generator_options(state, "spade", 6)["spade_hidden"] == 8


def test_eval_generator_folds_its_batch_norms_and_matches_the_unfolded_norms(monkeypatch):
    import inade.layers.norms as norms

    paddle.seed(3)
    generator = tiny_generator()
    semantics, instances = inputs(2)
    noise, z = paddle.randn([2, 3, 2, 3]), paddle.randn([2, 8])
    for _ in range(2):  # running statistics of its own, away from 0 and 1
        generator(semantics, instances, noise, z)
    generator.eval()
    with paddle.no_grad():
        folded = generator(semantics, instances, noise, z).numpy()
        monkeypatch.setattr(norms, "running_affine", lambda norm: None)  # every norm's batch norm runs as itself
        unfolded = generator(semantics, instances, noise, z).numpy()
    assert np.abs(unfolded).max() > 1e-4  # the reference initialisation's outputs are small
    np.testing.assert_allclose(folded, unfolded, rtol=1e-4, atol=1e-8)
