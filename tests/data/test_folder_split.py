"""The folder type's validation split and class names."""
import os
import subprocess
import sys

import pytest

from inade.data import DataConfig, build_dataset
from inade.data.procedural import export_procedural
from inade.errors import DataError


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    export_procedural(str(root / "train"), 3, size=32, seed=0)
    export_procedural(str(root / "val"), 2, size=32, seed=1)
    return root


def folder_config(root, **extra):
    values = dict(type="folder", image_dir=f"{root}/train/images", label_dir=f"{root}/train/labels",
                  instance_dir=f"{root}/train/instances", label_nc=6, crop_size=32)
    values.update(extra)
    return DataConfig(**values)


def with_val(root, **extra):
    return folder_config(root, val_image_dir=f"{root}/val/images", val_label_dir=f"{root}/val/labels",
                         val_instance_dir=f"{root}/val/instances", **extra)


def test_val_split_reads_the_val_folders(exports):
    cfg = with_val(exports)
    train, val = build_dataset(cfg, "train"), build_dataset(cfg, "val")
    assert len(train) == 3 and len(val) == 2
    assert all(path.startswith(f"{exports}/val/") for triple in val.files for path in triple)
    assert not set(train.files) & set(val.files)
    assert val[0]["image"].shape == (3, 32, 32)


def test_missing_val_split_is_an_error(exports):
    with pytest.raises(DataError, match="no validation split: set data.val_image_dir"):
        build_dataset(folder_config(exports), "val")
    with pytest.raises(DataError, match="val_label_dir is not set"):
        build_dataset(folder_config(exports, val_image_dir=f"{exports}/val/images"), "val")


def test_class_names_from_the_file_beside_the_labels(exports):
    assert (exports / "train" / "classes.txt").is_file()
    assert build_dataset(folder_config(exports), "train").class_names == (
        "sky", "ground", "disc", "box", "diamond", "pole")


def test_class_names_in_the_config_win(exports):
    names = ["a", "b", "c", "d", "e", "f"]
    assert build_dataset(folder_config(exports, class_names=names), "train").class_names == tuple(names)


def test_no_class_names_without_list_or_file(tmp_path, exports):
    labels = tmp_path / "mine" / "labels"
    os.makedirs(labels)
    for name in os.listdir(exports / "train" / "labels"):
        os.link(exports / "train" / "labels" / name, labels / name)
    assert build_dataset(folder_config(exports, label_dir=str(labels)), "train").class_names is None


def test_class_name_count_must_match(exports):
    with pytest.raises(DataError) as error:
        build_dataset(folder_config(exports, class_names=["a", "b"]), "train")
    assert str(error.value) == "data.class_names names 2 classes, but data.label_nc is 6 (one name per class id)"
    with pytest.raises(DataError, match="classes.txt names 6 classes, but data.label_nc is 7"):
        build_dataset(folder_config(exports, label_nc=7), "train")
    with pytest.raises(DataError, match="names class 'a' twice"):
        build_dataset(folder_config(exports, class_names=["a", "a", "c", "d", "e", "f"]), "train")


def test_class_name_mismatch_through_train_is_one_line(exports, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {type: folder, image_dir: %s/train/images, label_dir: %s/train/labels, label_nc: 6, "
        "class_names: [a, b], crop_size: 32}\noutput_dir: %s/run\n" % (exports, exports, tmp_path))
    done = subprocess.run([sys.executable, "-m", "inade", "train", "--config", str(config)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: data.class_names names 2 classes, but data.label_nc is 6 (one name per class id)"]
    assert not (tmp_path / "run").exists()
