import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
import yaml

from inade import backends

from inade.benchmark import count_flops, count_training_flops
from inade.benchmark import measure as measure_module
from inade.benchmark.configs import resolve, synthetic_inputs
from inade.benchmark.exported import interleaved_seconds
from inade.benchmark.gpu_check import PARITY_BOUNDS, format_report, passed
from inade.benchmark.report import compare, scaling_figure, scaling_table
from inade.errors import InadeError
from inade.resources import config_path

BENCHMARK = [sys.executable, "-m", "inade", "benchmark"]


def _tool(*args, cwd=None):
    return subprocess.run([*BENCHMARK, *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_flops_of_a_convolution_and_a_linear_layer_by_hand():
    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 8, 3, padding=1), paddle.nn.Flatten(), paddle.nn.Linear(8 * 10 * 12, 5))
    assert count_flops(net, paddle.zeros([2, 3, 10, 12])) == 2 * 2 * 3 * 8 * 9 * 10 * 12 + 2 * 2 * 960 * 5
    strided = paddle.nn.Conv2D(4, 6, 4, stride=2, padding=2, groups=2)  # output 6x6, 2 inputs per group
    assert count_flops(strided, paddle.zeros([1, 4, 10, 10])) == 2 * 6 * 2 * 16 * 6 * 6


def test_flops_of_an_inade_norm_by_hand():
    from inade.layers.norms import InadeNorm

    setting = resolve("tiny")  # 4 instances on 32x32, each of one class: 4 (class, instance) pairs
    semantics, instances, _ = synthetic_inputs(setting, 6)
    norm = InadeNorm(8, 6, noise_nc=4)
    x, noise = paddle.randn([2, 8, 16, 16]), paddle.randn([2, 4, 2, 4])
    products = 2 * 2 * 2 * 4 * 8 * 16 * 16  # gamma and beta, batch 2, P 4, C 8, 16x16 (masks resized)
    noise_layer = 2 * (2 * 4 * 2) * 4 * 8  # fc_noise on [2, 4, 2, noise 4] -> 8
    assert count_flops(norm, x, semantics, instances, noise) == products + noise_layer
    # backward: the rows' gradients through both products and the noise layer's
    # weight gradient; for x's gradient the recomputing node spreads gamma once more
    def backward_flops():
        return count_training_flops({"norm": norm}, lambda: norm(x, semantics, instances, noise).sum().backward())["norm"]

    assert backward_flops() == {"forward": products + noise_layer, "backward": products + noise_layer}
    x.stop_gradient = False
    assert backward_flops() == {"forward": products + noise_layer, "backward": products + noise_layer}
    norm.recompute = True
    assert backward_flops() == {"forward": products + noise_layer, "backward": products + products // 2 + noise_layer}


def test_flops_include_the_encoder_heads_and_pooling_and_scale_with_pixels():
    from inade.networks import Generator, InstanceAdaptiveEncoder

    setting = resolve("tiny")
    semantics, instances, image = synthetic_inputs(setting, 6)
    encoder = InstanceAdaptiveEncoder(4, 4)
    body = sum(2 * 2 * layer.weight.shape[0] * layer.weight.shape[1] * 9 * s * s for layer, s in (
        (encoder.layer1, 16), (encoder.layer2, 8), (encoder.layer3, 4), (encoder.layer4, 2), (encoder.middle, 2),
        (encoder.up1, 4), (encoder.up2, 8), (encoder.up3, 16)))
    # Paddle's ops: the four heads (4 x noise_nc outputs from ndf inputs, 3x3) on a
    # 32x32 map and the pooling of their 16 maps over 4 instances, batch 2
    with backends.using("paddle"):
        assert count_flops(encoder, image, instances) == body + 2 * 2 * 16 * 4 * 9 * 32 * 32 + 2 * 2 * 4 * 32 * 32 * 16
    # onednn (backends/pooled_conv.py): sums over 4 instances, then the weight on their 9 taps
    with backends.using("onednn"):
        assert count_flops(encoder, image, instances) == body + 2 * 2 * 4 * 32 * 32 * 4 + 2 * 2 * 4 * 9 * 4 * 16
    # convs, the z layer and the norms' per-pixel products grow with the pixel count;
    # the noise layers (per instance: batch 2, 4 instances, 2 paths) do not
    counts = []
    for size in (32, 64):
        semantics, instances, _ = synthetic_inputs(resolve({"name": "tiny", "overrides": [f"data.crop_size={size}"]}), 4)
        generator = Generator(4, ngf=4, noise_nc=4, crop_size=size)
        counts.append(count_flops(generator, semantics, instances))
    per_instance = sum(2 * 2 * 4 * 2 * 4 * layer.channels for layer in generator.sublayers() if hasattr(layer, "fc_noise"))
    assert counts[1] == 4 * counts[0] - 3 * per_instance


def test_training_flops_count_the_gradients_each_product_needs():
    first, second = paddle.nn.Conv2D(3, 4, 3, padding=1), paddle.nn.Conv2D(4, 2, 1)
    image = paddle.zeros([1, 3, 8, 8])  # no gradient wanted for the input
    forward_first, forward_second = 2 * 4 * 3 * 9 * 64, 2 * 2 * 4 * 64

    def step():
        second(first(image)).sum().backward()

    counts = count_training_flops({"first": first, "second": second}, step)
    # the first layer: weight gradient only; the second: input and weight gradients
    assert counts == {"first": {"forward": forward_first, "backward": forward_first},
                      "second": {"forward": forward_second, "backward": 2 * forward_second}}
    second.weight.stop_gradient = True  # frozen, as D's weights may be during the G step
    counts = count_training_flops({"first": first, "second": second}, step)
    assert counts["second"] == {"forward": forward_second, "backward": forward_second}


def test_convolution_calls_are_recorded_with_their_gradients_and_timed_alone():
    from inade.benchmark.floor import convolution_floor
    from inade.benchmark.flops import counted
    from inade.networks import InstanceAdaptiveEncoder

    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 8, 3, padding=1), paddle.nn.ReLU(), paddle.nn.Conv2D(8, 8, 4, stride=2, padding=2))
    x = paddle.randn([2, 3, 16, 16])
    training = counted({"net": net}, lambda: net(x).sum().backward())
    # the image takes no gradient; every weight does, and so does the second layer's input
    assert training.convolutions == [((2, 3, 16, 16), (8, 3, 3, 3), (1, 1), (1, 1), 1, False, True, False, True),
                                     ((2, 8, 16, 16), (8, 8, 4, 4), (2, 2), (2, 2), 1, True, True, False, True)]
    inference = counted({"net": net}, lambda: net(x), gradients=False)
    assert [(s.input_grad, s.weight_grad) for s in inference.convolutions] == [(False, False), (False, False)]
    floor = convolution_floor(training.convolutions + training.convolutions[:1], runs=1, warmup=0)
    assert floor["calls"] == 3 and floor["shapes"] == 2 and floor["seconds"] > 0

    setting = resolve("tiny")
    _, instances, image = synthetic_inputs(setting, 6)
    encoder = InstanceAdaptiveEncoder(4, 4)
    with backends.using("paddle"):
        calls = counted({"encoder": encoder}, lambda: encoder(image, instances), gradients=False).convolutions
    # eight instance-aware layers, then the four heads as one convolution at full size
    assert len(calls) == 9 and calls[-1][:2] == ((2, 4, 32, 32), (16, 4, 3, 3))
    with backends.using("onednn"):  # the heads as per-tap instance sums: no convolution
        calls = counted({"encoder": encoder}, lambda: encoder(image, instances), gradients=False).convolutions
    assert len(calls) == 8


def test_synthetic_layouts_have_exactly_the_instances_asked_for():
    for count in (4, 7, 16, 64):
        setting = resolve({"name": "tiny", "num_instances": count})
        _, instances, _ = synthetic_inputs(setting, 6)
        assert instances.shape[1] == count and float(instances.sum(axis=[2, 3]).min()) > 0


def test_settings_are_training_configurations():
    paper = resolve("paper").config
    assert (paper.data.crop_size, paper.data.batch_size, paper.model.ngf, paper.model.noise_nc) == (256, 1, 64, 64)
    with open(config_path("procedural")) as f:
        default = yaml.safe_load(f)
    cpu = resolve("cpu").config
    assert (cpu.model.ngf, cpu.data.batch_size) == (default["model"]["ngf"], default["data"]["batch_size"])
    changed = resolve({"name": "cpu", "overrides": ["data.batch_size=2", "loss.lambda_vgg=10"]})
    assert changed.config.data.batch_size == 2 and changed.config.loss.lambda_vgg == 0  # VGG stays off
    with pytest.raises(InadeError, match="unknown configuration 'huge'; choose from paper, cpu, tiny"):
        resolve("huge")
    with pytest.raises(InadeError, match="unknown configuration key 'model.ngff'"):
        resolve({"name": "tiny", "overrides": ["model.ngff=3"]})


def test_cli_measures_tiny_writes_json_and_compares(tmp_path):
    after = tmp_path / "after.json"
    done = _tool("--config", "tiny", "-o", "data.batch_size=1", "--runs", "1", "--warmup", "0", "--out", str(after),
                 cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = json.loads(after.read_text())
    assert result["schema"] == 1 and result["matmul_peak_gflop_per_second"] > 0 and result["machine"]["cores"] >= 1
    from inade.backends.conv import convolution_kernels
    assert result["machine"]["cpu_convolutions"] == convolution_kernels()
    tiny = result["configurations"]["tiny data.batch_size=1"]
    assert tiny["setting"]["batch_size"] == 1 and tiny["setting"]["num_instances"] == 4
    for section in ("train_iteration", "generator_inference", "encoder_inference"):
        assert set(tiny[section]) == {"seconds", "images_per_second", "gflop", "gflop_per_second", "peak_memory_gb"}
        assert tiny[section]["seconds"] > 0 and tiny[section]["gflop"] > 0 and 0 < tiny[section]["peak_memory_gb"] < 24
    per_network = tiny["train_iteration_gflop"]
    assert tiny["train_iteration"]["gflop"] == pytest.approx(sum(c["forward"] + c["backward"] for c in per_network.values()))
    # one G and E forward per iteration, as in inference; backward between 1x and 2x the forward
    assert per_network["generator"]["forward"] == pytest.approx(tiny["generator_inference"]["gflop"])
    assert per_network["encoder"]["forward"] == pytest.approx(tiny["encoder_inference"]["gflop"])
    for counts in per_network.values():
        assert counts["forward"] <= counts["backward"] <= 2 * counts["forward"]
    assert set(tiny["breakdown_seconds"]) == {"generator", "encoder", "discriminator", "losses", "optimizers",
                                              "data_loading"}
    assert "tiny data.batch_size=1  training iteration" in done.stdout
    floor = tiny["convolution_floor"]
    assert 0 < floor["generator_inference"]["seconds"] and floor["generator_inference"]["calls"] < floor["train_iteration"]["calls"]
    assert "convolution floor (its convolutions alone" in done.stdout
    for section, network in (("exported_generator_inference", "generator"), ("exported_encoder_inference", "encoder")):
        exported = tiny[section]
        assert exported["seconds"] > 0 and exported["eager_seconds_alongside"] > 0
        assert exported["max_abs_difference_to_eager"] < 1e-5  # the same function, with oneDNN in Paddle Inference
        assert exported["gflop"] == pytest.approx(per_network[network]["forward"])
    assert "exported model (Paddle Inference), timed alternately with eager sampling: exported generator" in done.stdout

    before = json.loads(after.read_text())
    before["configurations"]["tiny data.batch_size=1"]["train_iteration"]["seconds"] *= 2
    del before["configurations"]["tiny data.batch_size=1"]["encoder_inference"]  # older files may lack measures
    (tmp_path / "before.json").write_text(json.dumps(before))
    done = _tool("--compare", str(tmp_path / "before.json"), str(after))
    assert done.returncode == 0, done.stderr
    line = next(row for row in done.stdout.splitlines() if "train_iteration.seconds" in row)
    assert line.split()[-1] == "0.50"
    line = next(row for row in done.stdout.splitlines() if "encoder_inference.seconds" in row)
    assert line.split()[-3] == "-" and line.split()[-1] == "-"


def test_unknown_configurations_and_bad_files_are_one_line_errors(tmp_path):
    done = _tool("--config", "huge")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: unknown configuration 'huge'; choose from paper, cpu, tiny"]
    (tmp_path / "bad.json").write_text("{")
    done = _tool("--config", "tiny", "--compare", str(tmp_path / "bad.json"))
    assert done.returncode == 2 and "is not a benchmark result" in done.stderr
    with pytest.raises(InadeError, match="no configuration in common"):
        compare({"configurations": {"paper": {}}}, {"configurations": {"tiny": {}}})


def test_scaling_sweeps_resolution_instances_and_batch_and_draws_them(tmp_path, monkeypatch):
    # measured in this process (the tool uses one process per point), one run each
    monkeypatch.setattr(measure_module, "measure_in_subprocess",
                        lambda spec, runs, warmup, train_only, device: measure_module.measure_setting(spec, runs, warmup, train_only, device))
    result = measure_module.scaling("tiny", runs=1, warmup=0)
    assert list(result["resolution"]) == ["64", "128", "256"] and list(result["instances"]) == ["4", "16", "64"]
    assert list(result["batch"]) == ["1", "2", "4"]
    assert result["resolution"]["128"]["setting"]["crop_size"] == 128
    assert result["instances"]["64"]["setting"]["num_instances"] == 64
    assert result["batch"]["4"]["setting"]["batch_size"] == 4
    assert all(point["train_iteration"]["seconds"] > 0 for sweep in ("resolution", "instances", "batch")
               for point in result[sweep].values())
    one, four = (result["batch"][v]["train_iteration"] for v in ("1", "4"))
    assert four["gflop"] == pytest.approx(4 * one["gflop"], rel=0.05)  # the work grows with the batch
    assert result["matmul_peak_gflop_per_second"] > 0
    small, large = (result["resolution"][v]["train_iteration"] for v in ("64", "256"))
    assert 0 < small["gflop"] < large["gflop"]  # 16x the pixels: more work, counted per point
    assert all(t["gflop_per_second"] == pytest.approx(t["gflop"] / t["seconds"]) for t in (small, large))
    assert "resolution  128" in scaling_table(result) and "batch       4" in scaling_table(result)
    share = small["gflop_per_second"] / result["matmul_peak_gflop_per_second"]
    assert f"{share:.0%}" in scaling_table(result).splitlines()[1]  # the 64-pixel row
    scaling_figure(result, str(tmp_path / "scaling.png"))
    from PIL import Image

    with Image.open(tmp_path / "scaling.png") as figure:
        assert figure.size == (1200, 320) and np.asarray(figure.convert("L")).std() > 0  # three panels
    del result["batch"]  # a result written before the batch sweep existed still draws and tabulates
    scaling_figure(result, str(tmp_path / "older.png"))
    assert "batch" not in scaling_table(result)
    with Image.open(tmp_path / "older.png") as figure:
        assert figure.size == (800, 320)


def test_interleaved_timing_alternates_the_functions_and_skips_the_warmup():
    calls = []
    seconds = interleaved_seconds({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, runs=2, warmup=1)
    assert calls == ["a", "b"] * 3 and set(seconds) == {"a", "b"} and all(v >= 0 for v in seconds.values())


def test_gpu_check_says_in_one_line_that_there_is_no_gpu_and_exits_non_zero():
    if paddle.device.is_compiled_with_cuda():
        pytest.skip("this Paddle is a GPU build")
    done = subprocess.run([sys.executable, "-m", "inade", "gpu-check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and done.stderr.strip().splitlines() == [
        "error: no GPU here: this Paddle is a CPU build (the GPU check needs paddlepaddle-gpu and a GPU)"]
    done = _tool("--config", "tiny", "--device", "gpu")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: device 'gpu': this Paddle is a CPU build (install paddlepaddle-gpu for GPUs)"]


def test_gpu_check_verdicts_follow_the_bounds():
    run = {"iterations": 3, "seconds_per_iteration": 0.5, "images_per_second": 2.0, "gpu_peak_memory_gb": 1.0,
           "losses_finite": True}
    report = {"gpu": "a GPU", "device": "gpu", "setting": resolve("paper").describe(), "training": {"off": run, "fp16": run},
              "forward_parity": {amp: {"max_abs_difference": bound / 2, "mean_abs_difference": bound / 20, "finite": True}
                                 for amp, bound in PARITY_BOUNDS.items()}}
    assert passed(report) and "MISMATCH" not in format_report(report)
    report["forward_parity"]["bf16"]["max_abs_difference"] = 2 * PARITY_BOUNDS["bf16"]
    assert not passed(report) and "forward bf16 vs fp32: max |diff| 2.00e-01" in format_report(report)
    report["forward_parity"]["bf16"]["max_abs_difference"] = 0.0
    report["training"]["fp16"] = {**run, "losses_finite": False}
    assert not passed(report) and "training amp=fp16: 0.500 s/iteration" in format_report(report)


@pytest.mark.gpu
def test_gpu_check_runs_on_a_gpu(tmp_path):
    done = subprocess.run([sys.executable, "-m", "inade", "gpu-check", "--iterations", "3", "--out", str(tmp_path / "gpu.json")],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "gpu.json").read_text())
    assert set(report["forward_parity"]) == {"fp16", "bf16"} and set(report["training"]) == {"off", "fp16", "bf16"}
    assert all(run["gpu_peak_memory_gb"] > 0 for run in report["training"].values())
