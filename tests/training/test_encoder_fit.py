import numpy as np
import pytest

from inade.config import load_config
from inade.errors import ConfigError
from inade.training import train
from inade.checkpoints.native import load_checkpoint

from .tiny import write_config

FIT = {"lambda_vgg": 0.0, "lambda_l1": 2.0}


def weights(run_dir, iteration):
    state = load_checkpoint(str(run_dir / "checkpoints" / f"iter_{iteration:08d}.safetensors"))
    return state, {net: {k: np.asarray(v) for k, v in state[net].items()} for net in ("generator", "encoder", "discriminator")}


@pytest.mark.parametrize("mode", ["inade", "spade"])  # per-instance codes, and GauGAN's image-level z
def test_the_encoder_fitting_stage_moves_only_the_encoder(tmp_path, mode):
    result = train(load_config(write_config(tmp_path, tmp_path / "run", loss=FIT, model={"norm_mode": mode},
                                            optim={"iterations": 2, "encoder_fit_iterations": 2})))
    assert result.status == "finished" and result.iteration == 4
    # the stage's loss: the reconstruction term alone, no adversarial ones and no KLD
    assert set(result.last_losses) == {"L1"} and result.last_losses["L1"] > 0
    _, before = weights(tmp_path / "run", 2)
    state, after = weights(tmp_path / "run", 4)
    for net in ("generator", "discriminator"):  # batch norm statistics included: the generator runs in eval mode
        assert all(np.array_equal(before[net][k], after[net][k]) for k in before[net]), net
    assert any(not np.array_equal(before["encoder"][k], after["encoder"][k]) for k in before["encoder"])
    variance_heads = [k for k in before["encoder"] if "_var." in k]  # the stage fits the means only
    assert variance_heads and all(np.array_equal(before["encoder"][k], after["encoder"][k]) for k in variance_heads)
    assert state["opt_e"]


def test_a_run_resumed_inside_the_encoder_fitting_stage_reproduces_the_straight_one(tmp_path):
    optim = {"iterations": 2, "encoder_fit_iterations": 3}
    straight = train(load_config(write_config(tmp_path, tmp_path / "a", loss=FIT, optim=optim)))
    # stop one iteration into the stage (checkpoint_every 2), then resume
    first = train(load_config(write_config(tmp_path, tmp_path / "b", loss=FIT,
                                           optim={"iterations": 2, "encoder_fit_iterations": 1})))
    assert first.iteration == 3
    resumed = train(load_config(write_config(tmp_path, tmp_path / "b", loss=FIT, optim=optim)))
    assert resumed.iteration == 5 and resumed.last_losses == straight.last_losses


@pytest.mark.parametrize("sections, message", [
    ({"model": {"use_encoder": False}}, "optim.encoder_fit_iterations needs model.use_encoder: true"),
    ({"loss": {"lambda_vgg": 10.0}}, "optim.encoder_fit_iterations needs a reconstruction term"),
    ({"loss": FIT, "optim": {"iterations": 2, "encoder_fit_iterations": -1}}, "optim.encoder_fit_iterations must be >= 0, got -1"),
    ({"loss": FIT, "optim": {"iterations": 2, "encoder_fit_iterations": 2, "encoder_fit_lr": 0.0}}, "optim.encoder_fit_lr must be positive"),
])
def test_encoder_fitting_configuration_mistakes_are_named(tmp_path, sections, message):
    sections = {"optim": {"iterations": 2, "encoder_fit_iterations": 2}, **sections}
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, tmp_path / "run", **sections))
