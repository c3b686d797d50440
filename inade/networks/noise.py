"""Per-instance style noise: drawing it and remapping it onto encoded distributions."""
from __future__ import annotations

import paddle


def sample_instance_noise(batch: int, num_instances: int, noise_nc: int, dtype="float32") -> paddle.Tensor:
    """Prior noise, one code per instance and path (scale, bias): [B, K, 2, noise_nc]."""
    return paddle.randn([batch, num_instances, 2, noise_nc], dtype=dtype)


def remap_noise(eps, scale_mu, scale_logvar, bias_mu, bias_logvar) -> paddle.Tensor:
    """Prior noise remapping: eps [B, K, 2, nc] -> eps * sigma + mu per instance,
    with sigma = exp(logvar / 2); the encoder outputs are [B, K, nc]."""
    scale = eps[:, :, 0] * paddle.exp(0.5 * scale_logvar) + scale_mu
    shift = eps[:, :, 1] * paddle.exp(0.5 * bias_logvar) + bias_mu
    return paddle.stack([scale, shift], axis=2)  # [B, K, 2, nc]
