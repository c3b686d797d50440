"""GauGAN's global image encoder: a photo -> (mu, logvar) of the image noise z."""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from .spectral import spectral_norm

from ..backends.conv import Conv2D
from ..layers.activation import leaky_relu
from ..layers.resize import resize_bilinear
from .init import init_weights

REFERENCE_SIZE = 256


class ConvEncoder(nn.Layer):
    """Stride-2 convs (spectral norm + instance norm) down to 4x4, then
    ``fc_mu``/``fc_var`` to z_dim.

    At crop sizes of 256 and more it is the reference network: the photo is
    resized to 256x256 and six convs follow. The reference breaks below 256
    (five convs leave 8x8 for a 4x4 linear layer); here smaller crops keep
    their size and use log2(crop / 4) convs instead.
    """

    reads_instances = False  # forward takes the photo alone

    def __init__(self, ndf: int = 64, crop_size: int = 256, z_dim: int = 256):
        super().__init__()
        self.input_size = REFERENCE_SIZE if crop_size >= REFERENCE_SIZE else crop_size
        num_layers = int(math.log2(self.input_size // 4))
        if 4 * 2**num_layers != self.input_size:
            raise ValueError(f"the image encoder needs a crop size that is 4 times a power of 2, got {crop_size}")
        channels = [3] + [ndf * min(2**i, 8) for i in range(num_layers)]
        for index in range(num_layers):
            conv = Conv2D(channels[index], channels[index + 1], 3, stride=2, padding=1, bias_attr=False)
            # Sequential keeps the reference's names (layerN.0.weight_orig).
            setattr(self, f"layer{index + 1}", nn.Sequential(spectral_norm(conv)))
        self.num_layers = num_layers
        self.fc_mu = nn.Linear(channels[-1] * 16, z_dim)
        self.fc_var = nn.Linear(channels[-1] * 16, z_dim)
        init_weights(self)

    def variance_parameters(self) -> list:
        """The parameters only the log-variance depends on."""
        return list(self.fc_var.parameters())

    def forward(self, image):
        size = self.input_size
        if list(image.shape[2:]) != [size, size]:
            image = resize_bilinear(image, [size, size])
        x = image
        for index in range(self.num_layers):
            if index:
                x = leaky_relu(x, 0.2)
            x = F.instance_norm(getattr(self, f"layer{index + 1}")(x), eps=1e-5)
        x = leaky_relu(x, 0.2).reshape([x.shape[0], -1])
        return self.fc_mu(x), self.fc_var(x)
