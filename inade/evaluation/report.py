"""Presenting evaluation results: a console table, a JSON file, a figure."""
from __future__ import annotations

import json

import numpy as np

from ..atomic import atomic_write_text
from ..tables import text_table
from ..visuals import colorize_labels, grid, save_png, to_uint8_image


# Measure in the results -> its ratio's name in "ratios", THRESHOLDS and "passes".
RATIO_NAMES = {"miou": "semantic_miou", "diversity": "instance_diversity", "independence": "instance_independence",
               "reconstruction_error": "reconstruction_error", "refined_reconstruction_error": "refined_reconstruction_error"}


def _real_value(result: dict, key: str):
    """The real images' value a measure is read against (reconstruction: the real spread)."""
    return result["real"].get("class_spread" if key.endswith("reconstruction_error") else key)


def _bound(ratio_name: str) -> str:
    from .procedural import THRESHOLDS

    if ratio_name not in THRESHOLDS:
        return ""
    return f"{'<=' if ratio_name == 'reconstruction_error' else '>='} {THRESHOLDS[ratio_name]}"


def table(result: dict) -> str:
    rows = [("measure", "generated", "real", "ratio", "bound", "ok")]
    for key, value in result["generated"].items():
        ratio_name = RATIO_NAMES.get(key)
        real = _real_value(result, key)
        ratio = result["ratios"].get(ratio_name) if ratio_name else None
        rows.append((
            key,
            f"{value:.4f}",
            "" if real is None else f"{real:.4f}",
            "" if ratio is None else f"{ratio:.3f}",
            _bound(ratio_name) if ratio_name else "",
            "" if ratio_name not in result["passes"] else ("yes" if result["passes"][ratio_name] else "NO"),
        ))
    return text_table(rows)


def comparison_table(results: dict) -> str:
    """Several models' procedural results side by side: each measure as the
    ratio generated / real (reconstruction: error / real spread), real alongside."""
    names = list(results)
    first = results[names[0]]
    rows = [("measure", "real", *names, "bound")]
    for key, ratio_name in RATIO_NAMES.items():
        cells = [f"{results[n]['ratios'][ratio_name]:.3f}" if ratio_name in results[n]["ratios"] else "-" for n in names]
        rows.append((f"{key} (ratio)", f"{_real_value(first, key):.4f}", *cells, _bound(ratio_name)))
    for key in ("covariation", "style_distance_to_real", "pixel_l1", "lpips", "fid", "kid"):
        if all(key in results[n]["generated"] for n in names):
            real = first["real"].get(key)
            rows.append((key, "" if real is None else f"{real:.4f}",
                         *(f"{results[n]['generated'][key]:.4f}" for n in names), ""))
    return text_table(rows)


def save_json(result: dict, path: str) -> None:
    atomic_write_text(path, json.dumps(result, indent=1))


def sample_figure(synth, dataset, path: str, layouts=(0, 1, 2, 3), samples: int = 4, seed: int = 0) -> None:
    """Rows: label map | real photo | generated samples."""
    comparison_figure({"model": synth}, dataset, path, layouts, samples, seed)


def comparison_figure(synths: dict, dataset, path: str, layouts=(0, 1, 2, 3), samples: int = 4, seed: int = 0) -> None:
    """Rows: label map | real photo | each model's samples in turn (same seeds)."""
    rows = []
    for index in layouts:
        label, raw, _, _ = dataset.layout(index)
        real = dataset.generate(index)["image"]
        row = [colorize_labels(np.asarray(label), dataset.label_nc), to_uint8_image(real)]
        for synth in synths.values():
            scene = synth.scene(label, raw, name=f"layout {index}")
            images, _ = synth.sample(scene, samples, seed=seed + index * 100)
            row += [to_uint8_image(im) for im in images]
        rows.append(row)
    save_png(path, grid(rows))


def dataset_table(result: dict) -> str:
    """Rows of evaluate_dataset's measures; reconstruction beside the real same-class spread."""
    rows = [("measure", "generated", "real same-class spread", "ratio")]
    for key, value in result["generated"].items():
        if key == "reconstruction_error":
            ratio = result["ratios"].get(key)
            rows.append((key, f"{value:.4f}", f"{result['real']['class_spread']:.4f}",
                         "" if ratio is None else f"{ratio:.3f}"))
        else:
            rows.append((key, f"{value:.4f}", "", ""))
    return text_table(rows)
