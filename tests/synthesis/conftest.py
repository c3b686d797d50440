import numpy as np
import pytest
from PIL import Image

from inade.config import load_config
from inade.data.procedural import ProceduralDataset
from inade.training import train

from ..training.tiny import write_config


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A tiny model trained for a few iterations (mechanics, not quality)."""
    folder = tmp_path_factory.mktemp("tiny_run")
    config = write_config(folder, folder / "run", optim={"iterations": 2},
                          logging={"image_every": 0, "checkpoint_every": 100})
    train(load_config(config))
    return str(folder / "run")


@pytest.fixture(scope="session")
def tiny_colour_run(tmp_path_factory):
    """tiny_run with the encoder's colour-statistics path (model.encoder_colour_statistics)."""
    folder = tmp_path_factory.mktemp("tiny_colour_run")
    config = write_config(folder, folder / "run", model={"encoder_colour_statistics": True},
                          optim={"iterations": 2}, logging={"image_every": 0, "checkpoint_every": 100})
    train(load_config(config))
    return str(folder / "run")


@pytest.fixture(scope="session")
def scene_files(tmp_path_factory):
    """Label, instance and photo files of two procedural scenes at 32x32."""
    folder = tmp_path_factory.mktemp("scenes")
    dataset = ProceduralDataset(size=32, num_samples=4, seed=11)
    files = []
    for index in (1, 2):
        label, raw, _, _ = dataset.layout(index)
        photo = ((dataset[index]["image"].transpose(1, 2, 0) + 1) * 127.5).round().astype(np.uint8)
        paths = {name: str(folder / f"{name}{index}.png") for name in ("label", "instance", "photo")}
        Image.fromarray(label.astype(np.uint8)).save(paths["label"])
        Image.fromarray(raw.astype(np.uint16)).save(paths["instance"])
        Image.fromarray(photo).save(paths["photo"])
        files.append(paths)
    return files


@pytest.fixture(scope="session")
def tiny_spade_run(tmp_path_factory):
    """A tiny SPADE + image encoder (GauGAN) model, a few iterations."""
    folder = tmp_path_factory.mktemp("tiny_spade")
    config = write_config(folder, folder / "run", model={"norm_mode": "spade", "use_encoder": True},
                          optim={"iterations": 2}, logging={"image_every": 0, "checkpoint_every": 100})
    train(load_config(config))
    return str(folder / "run")
