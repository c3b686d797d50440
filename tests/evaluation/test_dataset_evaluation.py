"""Evaluation of a folder-trained model on its validation split."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from inade.data import build_dataset
from inade.evaluation import evaluate_dataset, validation_maps
from inade.synthesis import Synthesizer


def run_evaluate(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-m", "inade", "evaluate", *args], capture_output=True, text=True,
                          env=env, cwd=cwd)


def test_cli_reports_every_measure_and_reproduces(folder_run, tmp_path):
    run = str(folder_run / "run")
    outputs = []
    for name in ("a", "b"):
        done = run_evaluate("--checkpoint", run, "--num-images", "2", "--samples-per-map", "3", "--seed", "7",
                            "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
        with open(tmp_path / name / "metrics.json") as f:
            outputs.append(json.load(f))
        assert "reconstruction_error" in (tmp_path / name / "metrics.txt").read_text()
    assert outputs[0] == outputs[1]
    generated = outputs[0]["generated"]
    assert set(generated) == {"diversity", "covariation", "covariation_chance", "independence", "pixel_l1",
                              "reconstruction_error"}
    assert generated["diversity"] > 0 and generated["pixel_l1"] > 0
    assert outputs[0]["real"]["class_spread"] > 0
    assert outputs[0]["ratios"]["reconstruction_error"] == pytest.approx(
        generated["reconstruction_error"] / outputs[0]["real"]["class_spread"])
    assert outputs[0]["settings"]["num_images"] == 2
    other = run_evaluate("--checkpoint", run, "--num-images", "2", "--samples-per-map", "3", "--seed", "8",
                         "--out", str(tmp_path / "c"))
    assert other.returncode == 0, other.stderr
    with open(tmp_path / "c" / "metrics.json") as f:
        assert json.load(f)["generated"]["diversity"] != generated["diversity"]


class ConstantStyles(Synthesizer):
    """Every sample draws the styles of seed 0: the instance noise is constant."""
    def draw_styles(self, scene, seed, temperature=1.0):
        return super().draw_styles(scene, 0, temperature)


class ClassSharedStyles(Synthesizer):
    """Instances of one class share one code per sample (no per-instance noise)."""
    def draw_styles(self, scene, seed, temperature=1.0):
        styles = super().draw_styles(scene, seed, temperature)
        for raw_id, cls in styles.classes.items():
            styles.noise[raw_id] = self._code(seed, 100000 + cls)
        return styles


def _evaluate(cls, run, samples=6):
    synth = cls.load(run)
    maps = validation_maps(build_dataset(synth.config.data, "val"), 3)
    return evaluate_dataset(synth, maps, samples, seed=0)["generated"]


def test_constant_noise_has_no_diversity(folder_run):
    run = str(folder_run / "run")
    constant = _evaluate(ConstantStyles, run)
    assert constant["diversity"] == 0.0 and constant["pixel_l1"] == 0.0
    assert _evaluate(Synthesizer, run)["diversity"] > 0.0


def test_shared_noise_moves_same_class_instances_together(folder_run):
    run = str(folder_run / "run")
    independent = _evaluate(Synthesizer, run)
    shared = _evaluate(ClassSharedStyles, run)
    assert shared["covariation"] > 0.6
    assert independent["covariation"] < 0.3
    assert shared["covariation"] > shared["covariation_chance"] + 0.3
    assert shared["independence"] < independent["independence"]


def test_no_validation_split_is_one_line(folder_run, tmp_path):
    from inade.config import load_config
    from inade.resources import config_path
    from inade.training import train

    from .conftest import folder_overrides

    overrides = [o for o in folder_overrides(folder_run) if not o.startswith("data.val_")]
    overrides[-1] = f"output_dir={tmp_path}/run"
    train(load_config(config_path("folder_example"), overrides + ["data.val_image_dir=null"]))
    done = run_evaluate("--checkpoint", str(tmp_path / "run"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: the folder dataset has no validation split: set data.val_image_dir and data.val_label_dir "
        "(and data.val_instance_dir) to folders of held-out photos and maps"]


def test_one_sample_per_map_is_refused(folder_run):
    done = run_evaluate("--checkpoint", str(folder_run / "run"), "--samples-per-map", "1")
    assert done.returncode == 2 and done.stderr.startswith("error: --samples-per-map must be at least 2")
    assert len(done.stderr.strip().splitlines()) == 1


def test_resample_class_by_name_on_a_folder_model(folder_run, tmp_path):
    run = str(folder_run / "run")
    val = folder_run / "val"
    base = [sys.executable, "-m", "inade", "sample", "--checkpoint", run, "--label", str(val / "labels" / "000000.png"),
            "--instance", str(val / "instances" / "000000.png"), "--num", "1"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run(base + ["--resample-class", "disc", "--out", str(tmp_path / "ok")], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert any(name.endswith(".png") for name in os.listdir(tmp_path / "ok"))
    assert Synthesizer.load(run).class_names == ("sky", "ground", "disc", "box", "diamond", "pole")
    done = subprocess.run(base + ["--resample-class", "car", "--out", str(tmp_path / "bad")], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: unknown class 'car'; class names: sky, ground, disc, box, diamond, pole"]



class ColourFeatures:
    """A feature network small enough for a test, in the FID network's place:
    each image's channel means and standard deviations (FID with real Inception
    weights is the same composition with 2048 features)."""
    def __call__(self, images):
        import paddle

        return paddle.concat([images.mean(axis=[2, 3]), images.std(axis=[2, 3])], axis=1)


def test_fid_and_kid_with_a_feature_network(folder_run):
    synth = Synthesizer.load(str(folder_run / "run"))
    maps = list(validation_maps(build_dataset(synth.config.data, "val"), 3))
    result = evaluate_dataset(synth, maps, 2, seed=0, inception=ColourFeatures())["generated"]
    assert np.isfinite([result["fid"], result["kid"], result["kid_std"]]).all() and result["fid"] > 0
    without = evaluate_dataset(synth, maps, 2, seed=0)["generated"]
    assert {k: v for k, v in result.items() if k not in ("fid", "kid", "kid_std")} == without


def test_class_names_from_classes_txt_stay_with_the_model(folder_run, tmp_path):
    """The names were read from classes.txt beside the training labels; the run's
    checkpoint keeps them once that file (or the whole dataset) is gone."""
    import shutil

    copy = tmp_path / "moved"
    shutil.copytree(folder_run / "run", copy)
    classes_txt = folder_run / "train" / "classes.txt"
    saved = classes_txt.read_text()
    classes_txt.unlink()
    try:
        assert Synthesizer.load(str(copy)).class_names == ("sky", "ground", "disc", "box", "diamond", "pole")
    finally:
        classes_txt.write_text(saved)
