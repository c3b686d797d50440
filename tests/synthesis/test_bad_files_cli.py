"""Bad label, instance, reference and prediction files through tools/sample.py
and tools/evaluate.py: exit 2, one `error:` line naming the file, no traceback,
and a 12000x12000 PNG of ~140 KB refused before it is decoded."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ..data.bad_files import huge_png

OVER_LIMIT = "12000x12000 pixels (144.0 megapixels) is over the limit of 50.0 megapixels"


def run_tool(name, *args):
    return subprocess.run([sys.executable, "-m", "inade", name, *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def one_error(done, path, what):
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {path}: ") and what in line, line


def bad_file(tmp_path, kind, good):
    """A bad version of the file ``good`` (a label, instance or photo PNG)."""
    path = tmp_path / f"{kind}.png"
    if kind == "huge":
        huge_png(str(path))
    elif kind == "truncated":
        data = open(good, "rb").read()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "colour":
        Image.fromarray(np.random.default_rng(0).integers(0, 4, (32, 32, 3), dtype=np.uint8)).save(path)
    elif kind == "jpeg":
        path = tmp_path / "jpeg.jpg"
        Image.open(good).convert("L").save(path, quality=90)
    elif kind == "out_of_range":
        Image.fromarray(np.full((32, 32), 200, np.uint8)).save(path)
    elif kind == "other_size":
        Image.fromarray(np.zeros((16, 32), np.uint16)).save(path)
    return str(path)


@pytest.mark.parametrize("role,kind,what", [
    ("label", "colour", "a colour (RGB) image, but label maps must be index maps"),
    ("label", "jpeg", "a JPEG file, but label maps must be stored losslessly"),
    ("label", "out_of_range", "label value 200 is outside the configured label_nc"),
    ("label", "huge", OVER_LIMIT),
    ("instance", "other_size", "32x16, but its label map"),
    ("instance", "truncated", "cannot read the image"),
    ("reference", "truncated", "cannot read the image"),
    ("reference", "huge", OVER_LIMIT),
])
def test_sample_refuses_bad_files_with_one_line(tiny_run, scene_files, tmp_path, role, kind, what):
    files = scene_files[0]
    bad = bad_file(tmp_path, kind, files["photo" if role == "reference" else role])
    paths = {"label": files["label"], "instance": files["instance"], "reference": files["photo"], role: bad}
    done = run_tool("sample", "--checkpoint", tiny_run, "--label", paths["label"], "--instance", paths["instance"],
                    "--reference", paths["reference"], "--reconstruct", "--num", "1", "--out", tmp_path / "out")
    one_error(done, bad, what)
    assert not (tmp_path / "out").exists()


def test_sample_max_pixels_option_lowers_the_limit(tiny_run, scene_files, tmp_path):
    files = scene_files[0]
    done = run_tool("sample", "--checkpoint", tiny_run, "--label", files["label"], "--max-pixels", "1000",
                    "--out", tmp_path / "out")
    one_error(done, files["label"], "32x32 pixels (1024 pixels) is over the limit of 1000 pixels")


@pytest.mark.parametrize("kind,what", [("huge", OVER_LIMIT), ("colour", "a colour (RGB) image"),
                                       ("other_size", "32x16, but its label map")])
def test_evaluate_refuses_bad_prediction_files(scene_files, tmp_path, kind, what):
    predictions, labels = tmp_path / "predictions", tmp_path / "labels"
    predictions.mkdir()
    labels.mkdir()
    shutil.copy(scene_files[0]["label"], labels / "a.png")
    bad = predictions / "a.png"
    os.replace(bad_file(tmp_path, kind, scene_files[0]["label"]), bad)
    done = run_tool("evaluate", "--predictions", predictions, "--labels", labels, "--num-classes", "8")
    one_error(done, bad, what)
