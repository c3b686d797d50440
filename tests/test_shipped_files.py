"""The files that ship with inade (configurations, the procedural model and its
example maps) are found through inade.resources, from a clone or a wheel."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from inade.config import load_config
from inade.data.procedural import export_procedural
from inade.resources import CONFIGS_DIR, config_path, example_maps, model_path


def test_every_shipped_configuration_loads():
    names = sorted(f[:-5] for f in os.listdir(CONFIGS_DIR) if f.endswith(".yaml"))
    assert "procedural" in names
    for name in names:
        assert load_config(config_path(name)).data.type


def test_the_example_maps_are_a_held_out_procedural_scene(tmp_path):
    # how they were made: scene 16 of the seed-1 stream (the model trained on seed 0)
    export_procedural(str(tmp_path / "scenes"), 17, 64, seed=1)
    for shipped, folder in zip(example_maps(), ("labels", "instances", "images")):
        assert os.path.dirname(shipped) == model_path("procedural")
        made = np.asarray(Image.open(tmp_path / "scenes" / folder / "000016.png"))
        assert np.array_equal(np.asarray(Image.open(shipped)), made), shipped


def test_a_first_sample_needs_no_file_and_no_repository(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "inade", "sample", "--num", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["example_label_0.json", "example_label_0.png", "example_label_1.json", "example_label_1.png"]
    with Image.open(out / "example_label_0.png") as image:
        assert image.size == (64, 64)
    refused = subprocess.run([sys.executable, "-m", "inade", "sample", "--checkpoint", model_path(), "--out", str(out)],
                             capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "error: --label is needed with --checkpoint or --instance (the example map is the shipped model's)"]
