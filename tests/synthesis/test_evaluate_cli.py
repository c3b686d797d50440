import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

EVALUATE = [sys.executable, "-m", "inade", "evaluate"]


def test_procedural_evaluation_writes_table_json_and_figure(tiny_run, tmp_path):
    done = subprocess.run([*EVALUATE, "--checkpoint", tiny_run, "--procedural", "--layouts", "3",
                           "--samples", "2", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "independence" in done.stdout and "reconstruction_error" in done.stdout
    result = json.loads((tmp_path / "metrics.json").read_text())
    assert result["real"]["miou"] == 1.0  # the oracle reads real procedural images perfectly
    assert set(result["passes"]) == {"semantic_miou", "instance_diversity", "instance_independence", "reconstruction_error"}
    assert Image.open(tmp_path / "samples.png").size[0] > 6 * 32


def test_procedural_evaluation_defaults_to_the_shipped_model_and_says_so(tmp_path):
    done = subprocess.run([*EVALUATE, "--procedural", "--layouts", "2", "--samples", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "evaluating the shipped model" in done.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["generated"]["miou"] > 0.5


def test_evaluate_without_a_task_says_what_to_give():
    done = subprocess.run(EVALUATE, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: give --checkpoint RUN (its validation split), --procedural, or --predictions with --labels"]


def test_segmentation_scores_from_prediction_folders(tmp_path):
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    Image.fromarray(np.array([[0, 1], [1, 2]], np.uint8)).save(tmp_path / "pred" / "a.png")
    Image.fromarray(np.array([[0, 1], [2, 2]], np.uint8)).save(tmp_path / "gt" / "a.png")
    done = subprocess.run([*EVALUATE, "--predictions", str(tmp_path / "pred"), "--labels",
                           str(tmp_path / "gt"), "--num-classes", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mIoU 0.6667  pixel accuracy 0.7500" in done.stdout
    missing = subprocess.run([*EVALUATE, "--predictions", str(tmp_path / "gt"), "--labels",
                              str(tmp_path / "nowhere"), "--num-classes", "3"], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no label map for prediction a.png" in missing.stderr


def test_fid_and_kid_join_the_procedural_evaluation(tiny_run):
    import paddle

    from inade.evaluation import evaluate_procedural
    from inade.metrics.inception import FIDInceptionV3
    from inade.synthesis import Synthesizer

    paddle.seed(0)
    inception = FIDInceptionV3()
    inception.eval()
    result = evaluate_procedural(Synthesizer.load(tiny_run), num_layouts=2, samples=2, inception=inception)
    assert result["generated"]["fid"] > 0 and np.isfinite(result["generated"]["kid"])


def test_several_models_side_by_side(tiny_run, tiny_spade_run, tmp_path):
    done = subprocess.run([*EVALUATE, "--procedural", "--checkpoint", f"INADE={tiny_run}",
                           f"SPADE+VAE={tiny_spade_run}", "--layouts", "2", "--samples", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header == ["measure", "real", "INADE", "SPADE+VAE", "bound"]
    results = json.loads((tmp_path / "comparison.json").read_text())
    assert set(results) == {"INADE", "SPADE+VAE"} and results["INADE"]["real"] == results["SPADE+VAE"]["real"]
    # label | real | 3 samples per model, at 32 pixels with 2-pixel gaps
    assert Image.open(tmp_path / "comparison.png").size[0] == 8 * 32 + 9 * 2
