import os

import numpy as np
import pytest

from inade.checkpoints import convert_reference_state, reference_to_paddle_name
from inade.errors import CheckpointError
from inade.checkpoints import read_torch_checkpoint
from inade.networks import Generator, MultiscaleDiscriminator


def test_names():
    assert reference_to_paddle_name("up_0.norm_s.weight") == "up_0.norm_s.class_weight"
    assert reference_to_paddle_name("up_0.norm_1.fc_noise.weight") == "up_0.norm_1.fc_noise.weight"
    assert reference_to_paddle_name("head_0.norm_0.param_free_norm.running_var") == "head_0.norm_0.param_free_norm._variance"
    assert reference_to_paddle_name("head_0.norm_0.param_free_norm.num_batches_tracked") is None
    assert reference_to_paddle_name("discriminator_1.model2.0.0.weight_u") == "scales.1.layers.2.conv.weight_u"
    assert reference_to_paddle_name("discriminator_0.model4.0.bias") == "scales.0.layers.4.conv.bias"
    assert reference_to_paddle_name("up_0.norm_0.mlp_shared.0.weight") == "up_0.norm_0.mlp_shared.0.weight"


@pytest.fixture(scope="module")
def reference_generator_state(fixtures_dir):
    return read_torch_checkpoint(os.path.join(fixtures_dir, "official_inade_tiny", "net_G.pth"))


def tiny_generator():
    return Generator(6, ngf=8, noise_nc=16, crop_size=64)


def test_linear_weights_are_transposed(reference_generator_state):
    state = convert_reference_state(reference_generator_state, tiny_generator())
    np.testing.assert_array_equal(state["fc.weight"], reference_generator_state["fc.weight"].T)
    np.testing.assert_array_equal(
        state["up_1.norm_0.fc_noise.weight"], reference_generator_state["up_1.norm_0.fc_noise.weight"].T
    )


def test_missing_unexpected_and_mismatched_keys_are_listed(reference_generator_state):
    doctored = dict(reference_generator_state)
    del doctored["conv_img.bias"]
    doctored["extra.weight"] = np.zeros(3, "float32")
    with pytest.raises(CheckpointError) as info:
        convert_reference_state(doctored, tiny_generator(), source="net_G.pth")
    message = str(info.value)
    assert "net_G.pth does not fit the Generator" in message
    assert "missing conv_img.bias" in message and "unexpected extra.weight" in message


def test_checkpoint_of_another_configuration_names_the_shapes(reference_generator_state):
    with pytest.raises(CheckpointError, match=r"shape mismatch fc.weight \[512, 256\] \(expected \[2048, 256\]\)"):
        convert_reference_state(reference_generator_state, Generator(6, ngf=8, noise_nc=16, crop_size=128))


def test_generator_checkpoint_into_a_discriminator_is_refused(reference_generator_state):
    with pytest.raises(CheckpointError, match="does not fit the MultiscaleDiscriminator"):
        convert_reference_state(reference_generator_state, MultiscaleDiscriminator(10, ndf=16))
