"""The generator's normalizations and what a model built with each can do.

One row per kind: the norm layer it puts in every residual block, the style
encoder that goes with it, and its capabilities. The networks expose these
capabilities (``Generator.per_instance_styles``, ``Synthesizer.has_image_encoder``,
...) and the configuration checks, trainer, export and sampling ask them;
nothing else compares kind names. A new normalization is one more row here
(and its layer in inade/layers/norms.py).

The configuration reads this table before anything loads Paddle, so the
factories import their layers when they are called.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Literal


@dataclasses.dataclass(frozen=True)
class NormSettings:
    """What every norm of one generator is built from, besides its channel count."""

    num_classes: int  # class channels of the semantic map (with the don't-care channel if any)
    semantic_nc: int  # the semantic input's channels: classes + the instance edge channel if any
    noise_nc: int
    param_free_norm: str
    positional: bool
    instance_edges: bool
    spade_hidden: int


@dataclasses.dataclass(frozen=True)
class NormKind:
    name: str
    # (channels, NormSettings) -> the conditional norm layer of a residual block
    make_norm: Callable
    # (ModelConfig, crop_size) -> the style encoder trained with this kind
    make_encoder: Callable
    # A style code per instance: the generator takes the instance map and its
    # noise [B, K, 2, noise_nc], and the encoder reads instances. Otherwise one
    # image-level code z, and instance maps only feed the edge channel.
    per_instance_styles: bool
    # The generator starts from the image noise z even without an image
    # encoder; otherwise only a generator trained with its encoder does, and
    # one without starts from the downsampled label map.
    always_image_noise: bool
    # The key of losses.vgg.VGG_LAYER_WEIGHTS: whose release's perceptual-loss layers.
    vgg_recipe: str
    # Accepts CLADE's intra-class positional map as one more input.
    takes_positional_map: bool
    # With instance edges, each norm appends the edge map as one more channel
    # (the convolution after it reads channels + 1), as CLADE's authors do.
    appends_edge_channel: bool
    # Its norms can recompute their activations in the backward (model.recompute_norms).
    recomputable: bool
    # A fragment of a state-dict key that only the authors' release of this kind has.
    release_layer: str


def _inade_norm(channels: int, settings: NormSettings):
    from .layers.norms import InadeNorm

    return InadeNorm(channels, settings.num_classes, settings.noise_nc, settings.param_free_norm)


def _spade_norm(channels: int, settings: NormSettings):
    from .layers.norms import SpadeNorm

    return SpadeNorm(channels, settings.semantic_nc, settings.param_free_norm, hidden_channels=settings.spade_hidden)


def _clade_norm(channels: int, settings: NormSettings):
    from .layers.norms import CladeNorm

    return CladeNorm(channels, settings.num_classes, settings.param_free_norm, instance_edges=settings.instance_edges,
                     positional=settings.positional)


def _instance_encoder(model, crop_size: int):
    """INADE's instance-adaptive encoder (the crop size does not change it)."""
    from .networks.encoder import InstanceAdaptiveEncoder

    return InstanceAdaptiveEncoder(model.ngf, model.noise_nc, colour_statistics=model.encoder_colour_statistics)


def _image_encoder(model, crop_size: int):
    """GauGAN's global image encoder."""
    from .networks.vae_encoder import ConvEncoder

    return ConvEncoder(model.ngf, crop_size, model.z_dim)


NORM_KINDS = {
    kind.name: kind
    for kind in (
        NormKind("inade", _inade_norm, _instance_encoder, per_instance_styles=True, always_image_noise=True,
                 vgg_recipe="inade", takes_positional_map=False, appends_edge_channel=False, recomputable=True,
                 release_layer="fc_noise.weight"),
        NormKind("spade", _spade_norm, _image_encoder, per_instance_styles=False, always_image_noise=False,
                 vgg_recipe="spade", takes_positional_map=False, appends_edge_channel=False, recomputable=False,
                 release_layer=".mlp_shared."),
        NormKind("clade", _clade_norm, _image_encoder, per_instance_styles=False, always_image_noise=False,
                 vgg_recipe="spade", takes_positional_map=True, appends_edge_channel=True, recomputable=False,
                 release_layer=".class_specified_affine."),
    )
}

# The configuration's model.norm_mode: one of the table's names.
NormMode = Literal[tuple(NORM_KINDS)]
# What every kind normalizes with before it modulates (layers.norms.make_param_free_norm).
ParamFreeNorm = Literal["batch", "instance", "syncbatch"]


def norm_kind(name: str) -> NormKind:
    if name not in NORM_KINDS:
        raise ValueError(f"norm_mode must be one of {tuple(NORM_KINDS)}, got {name!r}")
    return NORM_KINDS[name]


def kinds_that(capability: str) -> str:
    """The names of the kinds with ``capability``, for messages: "inade", "spade or clade"."""
    return " or ".join(name for name, kind in NORM_KINDS.items() if getattr(kind, capability))
