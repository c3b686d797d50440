"""Time and memory of training and sampling for a named setting, each setting
in a fresh process so that peak memory is its own."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import paddle

from ..errors import InadeError
from .configs import CONFIGURATIONS, Setting, synthetic_inputs
from .flops import count_flops


def _median_seconds(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_peak(size: int = 2048, runs: int = 5) -> float:
    """The machine's fp32 matmul rate here, GFLOP/s (median of ``runs``)."""
    a, b = paddle.randn([size, size]), paddle.randn([size, size])
    seconds = _median_seconds(lambda: float(paddle.matmul(a, b)[0, 0]), runs, 2)
    return 2 * size**3 / seconds / 1e9


def _networks(setting: Setting):
    from ..networks.build import build_discriminator, build_encoder, build_generator

    model = setting.model()
    generator = build_generator(model, setting.label_nc, setting.crop_size, 1.0)
    encoder = build_encoder(model, setting.crop_size)
    discriminator = build_discriminator(model, setting.label_nc)
    # Adam with TTUR, as training uses it
    g_params = generator.parameters() + (encoder.parameters() if encoder is not None else [])
    opt_g = paddle.optimizer.Adam(1e-4, beta1=0.0, beta2=0.9, parameters=g_params)
    opt_d = paddle.optimizer.Adam(4e-4, beta1=0.0, beta2=0.9, parameters=discriminator.parameters())
    return (generator, encoder, discriminator), (opt_g, opt_d)


def _breakdown(nets, setting: Setting, inputs, runs: int, warmup: int) -> dict:
    """Forward + backward seconds of each part alone, and data loading."""
    from ..losses import feature_matching_loss, generator_adversarial_loss
    from ..training.step import discriminate

    generator, encoder, discriminator = nets
    semantics, instances, image = inputs

    def part(fn):
        def run():
            fn().backward()
            for net in nets:
                if net is not None:
                    net.clear_gradients()
        return _median_seconds(run, runs, warmup)

    fake = generator(semantics, instances).detach()
    fake.stop_gradient = False
    with paddle.no_grad():
        pred_fake, pred_real = discriminate(discriminator, semantics, fake, image)
    features = [[t.detach() for t in scale] for scale in pred_fake]
    for scale in features:
        for t in scale:
            t.stop_gradient = False
    result = {
        "generator": part(lambda: generator(semantics, instances).mean()),
        "encoder": part(lambda: sum(t.mean() for t in encoder(image, instances))) if encoder is not None else 0.0,
        "discriminator": part(lambda: sum(s[-1].mean() for s in discriminate(discriminator, semantics, fake, image)[0])),
        "losses": part(lambda: generator_adversarial_loss(features) + feature_matching_loss(features, pred_real, 10.0, False)),
    }
    result["data_loading"] = _data_loading_seconds(setting, runs)
    return result


def _data_loading_seconds(setting: Setting, runs: int) -> float:
    """One batch of the procedural data at the setting's size (what the cpu setting trains on)."""
    from ..data import collate
    from ..data.procedural import ProceduralDataset

    dataset = ProceduralDataset(size=setting.crop_size, num_samples=setting.batch_size * (runs + 1), seed=0)
    batches = iter(range(runs + 1))

    def load():
        index = next(batches)
        collate([dataset[index * setting.batch_size + k] for k in range(setting.batch_size)])
    return _median_seconds(load, runs, 1)


def resolve(name_or_fields) -> Setting:
    """A named setting, or a dict of Setting fields (the scaling sweeps)."""
    if isinstance(name_or_fields, dict):
        return Setting(**name_or_fields)
    if name_or_fields not in CONFIGURATIONS:
        raise InadeError(f"unknown configuration {name_or_fields!r}; choose from {', '.join(CONFIGURATIONS)}")
    return CONFIGURATIONS[name_or_fields]


def measure(name_or_fields, runs: int = 3, warmup: int = 1, train_only: bool = False) -> dict:
    """Everything for one setting, in this process (``train_only``: the
    training iteration and peak memory alone)."""
    from ..training.step import train_step

    setting = resolve(name_or_fields)
    paddle.seed(0)
    nets, optimizers = _networks(setting)
    generator, encoder, discriminator = nets
    semantics, instances, image = synthetic_inputs(setting)
    loss_cfg = setting.losses()
    train = _median_seconds(lambda: train_step(nets, optimizers, loss_cfg, None, semantics, instances, image), runs, warmup)
    if train_only:
        return {"setting": {**setting.__dict__}, "train_iteration": {"seconds": train},
                "peak_memory_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2}
    breakdown = _breakdown(nets, setting, (semantics, instances, image), runs, warmup)
    for net in nets:
        net.eval()
    with paddle.no_grad():
        g_time = _median_seconds(lambda: generator(semantics, instances).numpy(), runs, warmup)
        e_time = _median_seconds(lambda: [t.numpy() for t in encoder(image, instances)], runs, warmup)
    pair = paddle.concat([paddle.concat([semantics, image], 1)] * 2, 0)
    flops = {
        "generator": count_flops(generator, semantics, instances),
        "encoder": count_flops(encoder, image, instances),
        "discriminator_pair": count_flops(discriminator, pair),
    }
    # G step: G and E forward + backward (x3), D on [fake; real] forward + backward (x3);
    # D step: D on [fake; real] again (x3). Backward counted as twice the forward.
    flops["iteration"] = 3 * (flops["generator"] + flops["encoder"]) + 6 * flops["discriminator_pair"]
    batch = setting.batch_size
    return {
        "setting": {**setting.__dict__},
        "train_iteration": {"seconds": train, "images_per_second": batch / train,
                            "gflop": flops["iteration"] / 1e9, "gflop_per_second": flops["iteration"] / train / 1e9},
        "generator_inference": {"seconds": g_time, "images_per_second": batch / g_time,
                                "gflop": flops["generator"] / 1e9, "gflop_per_second": flops["generator"] / g_time / 1e9},
        "encoder_inference": {"seconds": e_time, "images_per_second": batch / e_time,
                              "gflop": flops["encoder"] / 1e9, "gflop_per_second": flops["encoder"] / e_time / 1e9},
        "breakdown_seconds": breakdown,
        "peak_memory_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
    }


def measure_in_subprocess(name_or_fields, runs: int, warmup: int, train_only: bool = False) -> dict:
    spec = json.dumps(name_or_fields)
    command = [sys.executable, "-m", "inade.benchmark", "--single", spec, "--runs", str(runs), "--warmup", str(warmup)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command + (["--train-only"] if train_only else []), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise InadeError(f"measuring {spec} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def benchmark(names, runs: int = 3, warmup: int = 1) -> dict:
    """Each named setting measured in its own process, plus the matmul peak."""
    for name in names:
        resolve(name)  # unknown names fail before anything runs
    results = {"matmul_peak_gflop_per_second": matmul_peak(), "configurations": {}}
    for name in names:
        results["configurations"][name] = measure_in_subprocess(name, runs, warmup)
    return results


SCALING = {"resolution": (64, 128, 256), "instances": (4, 16, 64)}


def scaling(runs: int = 2, warmup: int = 1) -> dict:
    """Seconds per paper-setting training iteration against resolution (16
    instances) and against the number of instances (256 pixels)."""
    base = CONFIGURATIONS["paper"].__dict__
    out = {"resolution": {}, "instances": {}}
    for size in SCALING["resolution"]:
        out["resolution"][size] = measure_in_subprocess({**base, "crop_size": size}, runs, warmup, True)
    for count in SCALING["instances"]:
        out["instances"][count] = measure_in_subprocess({**base, "num_instances": count}, runs, warmup, True)
    return out


def scaling_figure(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..atomic import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, (key, label) in zip(axes, (("resolution", "image size (pixels, 16 instances)"),
                                       ("instances", "instances (256 x 256)"))):
        xs = sorted(int(k) for k in result[key])
        ax.plot(xs, [result[key][x if x in result[key] else str(x)]["train_iteration"]["seconds"] for x in xs], "o-")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel(label)
        ax.set_ylabel("seconds per training iteration")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


MEASURES = (("train_iteration", "seconds"), ("train_iteration", "gflop_per_second"),
            ("generator_inference", "seconds"), ("encoder_inference", "seconds"), ("peak_memory_gb", None))


def _value(result, section, key):
    return result[section] if key is None else result[section][key]


def table(results: dict) -> str:
    peak = results["matmul_peak_gflop_per_second"]
    rows = [("configuration", "train s/it", "GFLOP/it", "GFLOP/s", "of peak", "G s", "E s", "peak GB")]
    for name, r in results["configurations"].items():
        t = r["train_iteration"]
        rows.append((name, f"{t['seconds']:.3f}", f"{t['gflop']:.1f}", f"{t['gflop_per_second']:.1f}",
                     f"{t['gflop_per_second'] / peak:.0%}", f"{r['generator_inference']['seconds']:.3f}",
                     f"{r['encoder_inference']['seconds']:.3f}", f"{r['peak_memory_gb']:.2f}"))
    lines = [f"fp32 matmul peak here: {peak:.1f} GFLOP/s"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    for name, r in results["configurations"].items():
        parts = ", ".join(f"{k} {v:.3f}" for k, v in r["breakdown_seconds"].items())
        lines.append(f"{name} breakdown (s, forward + backward): {parts}")
    return "\n".join(lines)


def compare(before: dict, after: dict) -> str:
    """Before / after / ratio of each measure, for the settings both have."""
    rows = [("configuration", "measure", "before", "after", "after/before")]
    for name in after["configurations"]:
        if name not in before.get("configurations", {}):
            continue
        for section, key in MEASURES:
            old = _value(before["configurations"][name], section, key)
            new = _value(after["configurations"][name], section, key)
            label = section if key is None else f"{section}.{key}"
            rows.append((name, label, f"{old:.3f}", f"{new:.3f}", f"{new / old:.2f}" if old else "-"))
    if len(rows) == 1:
        raise InadeError("the two result files have no configuration in common")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)
