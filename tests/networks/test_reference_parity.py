"""The port reproduces the authors' release: its checkpoints, its outputs."""
import json
import os

import numpy as np
import paddle
import pytest

from inade.checkpoints import load_reference_checkpoint
from inade.networks import Generator, InstanceAdaptiveEncoder, MultiscaleDiscriminator, remap_noise

ENCODER_OUTPUTS = ("enc_scale_mu", "enc_scale_logvar", "enc_bias_mu", "enc_bias_logvar")


def assert_matches_reference(ours, reference, name):
    ours = ours.numpy()
    assert ours.shape == reference.shape, name
    tolerance = 1e-4 * max(1.0, float(np.abs(reference).max()))
    error = float(np.abs(ours - reference).max())
    assert error <= tolerance, f"{name}: max |port - reference| = {error:.3g} > {tolerance:.3g}"


@pytest.fixture(scope="module")
def inade_tiny(fixtures_dir):
    root = os.path.join(fixtures_dir, "official_inade_tiny")
    with open(os.path.join(root, "config.json")) as f:
        cfg = json.load(f)
    generator = Generator(cfg["label_nc"], ngf=cfg["ngf"], noise_nc=cfg["noise_nc"], crop_size=cfg["crop_size"])
    encoder = InstanceAdaptiveEncoder(cfg["ngf"], cfg["noise_nc"])
    discriminator = MultiscaleDiscriminator(cfg["semantic_nc"] + 3, ndf=cfg["ndf"], num_d=cfg["num_D"])
    for network, name in ((generator, "G"), (encoder, "E"), (discriminator, "D")):
        load_reference_checkpoint(network, os.path.join(root, f"net_{name}.pth"))
        network.eval()
    io = dict(np.load(os.path.join(root, "io.npz")))
    return generator, encoder, discriminator, io


def test_encoder_matches(inade_tiny):
    _, encoder, _, io = inade_tiny
    with paddle.no_grad():
        outputs = encoder(paddle.to_tensor(io["image"]), paddle.to_tensor(io["instances"]))
    for value, name in zip(outputs, ENCODER_OUTPUTS):
        assert_matches_reference(value, io[name], name)


def test_generator_matches_with_remapped_and_prior_noise(inade_tiny):
    generator, _, _, io = inade_tiny
    t = {k: paddle.to_tensor(v) for k, v in io.items()}
    remapped = remap_noise(t["eps"], *(t[k] for k in ENCODER_OUTPUTS))
    with paddle.no_grad():
        fake = generator(t["semantics"], t["instances"], remapped, t["z_img"])
        fake_prior = generator(t["semantics"], t["instances"], t["eps"], t["z_img"])
    assert_matches_reference(fake, io["fake"], "fake")
    assert_matches_reference(fake_prior, io["fake_prior"], "fake_prior")


def test_discriminator_matches_every_feature(inade_tiny):
    _, _, discriminator, io = inade_tiny
    with paddle.no_grad():
        features = discriminator(paddle.concat([paddle.to_tensor(io["semantics"]), paddle.to_tensor(io["fake"])], 1))
    names = sorted(k for k in io if k.startswith("d") and "_feat" in k)
    assert len(names) == sum(len(scale) for scale in features) == 10
    for name in names:
        scale, index = int(name[1]), int(name.split("feat")[1])
        assert_matches_reference(features[scale][index], io[name], name)
