"""Named settings to measure, each a full training configuration (inade.config.Config)
plus a number of instances, and the synthetic inputs they run on: nothing is
downloaded, and every setting's layout has exactly the instances asked for."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import paddle

from ..config import Config, apply_override, from_dict, read_yaml
from ..data.semantics import instance_onehot, semantic_input
from ..errors import ConfigError, InadeError
from ..resources import config_path


# The paper's Cityscapes-like setting at 256x256 (35 labels + the edge channel,
# ngf 64, noise_nc 64, batch 1). Written out here rather than read from
# configs/cityscapes.yaml so that it stays the setting the reference PyTorch
# release was timed on, whatever that preset becomes.
PAPER = {
    "data": {"type": "cityscapes", "label_nc": 35, "crop_size": 256, "batch_size": 1},
    "model": {"norm_mode": "inade", "ngf": 64, "ndf": 64, "noise_nc": 64},
}

# Seconds-long, for the tests.
TINY = {
    "data": {"type": "procedural", "crop_size": 32, "batch_size": 2, "procedural_samples": 16},
    "model": {"ngf": 4, "ndf": 8, "noise_nc": 4},
}


def _procedural_default() -> dict:
    # The repository's default: it is the point to follow that file as it changes.
    return read_yaml(config_path("procedural"))


@dataclasses.dataclass(frozen=True)
class Named:
    source: object  # () -> configuration mapping
    num_instances: int
    description: str


CONFIGURATIONS = {
    "paper": Named(lambda: PAPER, 16, "256x256, 35 labels + edge, 16 instances, ngf 64, noise_nc 64, batch 1"),
    # procedural scenes hold 4-8 instances; a batch pads to its largest, so 8
    "cpu": Named(_procedural_default, 8, "configs/procedural.yaml: 64x64, 6 labels, 8 instances, ngf 16, batch 8"),
    "tiny": Named(lambda: TINY, 4, "32x32, ngf 4, batch 2: for tests"),
}


@dataclasses.dataclass(frozen=True)
class Setting:
    """What one measurement runs: a training configuration and an instance count."""

    name: str
    config: Config
    num_instances: int
    overrides: tuple = ()

    def spec(self) -> dict:
        """What ``resolve`` rebuilds this from (passed to the measuring subprocess)."""
        return {"name": self.name, "overrides": list(self.overrides), "num_instances": self.num_instances}

    def describe(self) -> dict:
        data, model = self.config.data, self.config.model
        return {
            "name": self.name, "overrides": list(self.overrides), "crop_size": data.crop_size,
            "aspect_ratio": data.aspect_ratio, "batch_size": data.batch_size, "data": data.type,
            "num_instances": self.num_instances, "norm_mode": model.norm_mode, "ngf": model.ngf, "ndf": model.ndf,
            "noise_nc": model.noise_nc, "use_encoder": model.use_encoder, "num_d": model.num_d, "vgg": False,
        }


def resolve(spec) -> Setting:
    """A setting from a name, or from {"name", "overrides" (key.sub=value), "num_instances"}."""
    if isinstance(spec, str):
        spec = {"name": spec}
    name = spec["name"]
    if name not in CONFIGURATIONS:
        raise InadeError(f"unknown configuration {name!r}; choose from {', '.join(CONFIGURATIONS)}")
    named = CONFIGURATIONS[name]
    data = copy.deepcopy(named.source())
    overrides = tuple(spec.get("overrides") or ())
    for override in overrides:
        apply_override(data, override)
    # VGG is always off: its weights are never downloaded, and the reference was timed without it
    data.setdefault("loss", {})["lambda_vgg"] = 0.0
    config = from_dict(Config, data)
    if config.model.clade_positional:
        raise ConfigError("the benchmark does not build CLADE's positional maps; leave model.clade_positional off")
    num_instances = int(spec.get("num_instances") or named.num_instances)
    if not 1 <= num_instances <= config.data.crop_size**2 // 4:
        raise ConfigError(f"{num_instances} instances do not fit a {config.data.crop_size}-pixel layout")
    return Setting(name, config, num_instances, overrides)


class ClassesOnly:
    """What Training reads of a dataset, for settings whose data is not on disk."""

    def __init__(self, label_nc: int, contain_dontcare: bool, length: int):
        self.label_nc, self.contain_dontcare, self.length = label_nc, contain_dontcare, length

    def __len__(self) -> int:
        return self.length


def training_dataset(setting: Setting):
    """The real dataset for procedural settings (their loader is then timed too);
    otherwise a stand-in that only knows the classes."""
    from ..data import build_dataset
    from ..data.formats import FORMATS

    data = setting.config.data
    if data.type == "procedural":
        return build_dataset(data, "train")
    label_nc = data.label_nc if data.label_nc is not None else FORMATS[data.type].label_nc
    if label_nc is None:
        raise ConfigError(f"set data.label_nc for data.type {data.type!r}")
    contain_dontcare = data.contain_dontcare if data.contain_dontcare is not None else FORMATS[data.type].contain_dontcare
    return ClassesOnly(label_nc, bool(contain_dontcare), data.batch_size)


def synthetic_layout(size: int, count: int, label_nc: int, seed: int = 0):
    """(label, instance) int maps [size, size]: a grid of ``count`` rectangles,
    each one instance of one random class, the way real layouts nest instances
    inside class regions."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    row_of = np.minimum(np.arange(size) * rows // size, rows - 1)
    col_of = np.minimum(np.arange(size) * cols // size, cols - 1)
    instance = np.minimum(row_of[:, None] * cols + col_of[None, :], count - 1)  # a ragged last row joins the last
    classes = rng.integers(0, label_nc, count)
    return classes[instance], instance


def synthetic_inputs(setting: Setting, label_nc: int, contain_dontcare: bool = False, edges: bool = True, seed: int = 0):
    """(semantics, instances one-hot, image) tensors as the training loop builds them."""
    data = setting.config.data
    height, width = round(data.crop_size / data.aspect_ratio), data.crop_size
    if height != width:
        raise ConfigError("the benchmark's synthetic layouts are square; leave data.aspect_ratio at 1")
    label, instance = synthetic_layout(data.crop_size, setting.num_instances, label_nc, seed)
    batch = data.batch_size
    label = paddle.to_tensor(np.broadcast_to(label, (batch, 1, height, width)).copy())
    instance = paddle.to_tensor(np.broadcast_to(instance, (batch, 1, height, width)).copy())
    semantics = semantic_input(label, instance, label_nc, contain_dontcare, edges)
    image = paddle.to_tensor(np.random.default_rng(seed).uniform(-1, 1, (batch, 3, height, width)).astype("float32"))
    return semantics, instance_onehot(instance, setting.num_instances), image
