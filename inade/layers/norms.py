"""Normalization layers of the generator: the parameter-free part and the
semantic (SPADE), class-adaptive (CLADE) and instance-adaptive (INADE)
modulations. inade.norm_kinds says which generator uses which."""
from __future__ import annotations

import math
import typing

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..backends.conv import Conv2D
from ..backends.fused_norm import batch_norm_modulate, fusable, spread_affine, spread_rows
from ..paddle_private import batch_norm_settings
from .resize import resize_nearest
from ..norm_kinds import ParamFreeNorm

PARAM_FREE_NORMS = typing.get_args(ParamFreeNorm)


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


class FoldedBatchNorm(nn.Layer):
    """An eval-mode batch norm as the per-channel ``a * x + b`` it computes,
    with ``a`` and ``b`` stored: the export puts it in place of the INADE norms'
    batch norms (inade.synthesis.export_graph), so that a saved graph reads
    them instead of computing them from the running statistics on every run."""

    def __init__(self, a, b):
        super().__init__()
        self.register_buffer("a", a.detach())
        self.register_buffer("b", b.detach())

    def forward(self, x):
        return x * self.a.reshape([1, -1, 1, 1]) + self.b.reshape([1, -1, 1, 1])


def running_affine(norm):
    """(a, b) [C] with ``norm(x) == a * x + b`` per channel, when ``norm``
    normalizes with fixed statistics: a FoldedBatchNorm, or a BatchNorm2D (NCHW)
    using its running statistics (eval mode). None for any other norm (batch
    norm in training, instance norm, SyncBatchNorm), which must run as itself."""
    if isinstance(norm, FoldedBatchNorm):
        return norm.a, norm.b
    if not isinstance(norm, nn.BatchNorm2D):
        return None
    settings = batch_norm_settings(norm)
    # use_global_stats None: running statistics in eval mode, the batch's in training
    uses_running = settings.use_global_stats if settings.use_global_stats is not None else not norm.training
    if not uses_running or settings.data_format != "NCHW":
        return None
    a = paddle.rsqrt(settings.running_variance + settings.epsilon)
    if norm.weight is not None:  # an exported copy's unit scale and zero shift (see synthesis.export_graph)
        a = a * norm.weight
    b = -a * settings.running_mean
    if norm.bias is not None:
        b = b + norm.bias
    return a, b


def class_instance_pairs(segmap, instances, num_classes: int):
    """The (class, instance) combinations of a layout, for InadeNorm.

    segmap [B, >=L, H, W] and instances [B, K, H, W] one-hot -> (masks
    [B, P, H, W] one-hot over the P combinations present, pair_class [P],
    pair_instance [P]). A pixel without a class or instance gets index L or K
    (a zero row in the norm). Computed once per generator forward: every norm
    then modulates with one [2C, P] x [P, HW] product instead of six products
    over L classes and K instances, and the result is the same bit for bit.
    """
    batch, num_instances, height, width = instances.shape
    classes = segmap[:, :num_classes]
    class_index = paddle.where(classes.sum(1) > 0, classes.argmax(1), paddle.full_like(classes[:, 0], num_classes, "int64"))
    instance_index = paddle.where(instances.sum(1) > 0, instances.argmax(1),
                                  paddle.full_like(instances[:, 0], num_instances, "int64"))  # [B, H, W]
    pair = class_index * (num_instances + 1) + instance_index
    values, first, inverse = paddle.unique(pair, return_index=True, return_inverse=True)  # [P], [P], [B*H*W]
    # A comparison rather than one_hot, and gathers rather than integer division:
    # P is only known at run time in exported graphs, and Paddle Inference's CPU
    # kernels mishandle integer floor_divide there.
    pair_ids = paddle.arange(paddle.shape(values)[0], dtype="int64").reshape([1, -1, 1, 1])
    masks = inverse.astype("int64").reshape([batch, 1, height, width]) == pair_ids  # [B, P, H, W]
    return (masks.astype(segmap.dtype), paddle.gather(class_index.flatten(), first),
            paddle.gather(instance_index.flatten(), first))


def _one_hot_rows(index, count: int, dtype):
    """[N, count] with a one where ``index`` [N] points; an index of ``count``
    (class_instance_pairs' "none") gives a zero row. A comparison rather than
    one_hot, whose depth must be known when a graph is saved: an exported
    graph's instance count is a run-time value."""
    return (index.unsqueeze(1) == paddle.arange(count, dtype=index.dtype)).astype(dtype)


# By default an INADE norm recomputes (model.recompute_norms) where its input
# has at least this many values per image (4 MB in float32): at the paper
# setting every norm from 32x32 on, which hold nearly all the memory it saves
# and where it ran faster too; on smaller activations the separate ops ran
# faster (the cpu setting, 64x64 with 32 channels and less: 0.60 against
# 0.68 s per iteration with every norm recomputing).
RECOMPUTE_MIN_VALUES = 1 << 20


class InadeNorm(nn.Layer):
    """Instance-adaptive denormalization.

    ``class_weight`` and ``class_bias`` [L, C, 2] hold, per class, how strongly
    the instance noise modulates (weight) and the class offset (bias); index 0
    of the last axis builds the scale ``gamma``, index 1 the shift ``beta``:

        u = fc_noise(instance_noise)                       # [B, K, 2, C]
        gamma = class_weight0(s) * u0(m) + class_bias0(s)
        beta  = class_weight1(s) * u1(m) + class_bias1(s)
        out   = gamma * norm(x) + beta

    where (s) picks each pixel's class row and (m) its instance row. Both
    only depend on the pixel's (class, instance) combination, so gamma and
    beta are built per combination present and spread over the image with
    one product (see class_instance_pairs).
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
        # in training, keep only x for the backward and recompute the rest
        # (backends/fused_norm.py): True, False, or None for inputs of at
        # least RECOMPUTE_MIN_VALUES values per image
        self.recompute = None

    def recomputes(self, x_shape) -> bool:
        """Whether a forward on an input of ``x_shape`` [B, C, H, W] now goes
        through the recomputing node (the FLOP counter asks too)."""
        if not fusable(self.param_free_norm):
            return False
        return math.prod(x_shape[1:]) >= RECOMPUTE_MIN_VALUES if self.recompute is None else self.recompute

    def forward(self, x, segmap, instances, instance_noise, positional=None, pairs=None):
        """x [B, C, H, W]; segmap [B, >=L, h, w] (channels past L, e.g. the edge
        map, are ignored) and instances [B, K, h, w], both one-hot; instance_noise
        [B, K, 2, noise_nc]; ``pairs`` from class_instance_pairs when the caller
        has them already."""
        batch, channels, height, width = x.shape
        masks, pair_class, pair_instance = pairs if pairs is not None else class_instance_pairs(
            segmap, instances, self.num_classes)
        masks = resize_nearest(masks, (height, width))
        num_pairs = masks.shape[1]
        # Each pair's rows picked by one-hot products ("no class" and "no
        # instance" match no row: zeros), the same values as gathering from
        # tables with a zero row appended, without the concatenations whose
        # gradients were several times the cost of everything else here.
        class_of_pair = _one_hot_rows(pair_class, self.num_classes, x.dtype)  # [P, L]
        weight_rows, bias_rows = (paddle.matmul(class_of_pair, table.reshape([self.num_classes, 2 * channels]))
                                  .reshape([-1, channels, 2]).transpose([0, 2, 1]) for table in (self.class_weight, self.class_bias))  # [P, 2, C]
        noise = self.fc_noise(instance_noise)  # [B, K, 2, C]
        num_instances = noise.shape[1]
        instance_of_pair = _one_hot_rows(pair_instance, num_instances, x.dtype)  # [P, K]
        noise_rows = paddle.matmul(instance_of_pair, noise.reshape([batch, num_instances, 2 * channels])).reshape(
            [batch, -1, 2, channels])  # [B, P, 2, C]
        gamma, beta = paddle.unbind(weight_rows * noise_rows + bias_rows, axis=2)  # [B, P, C] each
        flat_masks = masks.reshape([batch, num_pairs, height * width])  # [B, P, HW]

        affine = running_affine(self.param_free_norm)
        if affine is not None:
            return self._modulate_folded(x, gamma, beta, flat_masks, *affine)
        if self.recomputes(x.shape):
            return batch_norm_modulate(self.param_free_norm, x, gamma, beta, flat_masks)
        return spread_rows(gamma, flat_masks, x.shape) * self.param_free_norm(x) + spread_rows(beta, flat_masks, x.shape)

    @staticmethod
    def _modulate_folded(x, gamma, beta, masks, a, b):
        """The forward when norm(x) = a * x + b per channel (eval mode): then
        gamma * norm(x) + beta = (gamma * a) * x + (gamma * b + beta), with
        gamma and beta still per pair, so the norm's pass over the activations
        folds into the small rows. (One spread of both rows, [2, B, P, C] over
        the masks, was slower in a saved graph, where every operator is a
        oneDNN kernel call: the broadcast product and splitting its result
        copy the activations.)"""
        return spread_affine(gamma * a, gamma * b + beta, masks, x)


class SpadeNorm(nn.Layer):
    """Spatially-adaptive denormalization (SPADE): gamma and beta from a small
    conv net over the semantic map; out = norm(x) * (1 + gamma) + beta."""

    def __init__(self, channels: int, semantic_nc: int, param_free_norm: str = "batch", kernel_size: int = 3,
                 hidden_channels: int = 128):
        """hidden_channels: 128 in the reference release (fixed there)."""
        super().__init__()
        self.hidden_channels = hidden_channels
        self.param_free_norm = make_param_free_norm(param_free_norm, channels)
        pad = kernel_size // 2
        self.mlp_shared = nn.Sequential(
            Conv2D(semantic_nc, self.hidden_channels, kernel_size, padding=pad), nn.ReLU()
        )
        self.mlp_gamma = Conv2D(self.hidden_channels, channels, kernel_size, padding=pad)
        self.mlp_beta = Conv2D(self.hidden_channels, channels, kernel_size, padding=pad)

    def forward(self, x, segmap, instances=None, instance_noise=None, positional=None, pairs=None):
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
        self.edge_conv = Conv2D(1, 1, 1) if instance_edges else None
        self.positional = positional
        if positional:
            zero = nn.initializer.Constant(0.0)
            self.position_scale = Conv2D(2, 1, 1, weight_attr=zero, bias_attr=zero)
            self.position_shift = Conv2D(2, 1, 1, weight_attr=zero, bias_attr=zero)

    def forward(self, x, segmap, instances=None, instance_noise=None, positional=None, pairs=None):
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
