"""Named settings to measure, and the synthetic inputs they run on."""
from __future__ import annotations

import dataclasses

import numpy as np
import paddle

from ..config import LossConfig, ModelConfig
from ..data.semantics import instance_onehot, semantic_input


@dataclasses.dataclass(frozen=True)
class Setting:
    """What one measurement runs: network widths, input size, instances, batch."""

    label_nc: int
    crop_size: int
    num_instances: int
    ngf: int
    ndf: int
    noise_nc: int
    batch_size: int
    norm_mode: str = "inade"

    def model(self) -> ModelConfig:
        return ModelConfig(norm_mode=self.norm_mode, ngf=self.ngf, ndf=self.ndf, noise_nc=self.noise_nc)

    def losses(self) -> LossConfig:
        return LossConfig(lambda_vgg=0.0)  # VGG off, as the reference timing was taken


CONFIGURATIONS = {
    # the paper's Cityscapes-like setting at 256x256: 35 labels + edge, 16 instances
    "paper": Setting(label_nc=35, crop_size=256, num_instances=16, ngf=64, ndf=64, noise_nc=64, batch_size=1),
    # configs/procedural.yaml: the default model of this repository
    "cpu": Setting(label_nc=6, crop_size=64, num_instances=8, ngf=16, ndf=32, noise_nc=16, batch_size=8),
    # seconds-long, for tests
    "tiny": Setting(label_nc=4, crop_size=32, num_instances=4, ngf=4, ndf=8, noise_nc=4, batch_size=2),
}


def synthetic_inputs(setting: Setting, seed: int = 0):
    """(semantics, instances, image) tensors of a layout with exactly
    ``num_instances`` instances: a grid of rectangles, each of one class,
    the way real layouts nest instances inside class regions."""
    rng = np.random.default_rng(seed)
    size, count = setting.crop_size, setting.num_instances
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    row_of = np.minimum(np.arange(size) * rows // size, rows - 1)
    col_of = np.minimum(np.arange(size) * cols // size, cols - 1)
    cell = row_of[:, None] * cols + col_of[None, :]  # [H, W]
    instance = np.minimum(cell, count - 1)  # a ragged last row joins the last instance
    classes = rng.integers(0, setting.label_nc, count)
    batch = setting.batch_size
    label = paddle.to_tensor(np.broadcast_to(classes[instance], (batch, 1, size, size)).copy())
    instance = paddle.to_tensor(np.broadcast_to(instance, (batch, 1, size, size)).copy())
    semantics = semantic_input(label, instance, setting.label_nc, False)
    image = paddle.to_tensor(rng.uniform(-1, 1, (batch, 3, size, size)).astype("float32"))
    return semantics, instance_onehot(instance, count), image
