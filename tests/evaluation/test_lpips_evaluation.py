"""LPIPS diversity in the evaluation of a folder-trained model."""
import json
import subprocess
import sys

import pytest

from inade.checkpoints.safetensors_format import write_safetensors

from ..metrics.test_lpips import linear_state, trunk_state


@pytest.fixture
def alex_files(tmp_path):
    linear, trunk = tmp_path / "alex.safetensors", tmp_path / "alexnet.safetensors"
    write_safetensors(str(linear), linear_state("alex"))
    write_safetensors(str(trunk), trunk_state("alex"))
    return linear, trunk


def test_cli_reports_lpips_on_a_folder_model(folder_run, alex_files, tmp_path):
    linear, trunk = alex_files
    done = subprocess.run([sys.executable, "-m", "inade", "evaluate", "--checkpoint", str(folder_run / "run"),
                           "--num-images", "2", "--samples-per-map", "2", "--lpips-weights", str(linear),
                           "--lpips-trunk", str(trunk), "--out", str(tmp_path / "eval")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    generated = json.loads((tmp_path / "eval" / "metrics.json").read_text())["generated"]
    assert generated["lpips"] > 0 and "lpips" in (tmp_path / "eval" / "metrics.txt").read_text()
