"""Normalization layers of the generator: the parameter-free part and the
semantic (SPADE) and instance-adaptive (INADE) modulations."""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .resize import resize_nearest

PARAM_FREE_NORMS = ("batch", "instance", "syncbatch")


def make_param_free_norm(kind: str, channels: int) -> nn.Layer:
    """Normalization without affine parameters.

    ``batch`` keeps running statistics (the reference's choice); ``syncbatch``
    builds the same layer, which the trainer converts to SyncBatchNorm when it
    runs data-parallel on GPUs (Paddle has no CPU kernel for it).
    """
    if kind in ("batch", "syncbatch"):
        # Paddle's momentum is the weight of the running value: 0.9 == torch's 0.1.
        return nn.BatchNorm2D(channels, momentum=0.9, epsilon=1e-5, weight_attr=False, bias_attr=False)
    if kind == "instance":
        return nn.InstanceNorm2D(channels, epsilon=1e-5, weight_attr=False, bias_attr=False)
    raise ValueError(f"param-free norm must be one of {PARAM_FREE_NORMS}, got {kind!r}")


def class_rows(table: paddle.Tensor, segmap: paddle.Tensor) -> paddle.Tensor:
    """Per-pixel row of a class table: table [L, C], segmap one-hot [B, L, H, W] -> [B, C, H, W]."""
    batch, classes, height, width = segmap.shape
    rows = paddle.matmul(table, segmap.reshape([batch, classes, height * width]), transpose_x=True)  # [B, C, HW]
    return rows.reshape([batch, table.shape[1], height, width])


class InadeNorm(nn.Layer):
    """Instance-adaptive denormalization.

    ``class_weight`` and ``class_bias`` [L, C, 2] hold, per class, how strongly
    the instance noise modulates (weight) and the class offset (bias); index 0
    of the last axis builds the scale ``gamma``, index 1 the shift ``beta``:

        u = fc_noise(instance_noise)                       # [B, K, 2, C]
        gamma = class_weight0(s) * u0(m) + class_bias0(s)
        beta  = class_weight1(s) * u1(m) + class_bias1(s)
        out   = gamma * norm(x) + beta

    where (s) picks each pixel's class row and (m) its instance row.
    """

    def __init__(self, channels: int, num_classes: int, noise_nc: int, param_free_norm: str = "batch"):
        super().__init__()
        self.channels = channels
        self.num_classes = num_classes
        self.param_free_norm = make_param_free_norm(param_free_norm, channels)
        self.class_weight = self.create_parameter(
            [num_classes, channels, 2], default_initializer=nn.initializer.Uniform(0.0, 1.0)
        )
        self.class_bias = self.create_parameter(
            [num_classes, channels, 2], default_initializer=nn.initializer.Constant(0.0)
        )
        self.fc_noise = nn.Linear(noise_nc, channels)

    def forward(self, x, segmap, instances, instance_noise, positional=None):
        """x [B, C, H, W]; segmap [B, >=L, h, w] (channels past L, e.g. the edge
        map, are ignored); instances [B, K, h, w] one-hot; instance_noise [B, K, 2, noise_nc]."""
        normalized = self.param_free_norm(x)
        height, width = x.shape[2:]
        classes = resize_nearest(segmap[:, : self.num_classes], (height, width))
        masks = resize_nearest(instances, (height, width))
        batch, num_instances = masks.shape[:2]
        flat_masks = masks.reshape([batch, num_instances, height * width])  # [B, K, HW]
        noise_rows = self.fc_noise(instance_noise)  # [B, K, 2, C]

        def modulation(path):
            per_instance = paddle.matmul(noise_rows[:, :, path], flat_masks, transpose_x=True)  # [B, C, HW]
            per_instance = per_instance.reshape([batch, self.channels, height, width])
            return class_rows(self.class_weight[:, :, path], classes) * per_instance + class_rows(
                self.class_bias[:, :, path], classes
            )

        return modulation(0) * normalized + modulation(1)


class SpadeNorm(nn.Layer):
    """Spatially-adaptive denormalization (SPADE): gamma and beta from a small
    conv net over the semantic map; out = norm(x) * (1 + gamma) + beta."""

    hidden_channels = 128  # fixed in the reference release

    def __init__(self, channels: int, semantic_nc: int, param_free_norm: str = "batch", kernel_size: int = 3):
        super().__init__()
        self.param_free_norm = make_param_free_norm(param_free_norm, channels)
        pad = kernel_size // 2
        self.mlp_shared = nn.Sequential(
            nn.Conv2D(semantic_nc, self.hidden_channels, kernel_size, padding=pad), nn.ReLU()
        )
        self.mlp_gamma = nn.Conv2D(self.hidden_channels, channels, kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2D(self.hidden_channels, channels, kernel_size, padding=pad)

    def forward(self, x, segmap, instances=None, instance_noise=None, positional=None):
        normalized = self.param_free_norm(x)
        hidden = self.mlp_shared(resize_nearest(segmap, x.shape[2:]))
        return normalized * (1 + self.mlp_gamma(hidden)) + self.mlp_beta(hidden)


class CladeNorm(nn.Layer):
    """Class-adaptive normalization (CLADE): per-class gamma and beta looked up
    from [L, C] tables, out = norm(x) * gamma[class] + beta[class]; the cheap
    SPADE (a 1x1 conv of the one-hot map, no hidden layer).

    With ``instance_edges`` the edge map (the last semantic channel) goes
    through a 1x1 conv and is appended as one more channel, as the authors'
    code does; the following conv then takes C+1 inputs.

    With ``positional`` the intra-class positional map [B, 2, H, W] (see
    inade.data.positional) rescales the looked-up parameters per pixel:
    gamma * (1 + conv(map)), beta * (1 + conv(map)), with 1x1 convs that start
    at zero so that training begins from plain CLADE.
    """

    def __init__(self, channels: int, num_classes: int, param_free_norm: str = "batch", instance_edges: bool = True,
                 positional: bool = False):
        super().__init__()
        self.num_classes = num_classes
        self.param_free_norm = make_param_free_norm(param_free_norm, channels)
        self.class_weight = self.create_parameter([num_classes, channels], default_initializer=nn.initializer.Uniform(0.0, 1.0))
        self.class_bias = self.create_parameter([num_classes, channels], default_initializer=nn.initializer.Constant(0.0))
        self.edge_conv = nn.Conv2D(1, 1, 1) if instance_edges else None
        self.positional = positional
        if positional:
            zero = nn.initializer.Constant(0.0)
            self.position_scale = nn.Conv2D(2, 1, 1, weight_attr=zero, bias_attr=zero)
            self.position_shift = nn.Conv2D(2, 1, 1, weight_attr=zero, bias_attr=zero)

    def forward(self, x, segmap, instances=None, instance_noise=None, positional=None):
        normalized = self.param_free_norm(x)
        segmap = resize_nearest(segmap, x.shape[2:])
        classes = paddle.argmax(segmap[:, : self.num_classes], axis=1)  # [B, H, W]
        gamma = F.embedding(classes, self.class_weight).transpose([0, 3, 1, 2])
        beta = F.embedding(classes, self.class_bias).transpose([0, 3, 1, 2])
        if self.positional:
            positional = resize_nearest(positional, x.shape[2:])
            gamma = gamma * (1 + self.position_scale(positional))
            beta = beta * (1 + self.position_shift(positional))
        out = normalized * gamma + beta
        if self.edge_conv is not None:
            out = paddle.concat([out, self.edge_conv(segmap[:, -1:])], axis=1)
        return out
