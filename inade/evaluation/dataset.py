"""Weight-free evaluation of a model of any dataset on its validation split.

Each validation label map is rendered ``samples_per_map`` times; every
measure reads the colour statistics of the dataset's own instances
(``inade.metrics.colour``), so no network judges the images:

- diversity: how far an instance's colour moves between samples of one map;
- covariation: |correlation| of two same-class instances' colour changes
  across samples (about 0 when each instance draws its own style, as INADE
  does; near 1 when one code moves them together); independence: their
  distance within one sample over their distance across samples (about 1
  when independent, 0 when they share a style); covariation_chance: the
  same |correlation| after each instance's samples are shuffled on their own
  (what independent instances score with this many samples: |correlation|
  over few samples is above 0 by chance);
- reconstruction error: photo -> encoded styles -> image, the instance
  colours' distance to the photo's, read against the real same-class spread
  (the same distance between different real instances of one class);
- pixel_l1: mean pairwise L1 between the samples of one map; lpips, the
  same pairs' LPIPS, when an LPIPS network is given.
FID and KID are added when Inception weights are given.
"""
from __future__ import annotations

import numpy as np

from ..metrics import (
    appearance_diversity,
    class_spread,
    instance_colour_statistics,
    instance_covariation,
    instance_independence,
    mean_pairwise_l1,
    reconstruction_error,
)
from ..metrics.lpips import mean_pairwise_lpips
from ..synthesis.scene import load_image


def validation_maps(dataset, count: int):
    """The first ``count`` validation items as (name, label, instance, photo):
    file paths for datasets of files, arrays for the procedural data (photo
    uint8 [H, W, 3]); instance None means the dataset's instances_from rule."""
    for index in range(min(count, len(dataset))):
        if hasattr(dataset, "files"):
            image_path, label_path, instance_path = dataset.files[index]
            yield image_path, label_path, instance_path, image_path
        else:
            label, raw_instance, _, _ = dataset.layout(index)
            photo = dataset.generate(index)["image"]
            yield f"layout {index}", label, raw_instance, ((photo.transpose(1, 2, 0) + 1.0) * 127.5).round().astype(np.uint8)


def _photo_uint8(image: np.ndarray) -> np.ndarray:
    return ((image.transpose(1, 2, 0) + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)


def evaluate_dataset(synth, maps, samples_per_map: int, seed: int, inception=None, max_pixels=None,
                     lpips=None) -> dict:
    """Score ``synth`` on ``maps`` (see validation_maps), each rendered with
    seeds seed + samples_per_map * index + k. Maps and photos are resized
    (nearest / bilinear) to the model's size. Returns {"generated", "real",
    "ratios", "settings"}."""
    if samples_per_map < 2:
        raise ValueError(f"diversity needs at least 2 samples per map, got {samples_per_map}")
    limits = {} if max_pixels is None else {"max_pixels": max_pixels}
    per_map = {"diversity": [], "covariation": [], "covariation_chance": [], "independence": [], "pixel_l1": []}
    if lpips is not None:
        per_map["lpips"] = []
    shuffles = np.random.default_rng(seed)
    real_pool, reconstructed, originals = ([], []), [], []
    images = {"generated": [], "real": []}
    count = 0
    for index, (name, label, instance, photo) in enumerate(maps):
        scene = synth.scene(label, instance, name=name, **limits)
        real = load_image(photo, synth.size, **limits)[None]  # [1, 3, H, W]
        fake, _ = synth.sample(scene, samples_per_map, seed=seed + samples_per_map * index)
        k = len(scene.instance_ids)
        colours = instance_colour_statistics(fake, scene.instance, k)
        per_map["diversity"].append(appearance_diversity(colours))
        per_map["covariation"].append(instance_covariation(colours, scene.instance_classes))
        decoupled = np.stack([colours[shuffles.permutation(samples_per_map), i] for i in range(k)], axis=1)
        per_map["covariation_chance"].append(instance_covariation(decoupled, scene.instance_classes))
        per_map["independence"].append(instance_independence(colours, scene.instance_classes))
        per_map["pixel_l1"].append(mean_pairwise_l1(fake))
        if lpips is not None:
            per_map["lpips"].append(mean_pairwise_lpips(lpips, fake))
        real_colours = instance_colour_statistics(real, scene.instance, k)[0]
        real_pool[0].append(real_colours)
        real_pool[1].append(scene.instance_classes)
        if synth.encoder is not None:
            rebuilt = synth.render(scene, [synth.reconstruct(scene, _photo_uint8(real[0]))])
            reconstructed.append(instance_colour_statistics(rebuilt, scene.instance, k)[0])
            originals.append(real_colours)
        images["generated"].append(fake)
        images["real"].append(real)
        count += 1
    if not count:
        raise ValueError("no validation maps to evaluate")
    generated = {name: _nanmean(values) for name, values in per_map.items()}
    spread = _class_spread(np.concatenate(real_pool[0]), np.concatenate(real_pool[1]))
    ratios = {}
    if reconstructed:
        error = reconstruction_error(np.concatenate(reconstructed), np.concatenate(originals))
        generated["reconstruction_error"] = error
        if spread == spread:
            ratios["reconstruction_error"] = error / spread
    if inception is not None:
        from ..metrics.inception import inception_features
        from .fid import fid_and_kid

        features = {side: inception_features(inception, np.concatenate(stack)) for side, stack in images.items()}
        generated.update(fid_and_kid(features["generated"], features["real"]))
    return {"generated": generated, "real": {"class_spread": spread}, "ratios": ratios,
            "settings": {"num_images": count, "samples_per_map": samples_per_map, "seed": seed,
                         "size": list(synth.size)}}


def _nanmean(values) -> float:
    finite = [v for v in values if v == v]
    return float(np.mean(finite)) if finite else float("nan")


def _class_spread(descriptors: np.ndarray, classes: np.ndarray) -> float:
    """class_spread, or NaN when no class has two real instances to compare."""
    counts = np.bincount(classes[np.isfinite(descriptors).all(axis=1)].clip(0))
    return class_spread(descriptors, classes) if (counts >= 2).any() else float("nan")
