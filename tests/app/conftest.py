"""A tiny trained model for the web demo's tests, and pictures of its examples."""
import numpy as np
import pytest
from PIL import Image

from inade.config import load_config
from inade.synthesis import Synthesizer
from inade.training import train

from ..training.tiny import write_config

SIZE = 32


@pytest.fixture(scope="package")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    train(load_config(write_config(folder, folder / "run", optim={"iterations": 2},
                                   logging={"image_every": 0, "checkpoint_every": 100})))
    return str(folder / "run")


@pytest.fixture(scope="package")
def synth(run_folder):
    """The tiny model, its style noise amplified: two iterations leave it nearly
    without effect, and a redrawn instance must visibly change (the plumbing is
    what is tested here)."""
    synth = Synthesizer.load(run_folder)
    for name, layer in synth.generator.named_sublayers():
        if name.endswith("fc_noise"):
            layer.weight.set_value(layer.weight * 30.0)
    return synth


def example(index, size=SIZE):
    """A built-in example's raw label, raw instance map and photo, as the studio builds them."""
    from inade.data.procedural import ProceduralDataset
    from inade.visuals import to_uint8_image

    dataset = ProceduralDataset(size=size, num_samples=6, seed=2024)
    label, raw_instance, _, _ = dataset.layout(index)
    return label, raw_instance, to_uint8_image(dataset.generate(index)["image"])


def write_png(path, array):
    Image.fromarray(array).save(path)
    return str(path)


def near(mask, pixels=2):
    """The mask grown by ``pixels`` (chessboard distance): a local edit's reach."""
    from scipy.ndimage import binary_dilation

    return binary_dilation(mask, np.ones((3, 3), bool), iterations=pixels)
