"""Weight-free evaluation on the procedural dataset, with its oracle.

Every measure is reported for generated images next to the same measure on
real images of the same label maps (real images of one layout with redrawn
appearances stand in for "several real photos of one label map").
"""
from __future__ import annotations

import numpy as np

from ..data import oracle
from ..data.procedural import ProceduralDataset
from ..metrics.lpips import mean_pairwise_lpips
from ..synthesis.refine import refine_styles
from ..metrics import (
    appearance_diversity,
    class_spread,
    instance_covariation,
    instance_independence,
    mean_pairwise_l1,
    reconstruction_error,
    segmentation_scores,
    style_distribution_distance,
)

# generated / real, as the shipped model must reach them (the direction of each bound in `passes`)
THRESHOLDS = {"semantic_miou": 0.90, "instance_diversity": 0.5, "instance_independence": 0.5, "reconstruction_error": 0.5}


def _descriptors(images, scene):
    classes = np.repeat(scene.instance_classes[None], len(images), 0)
    return oracle.instance_appearance(images, np.repeat(scene.instance[None], len(images), 0), classes)


def evaluate_procedural(synth, num_layouts: int = 12, samples: int = 4, seed: int = 1234, inception=None,
                        refine_steps: int = 0, lpips=None) -> dict:
    """Run ``synth`` on ``num_layouts`` procedural label maps (seeded), ``samples``
    images each. Returns {"generated": {...}, "real": {...}, "ratios": {...}, "passes": {...}}.
    With an FID ``inception`` network, FID and KID against the real images are added;
    with an ``lpips`` network (inade.metrics.lpips), each map's mean pairwise LPIPS;
    with ``refine_steps``, the reconstruction error after that many refinement
    steps too (reported beside the encoder's, which the bound is on)."""
    dataset = ProceduralDataset(size=synth.size[1], num_samples=num_layouts, seed=seed)
    measures = ("diversity", "independence", "covariation", "pixel_l1") + (("lpips",) if lpips is not None else ())
    stats = {side: {name: [] for name in measures} for side in ("generated", "real")}
    segmentations = {side: ([], []) for side in ("generated", "real")}
    pools = {side: ([], []) for side in ("generated", "real")}
    rec_pairs = ([], [])
    refined = []
    all_images = {"generated": [], "real": []}
    for index in range(num_layouts):
        label, raw_instance, _, _ = dataset.layout(index)
        scene = synth.scene(label, raw_instance, name=f"layout {index}")
        real = np.stack([dataset.generate(index, variant)["image"] for variant in range(samples)])
        fake, _ = synth.sample(scene, samples, seed=seed + 100 * index)
        for side, images in (("generated", fake), ("real", real)):
            all_images[side].append(images)
            descriptors = _descriptors(images, scene)
            segmentations[side][0].extend(oracle.segment(images))
            segmentations[side][1].extend([label] * samples)
            stats[side]["diversity"].append(appearance_diversity(descriptors))
            stats[side]["independence"].append(instance_independence(descriptors, scene.instance_classes))
            stats[side]["covariation"].append(instance_covariation(descriptors, scene.instance_classes))
            stats[side]["pixel_l1"].append(mean_pairwise_l1(images))
            if lpips is not None:
                stats[side]["lpips"].append(mean_pairwise_lpips(lpips, images))
            pools[side][0].append(descriptors.reshape(-1, descriptors.shape[-1]))
            pools[side][1].append(np.tile(scene.instance_classes, samples))
        if synth.encoder is not None:
            photo = ((real[0].transpose(1, 2, 0) + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
            encoded = synth.reconstruct(scene, photo)
            rec_pairs[0].append(_descriptors(synth.render(scene, [encoded]), scene)[0])
            rec_pairs[1].append(_descriptors(real[:1], scene)[0])
            if refine_steps:  # from the codes just encoded
                rebuilt = synth.render(scene, [refine_styles(synth, scene, photo, encoded, refine_steps)])
                refined.append(_descriptors(rebuilt, scene)[0])
    summary = {side: {name: float(np.nanmean(values)) for name, values in measures.items()} for side, measures in stats.items()}
    for side, (predicted, labels) in segmentations.items():
        # Over the whole set, as semantic-synthesis papers report it: a class absent
        # from one image does not score 0 there for a few stray pixels.
        summary[side]["miou"] = segmentation_scores(predicted, labels, dataset.label_nc)["miou"]
    real_pool = tuple(np.concatenate(p) for p in pools["real"])
    fake_pool = tuple(np.concatenate(p) for p in pools["generated"])
    spread = class_spread(*real_pool)
    summary["real"]["class_spread"] = spread
    summary["generated"]["style_distance_to_real"] = style_distribution_distance(*fake_pool, *real_pool)
    if inception is not None:
        from ..metrics.inception import inception_features
        from .fid import fid_and_kid

        features = {side: inception_features(inception, np.concatenate(images)) for side, images in all_images.items()}
        summary["generated"].update(fid_and_kid(features["generated"], features["real"]))
    ratios = {
        "semantic_miou": summary["generated"]["miou"] / summary["real"]["miou"],
        "instance_diversity": summary["generated"]["diversity"] / summary["real"]["diversity"],
        "instance_independence": summary["generated"]["independence"] / summary["real"]["independence"],
    }
    if rec_pairs[0]:
        error = reconstruction_error(np.concatenate(rec_pairs[0]), np.concatenate(rec_pairs[1]))
        summary["generated"]["reconstruction_error"] = error
        ratios["reconstruction_error"] = error / spread
    if refined:
        error = reconstruction_error(np.concatenate(refined), np.concatenate(rec_pairs[1]))
        summary["generated"]["refined_reconstruction_error"] = error
        ratios["refined_reconstruction_error"] = error / spread
    passes = {
        name: (ratios[name] <= bound) if name == "reconstruction_error" else (ratios[name] >= bound)
        for name, bound in THRESHOLDS.items()
        if name in ratios
    }
    return {"generated": summary["generated"], "real": summary["real"], "ratios": ratios, "passes": passes,
            "settings": {"num_layouts": num_layouts, "samples": samples, "seed": seed, "refine_steps": refine_steps}}
