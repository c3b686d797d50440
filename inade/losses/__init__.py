"""Losses as pure functions of tensors; the trainer composes them."""
from .adversarial import GAN_MODES, discriminator_loss, generator_adversarial_loss
from .feature_matching import feature_matching_loss
from .kld import inade_kld_loss, kld_loss
from .reconstruction import pooled_l1_loss
from .vgg import VGG19Features, VGG_LAYER_WEIGHTS, load_vgg19, vgg_loss

__all__ = [
    "GAN_MODES",
    "discriminator_loss",
    "generator_adversarial_loss",
    "feature_matching_loss",
    "kld_loss",
    "inade_kld_loss",
    "pooled_l1_loss",
    "VGG19Features",
    "VGG_LAYER_WEIGHTS",
    "load_vgg19",
    "vgg_loss",
]
