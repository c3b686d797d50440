"""The fidelity/diversity curve of the style temperature on the procedural data.

    python -m inade.benchmark.temperature [--checkpoint RUN] [--layouts 48] [--samples 6]
                                          [--temperatures 0,0.25,0.5,0.75,1,1.25] [--seed 1234]

For each temperature, ``samples`` images of each of ``layouts`` seeded label
maps, measured with the procedural oracle (inade.data.oracle) per instance in
colour space, next to real images of the same label maps:

- diversity: mean distance between one instance's descriptors across the
  images of its label map, divided by the same for real images (1 = as varied
  as the data);
- nearest real: mean distance from each generated instance to the nearest real
  instance of its class (in a pool of real images of other layouts), divided by
  the same for real instances (1 = as plausible as real ones; lower is closer
  to the data's typical appearances);
- style distance: Frechet distance of the per-class descriptor distributions,
  generated against real (0 = the same distribution);
- mIoU of the oracle's segmentation of the generated images.
"""
from __future__ import annotations

import argparse

import numpy as np

from ..data import oracle
from ..data.procedural import ProceduralDataset
from ..metrics import appearance_diversity, segmentation_scores, style_distribution_distance

DEFAULT_TEMPERATURES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25)


def _descriptors(images, scene):
    count = len(images)
    return oracle.instance_appearance(images, np.repeat(scene.instance[None], count, 0),
                                      np.repeat(scene.instance_classes[None], count, 0))


def _nearest(queries, query_classes, pool, pool_classes) -> float:
    """Mean distance from each query descriptor to the nearest pool descriptor of its class."""
    distances = []
    for descriptor, cls in zip(queries, query_classes):
        candidates = pool[pool_classes == cls]
        if np.isfinite(descriptor).all() and len(candidates):
            distances.append(np.linalg.norm(candidates - descriptor, axis=1).min())
    # a layout none of whose classes the pool holds has no distance; the caller averages with nanmean
    return float(np.mean(distances)) if distances else float("nan")


def temperature_curve(synth, temperatures=DEFAULT_TEMPERATURES, layouts: int = 48, samples: int = 6,
                      seed: int = 1234) -> list[dict]:
    """One row per temperature: temperature, diversity, nearest_real, style_distance, miou (see the module)."""
    dataset = ProceduralDataset(size=synth.size[1], num_samples=2 * layouts, seed=seed)
    scenes, real = [], []
    for index in range(layouts):
        label, raw_instance, _, _ = dataset.layout(index)
        scenes.append((synth.scene(label, raw_instance, name=f"layout {index}"), label))
        real.append(np.stack([dataset.generate(index, variant)["image"] for variant in range(samples)]))
    # the reference pool: real instances of other layouts
    pool, pool_classes = [], []
    for index in range(layouts, 2 * layouts):
        item = dataset.generate(index)
        described = oracle.instance_appearance(item["image"][None], np.asarray(item["instance"])[None],
                                               np.asarray(item["instance_classes"])[None])[0]
        pool.append(described)
        pool_classes.append(item["instance_classes"])
    pool, pool_classes = np.concatenate(pool), np.concatenate(pool_classes)
    finite = np.isfinite(pool).all(axis=1)
    pool, pool_classes = pool[finite], pool_classes[finite]

    def measure(image_sets):
        diversity, near, flat, flat_classes, predicted, labels = [], [], [], [], [], []
        for (scene, label), images in zip(scenes, image_sets):
            descriptors = _descriptors(images, scene)
            diversity.append(appearance_diversity(descriptors))
            classes = np.tile(scene.instance_classes, len(images))
            flat.append(descriptors.reshape(-1, descriptors.shape[-1]))
            flat_classes.append(classes)
            near.append(_nearest(flat[-1], classes, pool, pool_classes))
            predicted.extend(oracle.segment(images))
            labels.extend([label] * len(images))
        return {"diversity": float(np.nanmean(diversity)), "nearest_real": float(np.nanmean(near)),
                "pool": (np.concatenate(flat), np.concatenate(flat_classes)),
                "miou": segmentation_scores(predicted, labels, dataset.label_nc)["miou"]}

    reference = measure(real)
    rows = []
    for temperature in temperatures:
        generated = measure([synth.render(scene, [synth.draw_styles(scene, seed + 100 * index + k, temperature)
                                                  for k in range(samples)])
                             for index, (scene, _) in enumerate(scenes)])
        rows.append({
            "temperature": float(temperature),
            "diversity": generated["diversity"] / reference["diversity"],
            "nearest_real": generated["nearest_real"] / reference["nearest_real"],
            "style_distance": style_distribution_distance(*generated["pool"], *reference["pool"]),
            "miou": generated["miou"],
        })
    return rows


def table(rows) -> str:
    lines = ["| temperature | diversity (real = 1) | distance to nearest real (real = 1) | style distance to real | oracle mIoU |",
             "|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['temperature']:g} | {row['diversity']:.2f} | {row['nearest_real']:.2f} | "
                     f"{row['style_distance']:.3f} | {row['miou']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m inade.benchmark.temperature", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="procedural", help="model name, run folder or checkpoint file")
    parser.add_argument("--layouts", type=int, default=48)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--temperatures", default=",".join(f"{t:g}" for t in DEFAULT_TEMPERATURES))
    args = parser.parse_args(argv)
    from ..errors import InadeError
    from ..synthesis import Synthesizer

    try:
        temperatures = [float(t) for t in args.temperatures.split(",")]
    except ValueError:
        raise InadeError(f"--temperatures takes numbers separated by commas, got {args.temperatures!r}") from None
    if args.layouts < 1 or args.samples < 2:
        raise InadeError("--layouts must be at least 1 and --samples at least 2 (diversity compares images)")
    rows = temperature_curve(Synthesizer.from_pretrained(args.checkpoint), temperatures, args.layouts, args.samples,
                             args.seed)
    print(table(rows))
    return 0


if __name__ == "__main__":
    import sys

    from ..cli import run_cli

    sys.exit(run_cli(main))
