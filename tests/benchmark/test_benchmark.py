import json
import os
import subprocess
import sys

import paddle
import pytest

from inade.benchmark import count_flops
from inade.benchmark.configs import CONFIGURATIONS, synthetic_inputs
from inade.benchmark.run import compare
from inade.errors import InadeError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "benchmark.py")


def test_flops_of_a_convolution_and_a_linear_layer_by_hand():
    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 8, 3, padding=1), paddle.nn.Flatten(), paddle.nn.Linear(8 * 10 * 12, 5))
    assert count_flops(net, paddle.zeros([2, 3, 10, 12])) == 2 * 2 * 3 * 8 * 9 * 10 * 12 + 2 * 2 * 960 * 5


def test_flops_include_the_encoder_heads_and_the_inade_norm_products():
    from inade.networks import Generator, InstanceAdaptiveEncoder

    setting = CONFIGURATIONS["tiny"]
    semantics, instances, image = synthetic_inputs(setting)
    encoder = InstanceAdaptiveEncoder(4, 4)
    # the four heads (4 x noise_nc outputs from ndf inputs, 3x3) on a 32x32 map, batch 2
    heads = 2 * 2 * 16 * 4 * 9 * 32 * 32
    body = sum(2 * 2 * l.weight.shape[0] * l.weight.shape[1] * 9 * s * s for l, s in (
        (encoder.layer1, 16), (encoder.layer2, 8), (encoder.layer3, 4), (encoder.layer4, 2), (encoder.middle, 2),
        (encoder.up1, 4), (encoder.up2, 8), (encoder.up3, 16)))
    assert count_flops(encoder, image, instances) == body + heads
    # convs, the z layer and the norms' per-pixel products grow with the pixel count;
    # the noise layers (per instance: batch 2, 4 instances, 2 paths) do not
    counts = []
    for size in (32, 64):
        setting_at = setting.__class__(**{**setting.__dict__, "crop_size": size})
        semantics, instances, _ = synthetic_inputs(setting_at)
        generator = Generator(4, ngf=4, noise_nc=4, crop_size=size)
        counts.append(count_flops(generator, semantics, instances))
    per_instance = sum(2 * 2 * 4 * 2 * 4 * layer.channels for layer in generator.sublayers() if hasattr(layer, "fc_noise"))
    assert counts[1] == 4 * counts[0] - 3 * per_instance


def test_synthetic_layouts_have_exactly_the_instances_asked_for():
    for count in (4, 7, 16):
        setting = CONFIGURATIONS["tiny"].__class__(**{**CONFIGURATIONS["tiny"].__dict__, "num_instances": count})
        _, instances, _ = synthetic_inputs(setting)
        assert instances.shape[1] == count and float(instances.sum(axis=[2, 3]).min()) > 0


def test_cli_measures_tiny_writes_json_and_compares(tmp_path):
    out = tmp_path / "after.json"
    done = subprocess.run([sys.executable, TOOL, "--config", "tiny", "--runs", "1", "--warmup", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    tiny = result["configurations"]["tiny"]
    assert result["matmul_peak_gflop_per_second"] > 0
    assert tiny["train_iteration"]["seconds"] > 0 and tiny["train_iteration"]["gflop"] > 0
    assert set(tiny["breakdown_seconds"]) == {"generator", "encoder", "discriminator", "losses", "data_loading"}
    assert 0 < tiny["peak_memory_gb"] < 24
    doubled = json.loads(out.read_text())
    doubled["configurations"]["tiny"]["train_iteration"]["seconds"] *= 2
    text = compare(doubled, result)
    assert "train_iteration.seconds" in text and "0.50" in text


def test_unknown_configurations_and_bad_files_are_one_line_errors(tmp_path):
    done = subprocess.run([sys.executable, TOOL, "--config", "huge"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown configuration 'huge'; choose from paper, cpu, tiny" in done.stderr
    (tmp_path / "bad.json").write_text("{")
    done = subprocess.run([sys.executable, TOOL, "--config", "tiny", "--compare", str(tmp_path / "bad.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not a benchmark result" in done.stderr
    with pytest.raises(InadeError, match="no configuration in common"):
        compare({"configurations": {"paper": {}}}, {"configurations": {"tiny": {}}})
