"""Build the networks of a configuration."""
from __future__ import annotations

from ..norm_kinds import norm_kind
from .discriminator import MultiscaleDiscriminator
from .generator import Generator


def build_generator(model, num_classes: int, crop_size: int, aspect_ratio: float) -> Generator:
    """``model`` is a ModelConfig; num_classes counts the don't-care channel if any."""
    return Generator(
        num_classes,
        norm_mode=model.norm_mode,
        ngf=model.ngf,
        noise_nc=model.noise_nc,
        z_dim=model.z_dim,
        crop_size=crop_size,
        aspect_ratio=aspect_ratio,
        num_upsampling_layers=model.num_upsampling_layers,
        param_free_norm=model.param_free_norm,
        use_z=model.use_encoder,
        positional=model.clade_positional,
        instance_edges=model.instance_edges,
        attentive_norm_width=model.attentive_norm_width,
        attentive_norm_entities=model.attentive_norm_entities,
        spade_hidden=model.spade_hidden,
        recompute_norms=model.recompute_norms,
    )


def build_encoder(model, crop_size: int):
    """The style encoder of the configuration, or None without one: its norm
    kind's (INADE's instance-adaptive encoder, GauGAN's global image encoder
    for SPADE and CLADE)."""
    return norm_kind(model.norm_mode).make_encoder(model, crop_size) if model.use_encoder else None


def build_discriminator(model, num_classes: int) -> MultiscaleDiscriminator:
    # semantic one-hot (+ instance edges) + RGB image
    semantic_nc = num_classes + (1 if model.instance_edges else 0)
    return MultiscaleDiscriminator(semantic_nc + 3, attentive_norm_entities=model.attentive_norm_entities
                                   if model.attentive_norm_discriminator else None, ndf=model.ndf, n_layers=model.n_layers_d, num_d=model.num_d)
