"""SPADE/CLADE models have one image-level style: exemplar operations on z."""
import os
import subprocess
import sys

import numpy as np
import pytest

from inade.errors import InadeError
from inade.synthesis import Synthesizer



@pytest.fixture(scope="module")
def spade(tiny_spade_run):
    return Synthesizer.load(tiny_spade_run)


def test_image_style_copy_reconstruct_and_new_noise(spade, scene_files):
    scene = spade.scene(scene_files[0]["label"], scene_files[0]["instance"])
    base = spade.random_styles(scene, 0)
    copied = spade.copy_image_style(base, scene_files[1]["photo"])
    mu, _ = spade.encode_image(scene_files[1]["photo"])
    np.testing.assert_array_equal(copied.z, mu)
    assert copied.noise.keys() == base.noise.keys()
    sampled = [spade.copy_image_style(base, scene_files[1]["photo"], seed=s).z for s in (1, 1, 2)]
    np.testing.assert_array_equal(sampled[0], sampled[1])
    assert not np.array_equal(sampled[0], sampled[2])
    np.testing.assert_array_equal(spade.reconstruct(scene, scene_files[0]["photo"]).z,
                                  spade.encode_image(scene_files[0]["photo"])[0])
    renoised = spade.resample_image_noise(base, 7)
    images = spade.render(scene, [base, copied, renoised])
    assert not np.array_equal(images[0], images[1]) and not np.array_equal(images[0], images[2])


def test_per_instance_operations_on_an_image_level_model_say_why_not(spade, scene_files):
    scene = spade.scene(scene_files[0]["label"], scene_files[0]["instance"])
    base = spade.random_styles(scene, 0)
    with pytest.raises(InadeError, match="needs per-instance styles, which this SPADE model does not have"):
        spade.resample(scene, base, [int(scene.instance_ids[0])], seed=1)
    with pytest.raises(InadeError, match="per-instance styles"):
        spade.copy_style(scene, base, scene, scene_files[0]["photo"], [(int(scene.instance_ids[0]),) * 2])
    with pytest.raises(InadeError, match="refining codes towards a photo needs per-instance styles, which this SPADE model"):
        spade.reconstruct(scene, scene_files[0]["photo"], base, refine_steps=5)


def test_inade_has_no_image_level_style_copy(tiny_run, scene_files):
    synth = Synthesizer.load(tiny_run)
    scene = synth.scene(scene_files[0]["label"], scene_files[0]["instance"])
    with pytest.raises(InadeError, match="INADE models copy styles per instance"):
        synth.copy_image_style(synth.random_styles(scene, 0), scene_files[0]["photo"])


def test_cli_copy_image_and_resample_noise(tiny_spade_run, scene_files, tmp_path):
    files = scene_files[0]
    common = [sys.executable, "-m", "inade", "sample", "--checkpoint", tiny_spade_run,
              "--label", files["label"], "--instance", files["instance"]]
    done = subprocess.run(common + ["--reference", scene_files[1]["photo"], "--copy-image", "--mean",
                                    "--out", str(tmp_path / "copy")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "copy")) == ["label1_0.json", "label1_0.png"]
    done = subprocess.run(common + ["--resample-noise", "--num", "2", "--out", str(tmp_path / "noise")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(os.listdir(tmp_path / "noise")) == 4
    wrong = subprocess.run(common + ["--resample", "1", "--out", str(tmp_path / "x")],
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "per-instance styles" in wrong.stderr and "Traceback" not in wrong.stderr
