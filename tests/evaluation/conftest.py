import pytest

from inade.config import load_config
from inade.data.procedural import export_procedural
from inade.resources import config_path
from inade.training import train


def folder_overrides(root):
    """configs/folder_example.yaml pointed at the exports under ``root``, at test size."""
    return [
        f"data.image_dir={root}/train/images", f"data.label_dir={root}/train/labels",
        f"data.instance_dir={root}/train/instances", f"data.val_image_dir={root}/val/images",
        f"data.val_label_dir={root}/val/labels", f"data.val_instance_dir={root}/val/instances",
        "data.crop_size=32", "data.load_size=36", "data.batch_size=2",
        "model.ngf=4", "model.ndf=8", "model.noise_nc=4", "model.z_dim=16", "loss.lambda_vgg=0.0",
        "optim.iterations=2", "logging.image_every=0", "logging.checkpoint_every=100",
        "logging.progress_bar=false", f"output_dir={root}/run",
    ]


@pytest.fixture(scope="session")
def folder_run(tmp_path_factory):
    """A tiny model trained 2 iterations from configs/folder_example.yaml on a
    folder dataset written by export-procedural (with a held-out export as its
    validation split, and classes.txt beside the labels). Returns the data root."""
    root = tmp_path_factory.mktemp("folder_data")
    export_procedural(str(root / "train"), 6, size=32, seed=0)
    export_procedural(str(root / "val"), 3, size=32, seed=1)
    result = train(load_config(config_path("folder_example"), folder_overrides(root)))
    assert result.iteration == 2
    return root
