"""The reference parity tests (the authors' recorded outputs) once more with
the paddle backend: both backends reproduce the authors' networks. The default
(onednn) run is tests/networks itself."""
import pytest

from inade import backends
from inade.backends import narrow_conv, onednn
from tests.networks.test_reference_parity import (inade_tiny, test_discriminator_matches_every_feature,  # noqa: F401
                                                  test_encoder_matches,
                                                  test_generator_matches_with_remapped_and_prior_noise)
from tests.networks.test_spade_parity import spade_tiny, test_spade_vae_matches_every_recorded_output  # noqa: F401


def _not_with_the_paddle_backend(*args, **kwargs):
    raise AssertionError("a speed-up ran with the paddle backend")


@pytest.fixture(autouse=True)
def paddle_backend(monkeypatch):
    monkeypatch.setattr(onednn, "primitives", _not_with_the_paddle_backend)
    monkeypatch.setattr(narrow_conv, "narrow_conv2d", _not_with_the_paddle_backend)
    with backends.using("paddle"):
        yield
