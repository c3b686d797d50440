"""What to run on a machine with a GPU (``inade gpu-check``): the generator's
forward in fp16 and bf16 against fp32, a short training run at the paper
setting with mixed precision, its speed and its peak GPU memory.

Also the device selection the benchmark uses (``use_device``)."""
from __future__ import annotations

import time

import numpy as np
import paddle

from ..data.semantics import class_channels
from ..errors import InadeError
from ..synthesis.devices import resolve_place
from ..training.precision import AMP_DTYPES, Precision


def use_device(device: str) -> bool:
    """Make ``device`` (cpu, gpu, gpu:N) Paddle's current one, where networks and
    tensors are then made; True for a GPU. Mistakes are InadeErrors (one line)."""
    place = resolve_place(device)
    on_gpu = not isinstance(place, paddle.CPUPlace)
    if on_gpu and paddle.device.cuda.device_count() == 0:
        raise InadeError(f"device {device!r}: this Paddle is built for GPUs but sees none")
    paddle.device.set_device(device if on_gpu else "cpu")
    return on_gpu


def gpu_peak_memory_gb() -> float:
    """The most GPU memory Paddle's allocator has held in this process, GB."""
    return paddle.device.cuda.max_memory_allocated() / 1e9


def require_gpu(device: str = "gpu") -> str:
    """``device``, made current, or an InadeError saying in one line why there is no GPU."""
    if not paddle.device.is_compiled_with_cuda():
        raise InadeError("no GPU here: this Paddle is a CPU build (the GPU check needs paddlepaddle-gpu and a GPU)")
    use_device(device)
    return device


def forward_parity(generator, inputs: dict) -> dict:
    """For fp16 and bf16: the largest and the mean absolute difference of the
    generator's eval-mode output (in [-1, 1]) under autocast against fp32, on the
    same inputs (fixed noise)."""
    generator.eval()
    with paddle.no_grad():
        reference = generator(**inputs).numpy()
        result = {}
        for amp in AMP_DTYPES:
            with Precision(amp).autocast():  # the training forwards' autocast, on this device
                output = generator(**inputs).astype("float32").numpy()
            difference = np.abs(output - reference)
            result[amp] = {"max_abs_difference": float(difference.max()), "mean_abs_difference": float(difference.mean()),
                           "finite": bool(np.isfinite(output).all())}
    return result


def training_run(setting, iterations: int) -> dict:
    """``iterations`` training steps of ``setting`` (its optim.amp included) on
    one synthetic batch: seconds per iteration (median after the first two),
    images per second, peak GPU memory, and whether every loss stayed finite."""
    from .configs import synthetic_inputs, training_dataset
    from ..training.loop import Training

    paddle.seed(setting.config.seed)
    dataset = training_dataset(setting)
    training = Training(setting.config, dataset)
    semantics, instances, image = synthetic_inputs(setting, dataset.label_nc, dataset.contain_dontcare,
                                                   training.generator.instance_edges)
    paddle.device.cuda.reset_max_memory_allocated()
    seconds, finite = [], True
    for _ in range(iterations):
        start = time.perf_counter()
        _, losses = training.step(semantics, instances, image)  # reads the losses back: waits for the GPU
        seconds.append(time.perf_counter() - start)
        finite = finite and all(np.isfinite(value) for value in losses.values())
    per_iteration = float(np.median(seconds[2:] if len(seconds) > 2 else seconds))
    return {"iterations": iterations, "seconds_per_iteration": per_iteration,
            "images_per_second": setting.config.data.batch_size / per_iteration,
            "gpu_peak_memory_gb": gpu_peak_memory_gb(), "losses_finite": finite}


def gpu_check(device: str = "gpu", iterations: int = 50, precisions=("off", "fp16", "bf16"), progress=None) -> dict:
    """The whole check at the paper setting (inade.benchmark.configs.PAPER)."""
    from .configs import resolve, synthetic_inputs, training_dataset
    from ..networks.build import build_generator
    from ..networks.spectral import fold_spectral_norm

    require_gpu(device)
    setting = resolve("paper")
    dataset = training_dataset(setting)
    num_classes = class_channels(dataset.label_nc, dataset.contain_dontcare)
    paddle.seed(setting.config.seed)
    # spectral norm folded into the weights, as sampling runs the generator: both forwards see the same weights
    generator = fold_spectral_norm(build_generator(setting.config.model, num_classes, setting.config.data.crop_size, 1.0))
    semantics, instances, _ = synthetic_inputs(setting, dataset.label_nc, dataset.contain_dontcare,
                                               generator.instance_edges)
    rng = np.random.default_rng(0)
    noise = paddle.to_tensor(rng.standard_normal((1, instances.shape[1], 2, generator.noise_nc)).astype("float32"))
    if progress:
        progress("generator forward: fp16 and bf16 against fp32 ...")
    report = {"device": device, "gpu": paddle.device.cuda.get_device_name(), "setting": setting.describe(),
              "forward_parity": forward_parity(generator, {"semantics": semantics, "instances": instances,
                                                           "instance_noise": noise}),
              "training": {}}
    del generator
    for amp in precisions:
        if progress:
            progress(f"training, optim.amp {amp}: {iterations} iterations ...")
        run = resolve({"name": "paper", "overrides": [f"optim.amp={amp}"]})
        report["training"][amp] = training_run(run, iterations)
    return report


# How far half precision may move the generator's output (in [-1, 1]) and
# still be called a match: fp16 keeps 11 significant bits, bf16 8.
PARITY_BOUNDS = {"fp16": 0.02, "bf16": 0.1}


def format_report(report: dict) -> str:
    lines = [f"GPU check on {report['gpu']} ({report['device']}), paper setting: {report['setting']['crop_size']}px, "
             f"{report['setting']['num_instances']} instances, ngf {report['setting']['ngf']}, "
             f"batch {report['setting']['batch_size']}"]
    for amp, parity in report["forward_parity"].items():
        bound = PARITY_BOUNDS[amp]
        verdict = "ok" if parity["finite"] and parity["max_abs_difference"] <= bound else "MISMATCH"
        lines.append(f"forward {amp} vs fp32: max |diff| {parity['max_abs_difference']:.2e}, mean "
                     f"{parity['mean_abs_difference']:.2e} (bound {bound}) {verdict}")
    baseline = report["training"].get("off")
    for amp, run in report["training"].items():
        speedup = f", {baseline['seconds_per_iteration'] / run['seconds_per_iteration']:.2f}x fp32" if baseline else ""
        lines.append(f"training amp={amp}: {run['seconds_per_iteration']:.3f} s/iteration, "
                     f"{run['images_per_second']:.2f} images/s{speedup}, peak GPU memory {run['gpu_peak_memory_gb']:.2f} GB, "
                     f"losses {'finite' if run['losses_finite'] else 'NOT finite'} over {run['iterations']} iterations")
    return "\n".join(lines)


def passed(report: dict) -> bool:
    """Every forward within its bound and every run's losses finite."""
    return (all(p["finite"] and p["max_abs_difference"] <= PARITY_BOUNDS[amp] for amp, p in report["forward_parity"].items())
            and all(run["losses_finite"] for run in report["training"].values()))
