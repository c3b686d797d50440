"""Attentive normalization (AN; Wang et al., "Attentive Normalization for
Conditional Image Generation", CVPR 2020): instance normalization within soft
regions that the layer predicts from its own input, so that distant positions
with the same semantics share statistics.

For x [B, C, H, W] and n learned semantic entities:

    f(x) = entity_conv(x)                          # [B, n, H, W], n 1x1 filters
    F    = <maxpool(key(x)) at n sampled points, query(x)>  # self-sampling branch
    S    = t * F + f(x)                             # raw layout, t learnable (0.1)
    A    = softmax(S / tau, over the n regions)     # soft layout
    x_hat(p) = sum_r A_r(p) * (gamma_r * (x(p) - mu_r) / sigma_r + beta_r)
    out  = x + rho * x_hat                          # rho learnable, starts at 0

mu_r, sigma_r are the A_r-weighted spatial mean and (biased) standard deviation
of each channel. Everything is a product of [B, n, HW] with [B, HW, C] or
[B, C, HW], so the cost is O(n B HW C) and no [HW, HW] tensor is ever built.

Residual form: the authors' release (github.com/shepnerd/AttenNorm,
inpaint-attnorm/net/network.py) ends with ``x = x + sigma * xn`` with sigma a
zero-initialised scalar, the paper's residual scheme that fades regional
normalization in; ``rho`` here is that scalar, so a fresh layer is the identity.
The same release divides S by 10 (``kama``) before the softmax; the default
tau = 0.1 here (issue #7) multiplies it by 10, i.e. much harder regions.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..backends.conv import Conv2D

EVAL_SAMPLING = ("off", "strided")
_MIN_REGION_MASS = 1e-12  # a region no pixel belongs to has no statistics; avoid 0/0


def regional_statistics(features: paddle.Tensor, layout: paddle.Tensor):
    """Soft-weighted per-region mean and biased variance of each channel.

    features [B, C, HW], layout [B, n, HW] (non-negative weights) ->
    (mean [B, n, C], variance [B, n, C]).
    """
    mass = layout.sum(axis=2, keepdim=True).clip(min=_MIN_REGION_MASS)  # [B, n, 1]
    mean = paddle.matmul(layout, features, transpose_y=True) / mass  # [B, n, C]
    second_moment = paddle.matmul(layout, features * features, transpose_y=True) / mass  # [B, n, C]
    # E[x^2] - E[x]^2 needs no [B, n, C, HW] tensor; the caller centres the
    # features first so that the subtraction does not cancel catastrophically.
    variance = (second_moment - mean * mean).clip(min=0.0)
    return mean, variance


def regional_instance_norm(x: paddle.Tensor, layout: paddle.Tensor, gamma: paddle.Tensor, beta: paddle.Tensor,
                           eps: float = 1e-5) -> paddle.Tensor:
    """x_hat(p) = sum_r A_r(p) * (gamma_r * (x(p) - mu_r) / sqrt(var_r + eps) + beta_r).

    x [B, C, H, W]; layout A [B, n, H, W] (soft or one-hot); gamma, beta [n, C].
    Rearranged as x(p) * sum_r A_r(p) s_r + sum_r A_r(p) (beta_r - s_r mu_r) with
    s_r = gamma_r / sigma_r, i.e. two [B, C, n] x [B, n, HW] products.
    """
    batch, channels, height, width = x.shape
    num_regions = layout.shape[1]
    features = x.reshape([batch, channels, height * width])  # [B, C, HW]
    # Region statistics are shift-invariant; removing the global mean keeps
    # E[x^2] - mu^2 accurate when the features sit far from zero.
    features = features - features.mean(axis=2, keepdim=True)
    weights = layout.reshape([batch, num_regions, height * width])  # [B, n, HW]
    mean, variance = regional_statistics(features, weights)  # [B, n, C]
    scale = gamma / paddle.sqrt(variance + eps)  # [B, n, C]
    shift = beta - scale * mean  # [B, n, C]
    pixel_scale = paddle.matmul(scale, weights, transpose_x=True)  # [B, C, HW]
    pixel_shift = paddle.matmul(shift, weights, transpose_x=True)  # [B, C, HW]
    return (features * pixel_scale + pixel_shift).reshape([batch, channels, height, width])


def orthogonality_penalty(filters: paddle.Tensor) -> paddle.Tensor:
    """|| W W^T - I ||_F^2 for the rows of ``filters`` [n, C] scaled to unit length.

    With unit rows the diagonal is exactly 1, so this is the sum of squared
    cosines between different entities: 0 iff they are mutually orthogonal
    (possible only for n <= C), independent of the filters' lengths, so it
    pushes the entities apart without fighting the scale of f(x).
    """
    unit_rows = F.normalize(filters, axis=1)
    gram = paddle.matmul(unit_rows, unit_rows, transpose_y=True)  # [n, n]
    off_diagonal = gram - paddle.eye(filters.shape[0], dtype=filters.dtype)
    return (off_diagonal * off_diagonal).sum()


class AttentiveNorm(nn.Layer):
    """Attentive normalization as a residual layer: [B, C, H, W] -> [B, C, H, W].

    Args:
        channels: C of the input.
        num_entities: n, the number of semantic entities (soft regions).
        key_channels: C_k of the self-sampling key and query maps (default C // 8, at least 1).
        tau: softmax temperature of the layout, A = softmax(S / tau).
        eps: added to each region's variance.
        pool: kernel and stride of the max pooling of the key map before sampling (1: none).
        eval_sampling: what the self-sampling branch does in eval mode. ``off``
            (the authors' choice: "in the testing phase, we remove the randomness
            in AttenNorm by switching off its self-sampling branch") uses S = f(x);
            ``strided`` keeps the branch with n points evenly spaced in raster
            order over the pooled key map, the same for every image.

    In train mode the n points are drawn uniformly without replacement per
    image (with replacement if the pooled map has fewer than n positions) from
    Paddle's global generator, so ``paddle.seed`` makes them reproducible.
    ``regularization()`` is the orthogonality penalty of the entity filters; add
    ``lambda * attentive_norm_regularization(network)`` to the network's loss.
    ``last_layout`` holds the soft layout [B, n, H, W] of the last forward (detached).
    """

    def __init__(self, channels: int, num_entities: int = 16, key_channels: int | None = None, tau: float = 0.1,
                 eps: float = 1e-5, pool: int = 2, eval_sampling: str = "off"):
        super().__init__()
        if key_channels is None:
            key_channels = max(channels // 8, 1)
        for name, value in (("channels", channels), ("num_entities", num_entities),
                            ("key_channels", key_channels), ("pool", pool)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not tau > 0 or not eps > 0:
            raise ValueError(f"tau and eps must be positive, got tau={tau!r}, eps={eps!r}")
        if eval_sampling not in EVAL_SAMPLING:
            raise ValueError(f"eval_sampling must be one of {EVAL_SAMPLING}, got {eval_sampling!r}")
        self.channels, self.num_entities, self.key_channels = channels, num_entities, key_channels
        self.tau, self.eps, self.pool, self.eval_sampling = tau, eps, pool, eval_sampling
        # Orthogonal rows start the penalty at 0 (when n <= C); no bias, an
        # entity is a direction in feature space.
        self.entity_conv = Conv2D(channels, num_entities, 1, weight_attr=nn.initializer.Orthogonal(),
                                     bias_attr=False)
        self.key_conv = Conv2D(channels, key_channels, 1)
        self.query_conv = Conv2D(channels, key_channels, 1)
        constant = nn.initializer.Constant
        self.sampling_weight = self.create_parameter([1], default_initializer=constant(0.1))  # t
        self.residual_weight = self.create_parameter([1], default_initializer=constant(0.0))  # rho
        self.region_gamma = self.create_parameter([num_entities, channels], default_initializer=constant(1.0))
        self.region_beta = self.create_parameter([num_entities, channels], default_initializer=constant(0.0))
        self.last_layout = None

    def sampling_active(self) -> bool:
        return self.training or self.eval_sampling == "strided"

    def sample_positions(self, batch: int, num_positions: int) -> paddle.Tensor:
        """Indices [B, n] (int64) into the num_positions of the flattened pooled key map."""
        n = self.num_entities
        if not self.training:
            strided = paddle.linspace(0, num_positions - 1, n).round().astype("int64")  # [n]
            return strided.unsqueeze(0).expand([batch, n])
        if num_positions >= n:
            # argsort of i.i.d. uniforms is a uniformly random permutation per image.
            return paddle.rand([batch, num_positions]).argsort(axis=1)[:, :n]
        return paddle.randint(0, num_positions, [batch, n], dtype="int64")

    def self_sampling_activation(self, x: paddle.Tensor) -> paddle.Tensor:
        """F [B, n, HW]: the query at every position against the keys of n sampled points."""
        batch, _, height, width = x.shape
        keys = self.key_conv(x)
        if self.pool > 1:
            keys = F.max_pool2d(keys, self.pool, self.pool, ceil_mode=True)
        num_positions = keys.shape[2] * keys.shape[3]
        keys = keys.reshape([batch, self.key_channels, num_positions]).transpose([0, 2, 1])  # [B, P, C_k]
        positions = self.sample_positions(batch, num_positions)  # [B, n]
        index = positions.unsqueeze(-1).expand([batch, self.num_entities, self.key_channels])
        sampled_keys = paddle.take_along_axis(keys, index, axis=1)  # [B, n, C_k]
        queries = self.query_conv(x).reshape([batch, self.key_channels, height * width])  # [B, C_k, HW]
        return paddle.matmul(sampled_keys, queries)  # [B, n, HW]

    def soft_layout(self, x: paddle.Tensor) -> paddle.Tensor:
        """A = softmax((t * F + f(x)) / tau) over the regions: [B, n, H, W]."""
        batch, _, height, width = x.shape
        raw_layout = self.entity_conv(x)  # [B, n, H, W]
        if self.sampling_active():
            activation = self.self_sampling_activation(x).reshape([batch, self.num_entities, height, width])
            raw_layout = raw_layout + self.sampling_weight * activation
        return F.softmax(raw_layout / self.tau, axis=1)

    def regularization(self) -> paddle.Tensor:
        """Orthogonality penalty of the n entity filters (scalar, unweighted)."""
        return orthogonality_penalty(self.entity_conv.weight.reshape([self.num_entities, self.channels]))

    def forward(self, x: paddle.Tensor, return_layout: bool = False):
        """x [B, C, H, W] -> x + rho * x_hat [B, C, H, W] (and the layout [B, n, H, W] if asked)."""
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"AttentiveNorm expects [B, {self.channels}, H, W], got {list(x.shape)}")
        layout = self.soft_layout(x)
        normalized = regional_instance_norm(x, layout, self.region_gamma, self.region_beta, self.eps)
        # A plain attribute: Layer.__setattr__ would register a tensor as a buffer
        # (moved, synchronised and exported with the network).
        object.__setattr__(self, "last_layout", layout.detach())
        out = x + self.residual_weight * normalized
        return (out, layout) if return_layout else out


def attentive_norm_layers(network: nn.Layer) -> list:
    """Every AttentiveNorm in ``network`` (itself included)."""
    return [layer for layer in network.sublayers(include_self=True) if isinstance(layer, AttentiveNorm)]


def attentive_norm_regularization(network: nn.Layer) -> paddle.Tensor:
    """Sum of ``regularization()`` over every AttentiveNorm in ``network``; 0 if none."""
    terms = [layer.regularization() for layer in attentive_norm_layers(network)]
    return paddle.add_n(terms) if terms else paddle.zeros([], dtype="float32")
