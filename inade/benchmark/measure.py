"""Measure a setting: training iteration, generator and encoder inference
(seconds, images/s, FLOPs, peak memory) and a per-part breakdown, each
setting in a fresh process so that its peak memory is its own."""
from __future__ import annotations

import copy

import datetime
import json
import subprocess
import sys

import paddle

from ..errors import InadeError
from ..networks.encoder import InstanceAdaptiveEncoder
from ..networks.spectral import fold_spectral_norm
from ..synthesis.devices import resolve_place
from .exported import exported_inference
from .gpu_check import gpu_peak_memory_gb, use_device
from .configs import ClassesOnly, resolve, synthetic_inputs, training_dataset
from .floor import convolution_floor
from .flops import count_flops, counted
from .timing import PeakMemory, machine, matmul_peak, median_seconds

SCHEMA = 1  # bump when the result file's layout changes


def _rates(seconds: float, images: int, flops: int) -> dict:
    return {"seconds": seconds, "images_per_second": images / seconds, "gflop": flops / 1e9,
            "gflop_per_second": flops / seconds / 1e9}


def _training_flops(per_network: dict) -> int:
    return sum(c["forward"] + c["backward"] for c in per_network.values())


def _encoder_args(encoder, image, instances):
    # INADE's encoder pools per instance; GauGAN's (SPADE/CLADE) sees the image alone
    return (image, instances) if isinstance(encoder, InstanceAdaptiveEncoder) else (image,)


def _data_loading(training, runs: int, warmup: int):
    """Seconds per batch of the real loader (build_loader, then the tensors the
    loop feeds the step), for settings whose data is procedural; None otherwise."""
    if isinstance(training.dataset, ClassesOnly):
        return None
    batches = training.batches()
    return median_seconds(lambda: next(batches), runs, warmup + 1)  # + the loader's start


def _breakdown(training, inputs, runs: int, warmup: int) -> dict:
    """Seconds of each part of an iteration alone: forward + backward of the
    generator, of the encoder, of the discriminator on [fake; real] as in the D
    step (an iteration also backpropagates through it in the G step), of the
    losses on fixed features; both optimizers' steps; one batch of data."""
    from ..losses import feature_matching_loss, generator_adversarial_loss
    from ..training.step import discriminate

    generator, encoder, discriminator = training.generator, training.encoder, training.discriminator
    semantics, instances, image = inputs
    loss_cfg = training.config.loss
    # the gradients of the last timed iteration are still there: time the updates first
    result = {"optimizers": median_seconds(lambda: (training.opt_g.step(), training.opt_d.step()), runs, warmup)}

    def part(loss_of):
        def run():
            loss_of().backward()
            for network in training.networks:
                network.clear_gradients()
        return median_seconds(run, runs, warmup)

    fake = generator(semantics, instances).detach()
    with paddle.no_grad():
        pred_fake, pred_real = discriminate(discriminator, semantics, fake, image)
    features = [[t.detach() for t in scale] for scale in pred_fake]
    for scale in features:
        for t in scale:
            t.stop_gradient = False
    last_only = loss_cfg.feature_matching == "last"
    result.update({
        "generator": part(lambda: generator(semantics, instances).mean()),
        "encoder": part(lambda: sum(t.mean() for t in encoder(*_encoder_args(encoder, image, instances))))
        if encoder is not None else None,
        "discriminator": part(lambda: sum(s[-1].mean() for s in discriminate(discriminator, semantics, fake, image)[0])),
        "losses": part(lambda: generator_adversarial_loss(features, loss_cfg.gan_mode)
                       + feature_matching_loss(features, pred_real, loss_cfg.lambda_feat, last_only)),
        "data_loading": _data_loading(training, runs, warmup),
    })
    return result


def measure_setting(spec, runs: int = 3, warmup: int = 1, train_only: bool = False, device: str = "cpu") -> dict:
    """Everything for one setting, in this process. Inference is measured
    before training so that its peak memory is not the training's;
    ``train_only``: the training iteration alone (the scaling sweeps);
    ``device``: cpu, gpu or gpu:N, where the networks and tensors are put."""
    from ..training.loop import Training

    setting = resolve(spec)
    on_gpu = use_device(device)
    paddle.seed(setting.config.seed)
    memory = PeakMemory()
    dataset = training_dataset(setting)
    # built as tools/train.py builds them: networks, Adam with TTUR and schedules
    training = Training(setting.config, dataset)
    generator, encoder, discriminator = training.generator, training.encoder, training.discriminator
    inputs = synthetic_inputs(setting, dataset.label_nc, dataset.contain_dontcare, generator.instance_edges)
    semantics, instances, image = inputs
    batch = setting.config.data.batch_size
    result = {"setting": setting.describe()}

    if not train_only:
        for network in training.networks:
            network.eval()
        # as Synthesizer.load runs them: spectral norm folded into the weights
        sampling_generator = fold_spectral_norm(copy.deepcopy(generator))
        sampling_encoder = fold_spectral_norm(copy.deepcopy(encoder)) if encoder is not None else None
        with paddle.no_grad():
            if encoder is not None:
                memory.reset()
                seconds = median_seconds(
                    lambda: [t.numpy() for t in sampling_encoder(*_encoder_args(encoder, image, instances))], runs, warmup)
                result["encoder_inference"] = {"seconds": seconds, "peak_memory_gb": memory.peak_gb()}
            memory.reset()
            seconds = median_seconds(lambda: sampling_generator(semantics, instances).numpy(), runs, warmup)
            result["generator_inference"] = {"seconds": seconds, "peak_memory_gb": memory.peak_gb()}
        del sampling_generator, sampling_encoder  # not part of the training measurement

    memory.reset()
    seconds = median_seconds(lambda: training.step(semantics, instances, image), runs, warmup)
    result["train_iteration"] = {"seconds": seconds, "images_per_second": batch / seconds,
                                 "peak_memory_gb": memory.peak_gb()}
    # one more real iteration, counted: what it differentiates is what the step does
    networks = {"generator": generator, "encoder": encoder, "discriminator": discriminator}
    if train_only:
        per_network = counted(networks, lambda: training.step(semantics, instances, image)).totals
        result["train_iteration"].update(_rates(seconds, batch, _training_flops(per_network)))
        result["peak_memory_gb"] = memory.process_peak_gb()
        return result

    result["breakdown_seconds"] = _breakdown(training, inputs, runs, warmup)
    counter = counted(networks, lambda: training.step(semantics, instances, image))
    per_network = counter.totals
    result["train_iteration_gflop"] = {name: {k: v / 1e9 for k, v in counts.items()} for name, counts in per_network.items()}
    for network in training.networks:
        network.eval()  # counting must not move batch-norm statistics; FLOPs are the same
    inference = counted({"generator": generator}, lambda: generator(semantics, instances), gradients=False)
    result["convolution_floor"] = {
        "train_iteration": convolution_floor(counter.convolutions, runs, warmup),
        "generator_inference": convolution_floor(inference.convolutions, runs, warmup),
    }
    if not on_gpu:
        # The exported model's predictor runs on the CPU. Measured last: once a
        # predictor has run in a process, eager training there measured up to
        # 1.2x slower, which would be charged to the training iteration.
        result.update(exported_inference(generator, encoder, semantics, instances,
                                         _encoder_args(encoder, image, instances), runs, warmup))
    flops = {
        "train_iteration": _training_flops(per_network),
        "generator_inference": inference.totals["generator"]["forward"],
        "encoder_inference": count_flops(encoder, *_encoder_args(encoder, image, instances)) if encoder is not None else 0,
    }
    flops.update({f"exported_{key}": flops[key] for key in ("generator_inference", "encoder_inference")})
    for key, count in flops.items():
        if key in result:
            result[key].update(_rates(result[key]["seconds"], batch, count))
    result["peak_memory_gb"] = memory.process_peak_gb()  # the whole process, every measure included
    if on_gpu:
        result["gpu_peak_memory_gb"] = gpu_peak_memory_gb()
    result["peak_memory_method"] = "per measure (VmHWM reset)" if memory.per_measure else "cumulative (ru_maxrss)"
    return result


def measure_in_subprocess(spec, runs: int, warmup: int, train_only: bool = False, device: str = "cpu") -> dict:
    """``measure_setting`` in a fresh Python (same interpreter, environment and threads)."""
    spec_text = json.dumps(spec)
    command = [sys.executable, "-m", "inade.benchmark", "--single", spec_text, "--runs", str(runs),
               "--warmup", str(warmup), "--device", device] + (["--train-only"] if train_only else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        # a user mistake is one "error: ..." line; a crash keeps its traceback's end
        message = lines[-1][len("error: "):] if lines and lines[-1].startswith("error: ") else "\n".join(lines[-20:])
        raise InadeError(f"measuring {spec_text} failed: {message}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def benchmark(specs, runs: int = 3, warmup: int = 1, progress=None, device: str = "cpu") -> dict:
    """Each setting measured in its own process, plus this machine's matmul peak
    (on the CPU: the table's ratios to peak are the CPU's)."""
    settings = [resolve(spec) for spec in specs]  # mistakes fail before anything runs
    resolve_place(device)
    results = {"schema": SCHEMA, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "runs": runs, "warmup": warmup, "machine": machine(),
               "matmul_peak_gflop_per_second": matmul_peak(), "device": device, "configurations": {}}
    for setting in settings:
        if progress:
            progress(f"measuring {setting.name} ...")
        key = setting.name + "".join(f" {o}" for o in setting.overrides)
        results["configurations"][key] = measure_in_subprocess(setting.spec(), runs, warmup, device=device)
    return results


# sweep: (the configuration key it sets, or None for the instance count; its values)
SCALING = {"resolution": ("data.crop_size", (64, 128, 256)), "instances": (None, (4, 16, 64)),
           "batch": ("data.batch_size", (1, 2, 4))}


def scaling(base: str = "paper", runs: int = 2, warmup: int = 1, overrides=(), progress=None, device: str = "cpu") -> dict:
    """Seconds per training iteration of ``base`` against the image size, the
    number of instances and the batch size (the others held at the base's),
    with each point's work per second and its share of this machine's matmul peak."""
    setting = resolve({"name": base, "overrides": list(overrides)})
    resolve_place(device)
    out = {"schema": SCHEMA, "base": setting.describe(), "runs": runs, "warmup": warmup, "machine": machine(),
           "matmul_peak_gflop_per_second": matmul_peak(), "device": device}
    for sweep, (key, values) in SCALING.items():
        out[sweep] = {}
        for value in values:
            spec = setting.spec()
            if key is None:
                spec["num_instances"] = value
            else:
                spec["overrides"] = spec["overrides"] + [f"{key}={value}"]
            if progress:
                progress(f"measuring {sweep} {value} ...")
            out[sweep][str(value)] = measure_in_subprocess(spec, runs, warmup, train_only=True, device=device)
    return out
