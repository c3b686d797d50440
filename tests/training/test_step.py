"""The generator step's split of a batch into reconstructions and prior samples."""
import numpy as np
import paddle
import pytest

from inade.config import load_config
from inade.data.procedural import ProceduralDataset
from inade.errors import ConfigError, InadeError
from inade.training.loop import Training
from inade.paddle_private import optimizer_parameters
from inade.training.step import generator_losses, posterior_rows

from .tiny import write_config


def first_batch(training):
    _, tensors = next(training.batches())
    return tensors


def losses_for(training, semantics, instances, image, seed=3):
    """The G step's losses from the same network state and noise each call
    (a training forward advances spectral norm's power iteration)."""
    nets = (training.generator, training.encoder, training.discriminator)
    saved = [{k: v.clone() for k, v in net.state_dict().items()} for net in nets]
    paddle.seed(seed)
    for net in nets:
        net.train()
    fake, losses = generator_losses(nets, training.config.loss, None, semantics, instances, image)
    for net, state in zip(nets, saved):
        net.set_state_dict(state)
    return fake.numpy(), {name: float(value) for name, value in losses.items()}


@pytest.fixture(scope="module", params=["inade", "spade"])
def training(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    config = load_config(write_config(folder, folder / "run", model={"norm_mode": request.param},
                                      loss={"lambda_vgg": 0.0, "lambda_l1": 1.0, "prior_fraction": 0.5},
                                      data={"batch_size": 4}))
    return Training(config, ProceduralDataset(size=32, num_samples=8, seed=0))


def test_posterior_rows_keep_at_least_one_image_for_the_encoder():
    assert posterior_rows(8, 0.0) == 8
    assert posterior_rows(8, 0.5) == 4
    assert posterior_rows(8, 0.25) == 6
    assert posterior_rows(1, 0.5) == 1
    assert posterior_rows(2, 0.9) == 1


def test_prior_rows_photos_reach_no_loss_term_and_posterior_rows_photos_do(training):
    semantics, instances, image, _ = first_batch(training)
    fake, losses = losses_for(training, semantics, instances, image)
    assert {"G_GAN", "G_Feat", "KLD", "L1"} <= set(losses)

    # the last two images are prior samples: their photos are never encoded or reconstructed
    other = image.numpy().copy()
    other[2:] = np.random.default_rng(0).uniform(-1, 1, other[2:].shape)
    fake_other, losses_other = losses_for(training, semantics, instances, paddle.to_tensor(other))
    np.testing.assert_array_equal(fake_other, fake)
    for name in ("G_GAN", "KLD", "L1"):
        assert losses_other[name] == pytest.approx(losses[name], rel=1e-6), name
    # feature matching compares against the real photos' D features of the first two rows only
    assert losses_other["G_Feat"] == pytest.approx(losses["G_Feat"], rel=1e-6)

    # a posterior row's photo changes its reconstruction and the reconstruction terms
    other = image.numpy().copy()
    other[:1] = np.random.default_rng(1).uniform(-1, 1, other[:1].shape)
    fake_first, losses_first = losses_for(training, semantics, instances, paddle.to_tensor(other))
    assert np.abs(fake_first[0] - fake[0]).max() > 1e-3 * np.abs(fake[0]).max()  # untrained nets: small but far above rounding
    assert losses_first["L1"] != pytest.approx(losses["L1"], rel=1e-4)
    assert losses_first["KLD"] != pytest.approx(losses["KLD"], rel=1e-4)


def test_without_prior_fraction_every_photo_is_reconstructed(training):
    semantics, instances, image, _ = first_batch(training)
    loss_cfg = training.config.loss
    loss_cfg.prior_fraction = 0.0
    try:
        fake, losses = losses_for(training, semantics, instances, image)
        other = image.numpy().copy()
        other[3:] = np.random.default_rng(0).uniform(-1, 1, other[3:].shape)
        fake_other, losses_other = losses_for(training, semantics, instances, paddle.to_tensor(other))
    finally:
        loss_cfg.prior_fraction = 0.5
    assert np.abs(fake_other[3] - fake[3]).max() > 1e-3 * np.abs(fake[3]).max()
    assert losses_other["L1"] != pytest.approx(losses["L1"], rel=1e-4)


def test_prior_fraction_is_checked(tmp_path):
    with pytest.raises(ConfigError, match=r"loss.prior_fraction must be in \[0, 1\)"):
        load_config(write_config(tmp_path, tmp_path / "run", loss={"prior_fraction": 1.0}))
    with pytest.raises(ConfigError, match="loss.prior_fraction needs model.use_encoder"):
        load_config(write_config(tmp_path, tmp_path / "run", loss={"prior_fraction": 0.5}, model={"use_encoder": False}))


def _step_with(adam_multi_tensor, tmp_path):
    tmp_path.mkdir()
    config = load_config(write_config(tmp_path, tmp_path / "run", data={"batch_size": 2}))
    paddle.seed(0)
    training = Training(config, ProceduralDataset(size=32, num_samples=8, seed=0))
    if not adam_multi_tensor:
        for name in ("opt_g", "opt_d"):
            opt = getattr(training, name)
            setattr(training, name, paddle.optimizer.Adam(opt._learning_rate, beta1=opt._beta1, beta2=opt._beta2,
                                                          parameters=optimizer_parameters(opt)))
    semantics, instances, image, _ = first_batch(training)
    paddle.seed(5)
    training.step(semantics, instances, image)
    return [p.numpy() for p in optimizer_parameters(training.opt_g) + optimizer_parameters(training.opt_d)]


def test_merged_adam_updates_as_one_kernel_per_parameter_does(tmp_path):
    merged = _step_with(True, tmp_path / "merged")
    separate = _step_with(False, tmp_path / "separate")
    assert len(merged) == len(separate)
    for a, b in zip(merged, separate):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_parameter_without_gradient_is_named(training):
    semantics, instances, image, _ = first_batch(training)
    unused = training.generator.create_parameter([3])
    optimizer_parameters(training.opt_g).append(unused)
    try:
        with pytest.raises(InadeError, match=f"1 parameters of the generator and encoder received no gradient.*{unused.name}"):
            training.step(semantics, instances, image)
    finally:
        optimizer_parameters(training.opt_g).pop()  # the one appended above
