"""VGG19 perceptual loss. ImageNet weights cannot be downloaded at run time: the
network is built here and loaded from a file the user supplies (torchvision's
``vgg19-*.pth`` read without PyTorch, a Paddle ``.pdparams`` or a ``.safetensors``;
none of them can run code)."""
from __future__ import annotations

import os

import paddle
import paddle.nn as nn

from ..checkpoints.weights import read_weights
from ..errors import CheckpointError
from ..backends.conv import Conv2D

# Layer weights for relu1_1 .. relu5_1.
VGG_LAYER_WEIGHTS = {
    "inade": (0.0, 0.0, 0.0, 1.0 / 4, 1.0),
    "spade": (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0),
}

_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
# End (exclusive) of each slice in `features`, after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
_SLICE_ENDS = (2, 7, 12, 21, 30)


class VGG19Features(nn.Layer):
    """VGG19's convolutional trunk up to relu5_1, laid out as torchvision's
    ``features`` (so its ``features.N.weight`` names load directly)."""

    def __init__(self):
        super().__init__()
        layers, channels = [], 3
        for item in _CFG:
            if item == "M":
                layers.append(nn.MaxPool2D(2, 2))
            else:
                layers += [Conv2D(channels, item, 3, padding=1), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers[: _SLICE_ENDS[-1]])
        for param in self.parameters():
            param.stop_gradient = True

    def forward(self, x):
        outputs, start = [], 0
        for end in _SLICE_ENDS:
            for index in range(start, end):
                x = self.features[index](x)
            outputs.append(x)
            start = end
        return outputs


def load_vgg19(weights_path: str) -> VGG19Features:
    """Build VGG19Features in eval mode with ImageNet weights from a file."""
    if not os.path.isfile(weights_path):
        raise CheckpointError(f"VGG19 weights file not found: {weights_path}")
    state = read_weights(weights_path)
    network = VGG19Features()
    wanted = network.state_dict()
    state = {k: v for k, v in state.items() if k in wanted}
    missing = [k for k in wanted if k not in state]
    if missing:
        raise CheckpointError(
            f"{weights_path} is not a VGG19 checkpoint: missing {', '.join(missing[:4])}"
            + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        )
    for name, value in state.items():
        if list(value.shape) != list(wanted[name].shape):
            raise CheckpointError(
                f"{weights_path}: {name} has shape {list(value.shape)}, VGG19 expects {list(wanted[name].shape)}"
            )
    network.set_state_dict({k: v if isinstance(v, paddle.Tensor) else paddle.to_tensor(v) for k, v in state.items()})
    network.eval()
    return network


def vgg_loss(vgg: VGG19Features, fake, real, layer_weights=VGG_LAYER_WEIGHTS["inade"]):
    """Weighted L1 between VGG features of fake and (constant) real images."""
    fake_features = vgg(fake)
    with paddle.no_grad():
        real_features = vgg(real)
    total = 0.0
    for weight, f, r in zip(layer_weights, fake_features, real_features):
        if weight:
            total = total + weight * (f - r.detach()).abs().mean()
    return total
