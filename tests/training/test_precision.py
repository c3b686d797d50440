"""optim.amp: the configuration, the refusal on the CPU, fp32 unchanged, and (on a GPU) half precision."""
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.config import load_config
from inade.data.procedural import ProceduralDataset
from inade.errors import ConfigError
from inade.training.loop import Training
from inade.training.precision import Precision
from inade.training.step import apply_gradients, discriminator_losses, generator_losses, train_step

from .tiny import write_config


def test_amp_is_off_by_default_and_takes_yamls_bare_off(tmp_path):
    path = write_config(tmp_path, tmp_path / "run")
    assert load_config(path).optim.amp == "off"
    with open(path) as f:
        text = f.read().replace("optim:\n", "optim:\n  amp: off\n")  # bare: YAML reads it as false
    with open(path, "w") as f:
        f.write(text)
    assert load_config(path).optim.amp == "off"
    assert load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 1, "amp": "bf16"})).optim.amp == "bf16"


def test_a_bad_amp_value_is_one_line_naming_the_choices(tmp_path):
    with pytest.raises(ConfigError, match=r"^optim.amp: 'fp32' is not one of 'off' \| 'fp16' \| 'bf16'"):
        load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 1, "amp": "fp32"}))
    config = write_config(tmp_path, tmp_path / "run2", optim={"iterations": 1})
    done = subprocess.run([sys.executable, "-m", "inade", "train", "--config", config, "-o", "optim.amp=fp61"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: optim.amp: 'fp61' is not one of 'off' | 'fp16' | 'bf16' (did you mean 'fp16'?)"]


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_half_precision_is_refused_on_the_cpu_in_one_line(tmp_path, amp):
    with pytest.raises(ConfigError, match=f"optim.amp: {amp} is for GPUs and this run is on the CPU"):
        Precision(amp, "cpu")
    Precision(amp, "gpu:0")  # the check is about the device, not this machine
    config = write_config(tmp_path, tmp_path / "run", optim={"iterations": 1, "amp": amp})
    done = subprocess.run([sys.executable, "-m", "inade", "train", "--config", config], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: optim.amp: {amp} is for GPUs and this run is on the CPU; set optim.amp: off (fp32) to train here"]
    assert not (tmp_path / "run").exists()  # refused before anything is written


def _old_train_step(nets, optimizers, loss_cfg, semantics, instances, image):
    """train_step as it was before optim.amp, for the comparison."""
    from inade.networks.freeze import frozen
    from inade.paddle_private import optimizer_parameters

    opt_g, opt_d = optimizers
    opt_g.clear_grad(set_to_zero=False)
    opt_d.clear_grad(set_to_zero=False)
    with frozen(optimizer_parameters(opt_d)):
        fake, g_losses = generator_losses(nets, loss_cfg, None, semantics, instances, image)
        sum(g_losses.values()).backward()
    apply_gradients(opt_g, "generator and encoder")
    d_losses = discriminator_losses(nets[2], loss_cfg, semantics, fake, image)
    sum(d_losses.values()).backward()
    apply_gradients(opt_d, "discriminator")
    return fake.detach(), {name: float(value) for name, value in {**g_losses, **d_losses}.items()}


def _two_steps(tmp_path, name, step):
    config = load_config(write_config(tmp_path, tmp_path / name, optim={"iterations": 2}))
    paddle.seed(0)
    training = Training(config, ProceduralDataset(size=32, num_samples=16, seed=0))
    _, (semantics, instances, image, _) = next(training.batches())
    nets = (training.generator, training.encoder, training.discriminator)
    for network in nets:
        network.train()
    paddle.seed(1)
    results = [step(training, nets, semantics, instances, image) for _ in range(2)]
    weights = {f"{i}.{key}": value.numpy() for i, net in enumerate(nets) for key, value in net.state_dict().items()}
    return results, weights


def test_amp_off_trains_bit_for_bit_as_before(tmp_path):
    before = _two_steps(tmp_path, "old", lambda t, nets, *inputs: _old_train_step(
        nets, (t.opt_g, t.opt_d), t.config.loss, *inputs))
    now = _two_steps(tmp_path, "new", lambda t, nets, *inputs: train_step(
        nets, (t.opt_g, t.opt_d), t.config.loss, None, *inputs, precision=t.precision))
    for (fake_before, losses_before), (fake_now, losses_now) in zip(before[0], now[0]):
        assert losses_now == losses_before
        np.testing.assert_array_equal(fake_now.numpy(), fake_before.numpy())
    assert before[1].keys() == now[1].keys()
    for key in before[1]:
        np.testing.assert_array_equal(now[1][key], before[1][key], err_msg=key)


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_half_precision_trains_on_a_gpu_and_fp16_keeps_its_loss_scales(tmp_path, amp):
    paddle.device.set_device("gpu")
    try:
        config = load_config(write_config(tmp_path, tmp_path / "run", optim={"iterations": 3, "amp": amp}))
        training = Training(config, ProceduralDataset(size=32, num_samples=16, seed=0))
        _, (semantics, instances, image, _) = next(training.batches())
        for _ in range(3):
            fake, losses = training.step(semantics, instances, image)
            assert fake.dtype == paddle.float32 and all(np.isfinite(v) for v in losses.values())
        state = training.state_dict()
        assert ("loss_scales" in state) == (amp == "fp16")
        if amp == "fp16":
            assert set(state["loss_scales"]) == {"G", "D"}
    finally:
        paddle.device.set_device("cpu")
