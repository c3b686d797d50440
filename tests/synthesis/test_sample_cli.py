import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

SAMPLE = [sys.executable, "-m", "inade", "sample"]


def sample(*args):
    return subprocess.run([*SAMPLE, *args], capture_output=True, text=True, timeout=300)


def test_samples_grid_reproduction_and_resampling(tiny_run, scene_files, tmp_path):
    files = scene_files[0]
    out = tmp_path / "out"
    done = sample("--checkpoint", tiny_run, "--label", files["label"], "--instance", files["instance"],
                  "--num", "3", "--seed", "5", "--out", str(out), "--grid")
    assert done.returncode == 0, done.stderr
    names = sorted(os.listdir(out))
    assert names == ["label1_0.json", "label1_0.png", "label1_1.json", "label1_1.png", "label1_2.json",
                     "label1_2.png", "label1_grid.png"]
    document = json.loads((out / "label1_1.json").read_text())
    assert document["seed"] == 6 and document["instances"]["1"]["class_name"] == "ground"

    again = tmp_path / "again"
    done = sample("--checkpoint", tiny_run, "--label", files["label"], "--instance", files["instance"],
                  "--styles", str(out / "label1_1.json"), "--out", str(again))
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.array(Image.open(again / "label1_0.png")), np.array(Image.open(out / "label1_1.png")))

    target = sorted(document["instances"])[-1]
    redrawn = tmp_path / "redrawn"
    done = sample("--checkpoint", tiny_run, "--label", files["label"], "--instance", files["instance"],
                  "--styles", str(out / "label1_1.json"), "--resample", target, "--num", "2", "--out", str(redrawn))
    assert done.returncode == 0, done.stderr
    changed = json.loads((redrawn / "label1_0.json").read_text())["instances"]
    for raw_id, entry in document["instances"].items():
        assert (entry["noise"] == changed[raw_id]["noise"]) == (raw_id != target)


def test_copy_interpolate_and_folder_inputs(tiny_run, scene_files, tmp_path):
    a, b = scene_files
    out = tmp_path / "out"
    assert sample("--checkpoint", tiny_run, "--label", a["label"], "--instance", a["instance"], "--num", "2",
                  "--out", str(out)).returncode == 0
    done = sample("--checkpoint", tiny_run, "--label", a["label"], "--instance", a["instance"],
                  "--interpolate", str(out / "label1_0.json"), str(out / "label1_1.json"), "--steps", "4",
                  "--out", str(tmp_path / "interp"))
    assert done.returncode == 0, done.stderr
    assert len([n for n in os.listdir(tmp_path / "interp") if n.endswith(".png")]) == 4
    done = sample("--checkpoint", tiny_run, "--label", a["label"], "--instance", a["instance"],
                  "--reference", b["photo"], "--reference-label", b["label"], "--reference-instance", b["instance"],
                  "--copy", "1:1", "--mean", "--out", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr
    for name, extra in (("encoded", []), ("refined", ["--refine-steps", "3"])):
        done = sample("--checkpoint", tiny_run, "--label", a["label"], "--instance", a["instance"], "--reference",
                      a["photo"], "--reconstruct", "--mean", *extra, "--out", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    styles = [json.loads((tmp_path / name / "label1_0.json").read_text()) for name in ("encoded", "refined")]
    assert styles[0]["seed"] == styles[1]["seed"] and styles[0] != styles[1]  # the refinement moved the codes
    folder = tmp_path / "labels"
    folder.mkdir()
    for files in scene_files:
        os.link(files["label"], folder / os.path.basename(files["label"]))
    done = sample("--checkpoint", tiny_run, "--label", str(folder), "--num", "1", "--out", str(tmp_path / "many"))
    assert done.returncode == 0, done.stderr
    assert sorted(n for n in os.listdir(tmp_path / "many") if n.endswith(".png")) == ["label1_0.png", "label2_0.png"]


def test_bad_ids_and_files_are_one_line_errors(tiny_run, scene_files, tmp_path):
    files = scene_files[0]
    base = ["--checkpoint", tiny_run, "--label", files["label"], "--instance", files["instance"], "--out", str(tmp_path)]
    done = sample(*base, "--resample", "999")
    assert done.returncode == 2 and "error: instance 999 is not in label1.png; valid instance ids: 0 (sky)" in done.stderr
    done = sample(*base, "--resample", "abc")
    assert done.returncode == 2 and "instance ids must be integers" in done.stderr
    done = sample(*base, "--styles", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "style file not found" in done.stderr
    done = sample("--checkpoint", str(tmp_path / "nothing"), "--label", files["label"], "--out", str(tmp_path))
    assert done.returncode == 2 and "checkpoint not found" in done.stderr
    b = scene_files[1]
    done = sample(*base, "--reference", b["photo"], "--reference-label", b["label"], "--reference-instance",
                  b["instance"], "--copy", "0:1")
    assert done.returncode == 2 and "the classes differ" in done.stderr
    refine_alone = sample(*base, "--refine-steps", "5")
    assert refine_alone.returncode == 2 and "--refine-steps refines a reconstruction: use it with --reconstruct" in refine_alone.stderr
    for result in (done, refine_alone):
        assert "Traceback" not in result.stderr
