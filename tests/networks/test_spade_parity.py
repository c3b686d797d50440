"""The SPADE + VAE (GauGAN) baseline reproduces the authors' release."""
import os

import numpy as np
import paddle
import pytest

from inade.checkpoints import load_reference_checkpoint
from inade.networks import Generator, MultiscaleDiscriminator, count_parameters
from inade.networks.vae_encoder import ConvEncoder

from .test_reference_parity import assert_matches_reference


@pytest.fixture(scope="module")
def spade_tiny(fixtures_dir):
    root = os.path.join(fixtures_dir, "official_spade_vae_tiny")
    networks = {
        "G": Generator(6, norm_mode="spade", ngf=4, crop_size=256, use_z=True),
        "E": ConvEncoder(ndf=4, crop_size=256),
        "D": MultiscaleDiscriminator(10, ndf=8),
    }
    for name, network in networks.items():
        load_reference_checkpoint(network, os.path.join(root, f"net_{name}.pth"))
        network.eval()
    return networks, dict(np.load(os.path.join(root, "io.npz")))


def test_spade_vae_matches_every_recorded_output(spade_tiny):
    networks, io = spade_tiny
    t = {k: paddle.to_tensor(v) for k, v in io.items()}
    with paddle.no_grad():
        mu, logvar = networks["E"](t["image"])
        fake = networks["G"](t["semantics"], z=t["z_img"])
        features = networks["D"](paddle.concat([t["semantics"], t["fake"]], axis=1))
    assert_matches_reference(mu, io["enc_mu"], "enc_mu")
    assert_matches_reference(logvar, io["enc_logvar"], "enc_logvar")
    assert_matches_reference(fake, io["fake"], "fake")
    for scale in range(2):
        for index in range(5):
            name = f"d{scale}_feat{index}"
            assert_matches_reference(features[scale][index], io[name], name)


def test_spade_vae_parameter_counts():
    assert count_parameters(Generator(35, norm_mode="spade", ngf=64, crop_size=256)) == 109_557_955
    assert count_parameters(ConvEncoder(ndf=64, crop_size=256)) == 10_463_424


@pytest.mark.parametrize("crop,layers", [(64, 4), (128, 5), (512, 6)])
def test_image_encoder_works_below_256_unlike_the_reference(crop, layers):
    encoder = ConvEncoder(ndf=4, crop_size=crop, z_dim=16)
    assert encoder.num_layers == layers
    mu, logvar = encoder(paddle.randn([2, 3, crop, crop // 2 if crop == 512 else crop]))
    assert list(mu.shape) == list(logvar.shape) == [2, 16]
