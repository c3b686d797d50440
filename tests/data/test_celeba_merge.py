import os
import subprocess
import sys

import numpy as np
from PIL import Image



def mask(path, box, size=16):
    array = np.zeros((size, size), np.uint8)
    top, left, bottom, right = box
    array[top:bottom, left:right] = 255
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def test_merge_command_paints_parts_in_the_standard_order(tmp_path):
    anno = tmp_path / "CelebAMask-HQ-mask-anno"
    mask(f"{anno}/0/00000_skin.png", (0, 0, 16, 16))
    mask(f"{anno}/0/00000_nose.png", (4, 4, 8, 8))
    mask(f"{anno}/0/00000_hair.png", (0, 0, 2, 16))
    mask(f"{anno}/0/00001_cloth.png", (12, 0, 16, 16))
    out = tmp_path / "labels"
    run = [sys.executable, "-m", "inade", "merge-celeba-masks", str(anno), str(out)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote 2 label maps" in done.stdout
    first = np.array(Image.open(out / "0.png"))
    assert first[10, 10] == 1 and first[5, 5] == 2 and first[0, 5] == 13  # skin, nose, hair
    second = np.array(Image.open(out / "1.png"))
    assert second[14, 3] == 18 and second[0, 0] == 0  # cloth, background
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "error: refusing to write into" in again.stderr and "Traceback" not in again.stderr
