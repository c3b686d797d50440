"""Adversarial losses over multi-scale discriminator outputs.

``predictions`` is what MultiscaleDiscriminator returns: a list over scales of
lists of features whose last entry is the patch prediction. Each scale's loss
is a mean over its patch map; scales are averaged.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F

GAN_MODES = ("hinge", "ls", "original", "w")


def _final_maps(predictions):
    return [scale[-1] if isinstance(scale, (list, tuple)) else scale for scale in predictions]


def _check_mode(gan_mode):
    if gan_mode not in GAN_MODES:
        raise ValueError(f"gan_mode must be one of {GAN_MODES}, got {gan_mode!r}")


def _scale_loss(pred, target_is_real: bool, gan_mode: str, for_discriminator: bool):
    if gan_mode == "hinge":
        if not for_discriminator:
            return -pred.mean()
        return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
    if gan_mode == "ls":
        return ((pred - (1.0 if target_is_real else 0.0)) ** 2).mean()
    if gan_mode == "original":
        target = paddle.full_like(pred, 1.0 if target_is_real else 0.0)
        return F.binary_cross_entropy_with_logits(pred, target)
    return -pred.mean() if target_is_real else pred.mean()  # Wasserstein


def discriminator_loss(predictions, target_is_real: bool, gan_mode: str = "hinge"):
    """The discriminator's loss on real (target_is_real) or fake predictions."""
    _check_mode(gan_mode)
    maps = _final_maps(predictions)
    return sum(_scale_loss(p, target_is_real, gan_mode, True) for p in maps) / len(maps)


def generator_adversarial_loss(predictions, gan_mode: str = "hinge"):
    """The generator's loss on the discriminator's predictions of its fakes."""
    _check_mode(gan_mode)
    maps = _final_maps(predictions)
    return sum(_scale_loss(p, True, gan_mode, False) for p in maps) / len(maps)
