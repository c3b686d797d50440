"""LPIPS (Zhang et al., 2018), the learned perceptual distance that diverse
image synthesis papers report as pixel diversity.

The network is AlexNet's or VGG16's convolutional trunk, with each layer's
features unit-normalised over channels; the squared differences are weighted
by learned non-negative 1x1 "linear" weights, averaged over space and summed
over the five layers. Weights cannot be downloaded here, so two files the user
fetches are read (without running code):

- the linear weights, the LPIPS release's ``weights/v0.1/alex.pth`` or
  ``vgg.pth`` (keys ``lin0.model.1.weight`` .. ``lin4.model.1.weight``);
- the trunk, torchvision's ``alexnet-owt-*.pth`` or ``vgg16-*.pth`` (keys
  ``features.N.weight`` / ``.bias``).

Either may also be a ``.pdparams`` or ``.safetensors`` with the same names.
Which trunk is meant is read from the linear weights' channel counts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..checkpoints.weights import read_weights
from ..errors import CheckpointError
from ..backends.conv import Conv2D


@dataclass(frozen=True)
class Trunk:
    """One backbone as torchvision lays out ``features``: each entry is a
    convolution (out channels, kernel, stride, padding) or "M" (max pool);
    ``taps`` are the ``features`` indices after which LPIPS reads a layer."""
    name: str
    layers: tuple
    taps: tuple
    pool: tuple  # (kernel, stride) of the max pools

    @property
    def channels(self) -> tuple:
        widths, last = [], 3
        for index, item in enumerate(self.entries()):
            if isinstance(item, tuple):
                last = item[0]
            if index + 1 in self.taps:
                widths.append(last)
        return tuple(widths)

    def entries(self):
        """``features`` entries in order: conv tuples, "R" (ReLU) and "M"."""
        for item in self.layers:
            if item == "M":
                yield "M"
            else:
                yield item
                yield "R"


TRUNKS = {
    "alex": Trunk("alex", ((64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)),
                  taps=(2, 5, 8, 10, 12), pool=(3, 2)),
    "vgg": Trunk("vgg", ((64, 3, 1, 1), (64, 3, 1, 1), "M", (128, 3, 1, 1), (128, 3, 1, 1), "M",
                         (256, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1), "M",
                         (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), "M",
                         (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1)),
                 taps=(4, 9, 16, 23, 30), pool=(2, 2)),
}

# The LPIPS input scaling: images in [-1, 1] moved to ImageNet-like statistics.
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)
_EPS = 1e-10


class LPIPS(nn.Layer):
    """Distance between two batches of images in [-1, 1], [N, 3, H, W] -> [N]."""

    def __init__(self, trunk: Trunk):
        super().__init__()
        self.trunk = trunk
        layers, channels = [], 3
        for item in trunk.entries():
            if item == "M":
                layers.append(nn.MaxPool2D(*trunk.pool))
            elif item == "R":
                layers.append(nn.ReLU())
            else:
                width, kernel, stride, padding = item
                layers.append(Conv2D(channels, width, kernel, stride=stride, padding=padding))
                channels = width
        self.features = nn.Sequential(*layers[: trunk.taps[-1]])
        self.lins = nn.LayerList([nn.Conv2D(c, 1, 1, bias_attr=False) for c in trunk.channels])
        self.register_buffer("shift", paddle.to_tensor(_SHIFT, dtype="float32").reshape([1, 3, 1, 1]), persistable=False)
        self.register_buffer("scale", paddle.to_tensor(_SCALE, dtype="float32").reshape([1, 3, 1, 1]), persistable=False)
        for param in self.parameters():
            param.stop_gradient = True

    def layer_features(self, images):
        """The five tapped feature maps, each unit-normalised over channels."""
        x = (images - self.shift) / self.scale
        taps, start = [], 0
        for end in self.trunk.taps:
            for index in range(start, end):
                x = self.features[index](x)
            taps.append(x / (paddle.sqrt((x * x).sum(axis=1, keepdim=True)) + _EPS))
            start = end
        return taps

    def compare(self, first_taps, second_taps):
        """LPIPS between two lists of layer_features outputs: [N]."""
        total = 0.0
        for lin, a, b in zip(self.lins, first_taps, second_taps):
            total = total + lin((a - b) ** 2).mean(axis=[1, 2, 3])
        return total

    def forward(self, first, second):
        return self.compare(self.layer_features(first), self.layer_features(second))


def _linear_weights(path: str) -> dict:
    state = read_weights(path)
    lins = {}
    for index in range(5):
        for key in (f"lin{index}.model.1.weight", f"lins.{index}.model.1.weight", f"lins.{index}.weight"):
            if key in state:
                lins[index] = state[key]
                break
        else:
            raise CheckpointError(f"{path} is not an LPIPS linear-weights file: no lin{index}.model.1.weight "
                                  "(expected the LPIPS release's weights/v0.1/alex.pth or vgg.pth)")
    return lins


def load_lpips(linear_path: str, trunk_path: str) -> LPIPS:
    """LPIPS in eval mode from the linear weights and the trunk's ImageNet
    weights (see the module docstring); every mismatch is one CheckpointError."""
    for path, what in ((linear_path, "LPIPS linear weights"), (trunk_path, "LPIPS trunk weights")):
        if not os.path.isfile(path):
            raise CheckpointError(f"{what} file not found: {path}")
    lins = _linear_weights(linear_path)
    widths = tuple(int(lins[i].shape[1]) if lins[i].ndim == 4 else -1 for i in range(5))
    trunk = next((t for t in TRUNKS.values() if t.channels == widths), None)
    if trunk is None or any(list(lins[i].shape) != [1, widths[i], 1, 1] for i in range(5)):
        shapes = ", ".join(str(list(lins[i].shape)) for i in range(5))
        raise CheckpointError(f"{linear_path}: linear weights of shapes {shapes} match neither AlexNet "
                              f"{TRUNKS['alex'].channels} nor VGG16 {TRUNKS['vgg'].channels} channels")
    if any((lins[i] < 0).any() or not np.isfinite(lins[i]).all() for i in range(5)):
        raise CheckpointError(f"{linear_path}: LPIPS linear weights must be finite and non-negative")
    network = LPIPS(trunk)
    wanted = {k: v for k, v in network.state_dict().items() if k.startswith("features.")}
    state = read_weights(trunk_path)
    missing = [k for k in wanted if k not in state]
    if missing:
        raise CheckpointError(f"{trunk_path} is not torchvision's {'AlexNet' if trunk.name == 'alex' else 'VGG16'} "
                              f"(the trunk {linear_path} was trained on): missing {', '.join(missing[:3])}"
                              + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    for name in wanted:
        if list(state[name].shape) != list(wanted[name].shape):
            raise CheckpointError(f"{trunk_path}: {name} has shape {list(state[name].shape)}, "
                                  f"{trunk.name} expects {list(wanted[name].shape)}")
    values = {name: paddle.to_tensor(np.asarray(state[name], dtype=np.float32)) for name in wanted}
    values.update({f"lins.{i}.weight": paddle.to_tensor(np.asarray(lins[i], dtype=np.float32)) for i in range(5)})
    network.set_state_dict(values)
    network.eval()
    return network


def mean_pairwise_lpips(network: LPIPS, images: np.ndarray) -> float:
    """Mean LPIPS over all pairs of ``images`` (numpy [S, 3, H, W] in [-1, 1]):
    the diversity of the samples of one label map."""
    count = len(images)
    if count < 2:
        raise ValueError(f"pairwise LPIPS needs at least 2 images, got {count}")
    first, second = (paddle.to_tensor(side) for side in zip(*[(i, j) for i in range(count) for j in range(i + 1, count)]))
    with paddle.no_grad():
        taps = network.layer_features(paddle.to_tensor(np.asarray(images, dtype=np.float32)))
        distances = network.compare([paddle.gather(t, first) for t in taps], [paddle.gather(t, second) for t in taps])
    return float(distances.mean())
