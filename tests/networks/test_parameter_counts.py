"""Parameter counts of the reference release (fact sheet table and fixture configs)."""
import json
import os

import pytest

from inade.networks import Generator, InstanceAdaptiveEncoder, MultiscaleDiscriminator, count_parameters

# (class channels, ngf, noise_nc, crop, upsampling, aspect, ndf) -> (G, D, E)
REFERENCE_TABLE = [
    ((35, 64, 64, 256, "normal", 1.0, 64), (85_815_811, 5_601_410, 3_689_856)),
    ((35, 64, 64, 512, "more", 2.0, 64), (77_394_435, 5_601_410, 3_689_856)),
    ((151, 64, 64, 256, "normal", 1.0, 64), (90_893_827, 5_838_978, 3_689_856)),
    ((8, 64, 8, 256, "normal", 1.0, 64), (84_020_995, 5_546_114, 3_560_608)),
    ((6, 16, 64, 64, "normal", 1.0, 64), (4_679_107, 5_542_018, 259_104)),
]


@pytest.mark.parametrize("config,expected", REFERENCE_TABLE)
def test_inade_parameter_counts(config, expected):
    classes, ngf, noise_nc, crop, upsampling, aspect, ndf = config
    generator = Generator(
        classes, ngf=ngf, noise_nc=noise_nc, crop_size=crop, aspect_ratio=aspect, num_upsampling_layers=upsampling
    )
    discriminator = MultiscaleDiscriminator(classes + 1 + 3, ndf=ndf)
    encoder = InstanceAdaptiveEncoder(ngf, noise_nc)
    assert (count_parameters(generator), count_parameters(discriminator), count_parameters(encoder)) == expected


def test_fixture_config_parameter_counts(fixtures_dir):
    with open(os.path.join(fixtures_dir, "official_inade_tiny", "config.json")) as f:
        cfg = json.load(f)
    generator = Generator(cfg["label_nc"], ngf=cfg["ngf"], noise_nc=cfg["noise_nc"], crop_size=cfg["crop_size"])
    discriminator = MultiscaleDiscriminator(cfg["semantic_nc"] + 3, ndf=cfg["ndf"], num_d=cfg["num_D"])
    encoder = InstanceAdaptiveEncoder(cfg["ngf"], cfg["noise_nc"])
    counts = {"G": generator, "D": discriminator, "E": encoder}
    assert {k: count_parameters(v) for k, v in counts.items()} == cfg["params"]
