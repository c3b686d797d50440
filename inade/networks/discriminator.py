"""Multi-scale PatchGAN discriminator returning every intermediate feature."""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from .spectral import spectral_norm

from ..backends.conv import Conv2D
from ..layers.activation import leaky_relu
from ..layers.attentive_norm import AttentiveNorm
from ..backends.narrow_conv import NARROW, NarrowConv2D
from .init import init_weights


class _DiscriminatorLayer(nn.Layer):
    def __init__(self, fin, fout, stride, normalized, activation=True, attentive_norm_entities=None):
        super().__init__()
        # Instance norm makes a conv bias meaningless, so normalized convs have none.
        if fout <= NARROW and stride == 1 and not normalized:  # the patch predictions: one channel
            conv = NarrowConv2D(fin, fout, 4, padding=2)
        else:
            conv = Conv2D(fin, fout, 4, stride=stride, padding=2, bias_attr=False if normalized else None)
        self.conv = spectral_norm(conv) if normalized else conv
        self.normalized = normalized
        self.activation = activation
        # Attentive Normalization sits between the first conv and its activation, as its authors place it
        self.attentive_norm = AttentiveNorm(fout, attentive_norm_entities) if attentive_norm_entities else None

    def forward(self, x):
        x = self.conv(x)
        if self.normalized:
            x = F.instance_norm(x, eps=1e-5)
        if self.attentive_norm is not None:
            x = self.attentive_norm(x)
        return leaky_relu(x, 0.2) if self.activation else x


class PatchDiscriminator(nn.Layer):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, attentive_norm_entities=None):
        super().__init__()
        layers = [_DiscriminatorLayer(input_nc, ndf, 2, normalized=False, attentive_norm_entities=attentive_norm_entities)]
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 512)
            layers.append(_DiscriminatorLayer(nf_prev, nf, 1 if n == n_layers - 1 else 2, normalized=True))
        layers.append(_DiscriminatorLayer(nf, 1, 1, normalized=False, activation=False))
        self.layers = nn.LayerList(layers)

    def forward(self, x):
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Layer):
    """``num_d`` PatchGANs on the input and on successive 2x average-pooled copies.

    forward(x) -> list over scales of lists of features; the last feature of
    each scale is the patch prediction. ``attentive_norm_entities``: an
    AttentiveNorm layer with that many entities in each scale's first layer.
    """

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2, attentive_norm_entities=None):
        super().__init__()
        self.scales = nn.LayerList(
            [PatchDiscriminator(input_nc, ndf, n_layers, attentive_norm_entities) for _ in range(num_d)]
        )
        init_weights(self)

    def forward(self, x):
        outputs = []
        for index, scale in enumerate(self.scales):
            if index:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, exclusive=True)
            outputs.append(scale(x))
        return outputs
