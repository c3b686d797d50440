"""The generator's residual block, whose norms come from a norm kind (inade.norm_kinds)."""
from __future__ import annotations

import paddle.nn as nn
from .spectral import spectral_norm

from ..backends.conv import Conv2D
from ..layers.activation import leaky_relu


def maybe_spectral(layer: nn.Layer, enabled: bool) -> nn.Layer:
    return spectral_norm(layer) if enabled else layer


class ResnetBlock(nn.Layer):
    """Pre-activation residual block whose norms are conditioned on the semantic
    map (and, for INADE, on instances and their noise)."""

    def __init__(self, fin: int, fout: int, make_norm, use_spectral: bool = True, extra_channels: int = 0):
        """``make_norm(channels)`` builds one conditional norm (a NormKind's, see
        inade.norm_kinds); ``extra_channels``: channels a norm appends to its
        output (CLADE's edge channel)."""
        super().__init__()
        self.learned_shortcut = fin != fout
        self.fout = fout
        fmid = min(fin, fout)
        extra = extra_channels
        self.conv_0 = maybe_spectral(Conv2D(fin + extra, fmid, 3, padding=1), use_spectral)
        self.conv_1 = maybe_spectral(Conv2D(fmid + extra, fout, 3, padding=1), use_spectral)
        self.norm_0 = make_norm(fin)
        self.norm_1 = make_norm(fmid)
        if self.learned_shortcut:
            self.conv_s = maybe_spectral(Conv2D(fin + extra, fout, 1, bias_attr=False), use_spectral)
            self.norm_s = make_norm(fin)

    def forward(self, x, *cond):
        """cond: what the norms take besides x (segmap, instances, instance noise, positional map)."""
        shortcut = self.conv_s(self.norm_s(x, *cond)) if self.learned_shortcut else x
        dx = self.conv_0(leaky_relu(self.norm_0(x, *cond), 0.2, overwrite=True))
        dx = self.conv_1(leaky_relu(self.norm_1(dx, *cond), 0.2, overwrite=True))
        return shortcut + dx
