"""The SPADE-style generator, with INADE, SPADE or CLADE normalization (inade.norm_kinds)."""
from __future__ import annotations

import paddle
import paddle.nn as nn

from ..backends.conv import Conv2D
from ..layers.activation import leaky_relu
from ..layers.attentive_norm import AttentiveNorm
from ..backends.narrow_conv import NarrowConv2D
from ..layers.norms import InadeNorm, class_instance_pairs
from ..layers.resize import resize_nearest, upsample_nearest_2x
from ..norm_kinds import NormSettings, kinds_that, norm_kind
from .blocks import ResnetBlock
from .init import init_weights
from .noise import sample_instance_noise

UPSAMPLING_LAYERS = {"normal": 5, "more": 6, "most": 7}


def latent_size(crop_size: int, aspect_ratio: float, num_upsampling_layers: str) -> tuple[int, int]:
    """(height, width) of the generator's first feature map."""
    if num_upsampling_layers not in UPSAMPLING_LAYERS:
        raise ValueError(
            f"num_upsampling_layers must be one of {tuple(UPSAMPLING_LAYERS)}, got {num_upsampling_layers!r}"
        )
    num_up = UPSAMPLING_LAYERS[num_upsampling_layers]
    if crop_size % 2**num_up:
        raise ValueError(
            f"crop_size {crop_size} must be a multiple of {2**num_up} with "
            f"num_upsampling_layers={num_upsampling_layers!r} (the generator doubles its size {num_up} times)"
        )
    width = crop_size // 2**num_up
    height = round(width / aspect_ratio)
    if height < 1:
        raise ValueError(f"aspect_ratio {aspect_ratio} leaves no rows at crop_size {crop_size}")
    return height, width


class Generator(nn.Layer):
    """Label map (+ instances and their styles) -> image in [-1, 1].

    Args:
        num_classes: class channels of the semantic map (label_nc, +1 with a
            don't-care label); the semantic input has one more, the instance edges.
        norm_mode: a name of inade.norm_kinds.NORM_KINDS: ``inade``
            (instance-adaptive), ``spade`` or ``clade`` (class-adaptive).
        use_z: start from the image noise z through a linear layer (always for
            a kind with ``always_image_noise``, INADE; SPADE and CLADE with their
            image encoder); otherwise from the downsampled map.
        positional: the intra-class positional map as one more input (a kind
            with ``takes_positional_map``, CLADE).
        instance_edges: the semantic map ends with the instance edge channel
            (false for models trained with the reference's --no_instance).
        spade_hidden: hidden channels of SPADE norms (128 in the reference).
        recompute_norms: INADE norms over batch norm keep less for the
            backward pass (see inade.backends.fused_norm): all (True), none
            (False) or those with large inputs (None, see InadeNorm.recomputes).
        attentive_norm_width: apply an AttentiveNorm layer (n = attentive_norm_entities)
            after the last block whose output has this width; None for none.
    """

    def __init__(
        self,
        num_classes: int,
        norm_mode: str = "inade",
        ngf: int = 64,
        noise_nc: int = 64,
        z_dim: int = 256,
        crop_size: int = 256,
        aspect_ratio: float = 1.0,
        num_upsampling_layers: str = "normal",
        param_free_norm: str = "batch",
        use_z: bool = True,
        use_spectral: bool = True,
        positional: bool = False,
        instance_edges: bool = True,
        attentive_norm_width: int | None = None,
        attentive_norm_entities: int = 16,
        spade_hidden: int = 128,
        recompute_norms: bool | None = None,
    ):
        super().__init__()
        self.norm_kind = norm_kind(norm_mode)
        if positional and not self.norm_kind.takes_positional_map:
            raise ValueError(f"the intra-class positional map belongs to {kinds_that('takes_positional_map').upper()}, "
                             f"not norm_mode {norm_mode!r}")
        self.positional = positional
        self.num_classes = num_classes
        self.instance_edges = instance_edges
        self.semantic_nc = num_classes + (1 if instance_edges else 0)
        self.noise_nc = noise_nc
        self.z_dim = z_dim
        self.ngf = ngf
        self.use_z = use_z or self.norm_kind.always_image_noise
        self.num_upsampling_layers = num_upsampling_layers
        self.latent_hw = latent_size(crop_size, aspect_ratio, num_upsampling_layers)
        scale = 2 ** UPSAMPLING_LAYERS[num_upsampling_layers]
        self.output_size = (self.latent_hw[0] * scale, self.latent_hw[1] * scale)

        height, width = self.latent_hw
        if self.use_z:
            self.fc = nn.Linear(z_dim, 16 * ngf * height * width)
        else:
            self.fc = Conv2D(self.semantic_nc, 16 * ngf, 3, padding=1)

        settings = NormSettings(num_classes, self.semantic_nc, noise_nc, param_free_norm, positional, instance_edges,
                                spade_hidden)
        extra_channels = 1 if self.norm_kind.appends_edge_channel and instance_edges else 0

        def block(fin, fout):
            return ResnetBlock(fin, fout, lambda channels: self.norm_kind.make_norm(channels, settings), use_spectral,
                               extra_channels)

        self.head_0 = block(16 * ngf, 16 * ngf)
        self.G_middle_0 = block(16 * ngf, 16 * ngf)
        self.G_middle_1 = block(16 * ngf, 16 * ngf)
        self.up_0 = block(16 * ngf, 8 * ngf)
        self.up_1 = block(8 * ngf, 4 * ngf)
        self.up_2 = block(4 * ngf, 2 * ngf)
        self.up_3 = block(2 * ngf, ngf)
        final_nc = ngf
        if num_upsampling_layers == "most":
            self.up_4 = block(ngf, ngf // 2)
            final_nc = ngf // 2
        self.conv_img = NarrowConv2D(final_nc, 3, 3, padding=1)
        self.block_plan = self._block_plan()
        self.attentive_after = None
        if attentive_norm_width is not None:
            self.attentive_after, channels = self._attentive_position(attentive_norm_width)
            self.attentive_norm = AttentiveNorm(channels, attentive_norm_entities)
        for layer in self.sublayers():
            if isinstance(layer, InadeNorm):
                layer.recompute = recompute_norms
        init_weights(self)

    @property
    def per_instance_styles(self) -> bool:
        """Whether it takes a style code per instance (instance map and noise), or one image-level z."""
        return self.norm_kind.per_instance_styles

    def _block_plan(self):
        """(block name, upsample before it, output width, output channels) in forward order."""
        width, plan = self.latent_hw[1], []
        names = ["head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_3"]
        names += ["up_4"] if self.num_upsampling_layers == "most" else []
        for name in names:
            upsample = name != "head_0" and (name != "G_middle_1" or self.num_upsampling_layers in ("more", "most"))
            width *= 2 if upsample else 1
            plan.append((name, upsample, width, getattr(self, name).fout))
        return tuple(plan)

    def _attentive_position(self, width: int):
        at_width = [(name, channels) for name, _, w, channels in self.block_plan if w == width]
        if not at_width:
            widths = sorted({w for _, _, w, _ in self.block_plan})
            raise ValueError(f"attentive_norm_width {width} is not a width the generator's blocks produce: {widths}")
        return at_width[-1]

    def check_inputs(self, semantics, instances, instance_noise, z, positional=None):
        if semantics.ndim != 4 or semantics.shape[1] != self.semantic_nc:
            raise ValueError(
                f"semantic map must be [B, {self.semantic_nc}, H, W] ({self.num_classes} class channels"
                f"{' + instance edges' if self.instance_edges else ''}), got shape {list(semantics.shape)}"
            )
        if self.per_instance_styles:
            if instances is None:
                raise ValueError(f"{self.norm_kind.name.upper()} needs the instance one-hot map [B, K, H, W]")
            if list(instances.shape[2:]) != list(semantics.shape[2:]) or instances.shape[0] != semantics.shape[0]:
                raise ValueError(
                    f"instance map {list(instances.shape)} does not match the semantic map "
                    f"{list(semantics.shape)} in batch or size"
                )
            expected = [semantics.shape[0], instances.shape[1], 2, self.noise_nc]
            if instance_noise is not None and list(instance_noise.shape) != expected:
                raise ValueError(f"instance noise must have shape {expected}, got {list(instance_noise.shape)}")
        if self.positional:
            expected = [semantics.shape[0], 2, *semantics.shape[2:]]
            if positional is None or list(positional.shape) != expected:
                got = None if positional is None else list(positional.shape)
                raise ValueError(f"this CLADE generator needs the intra-class positional map {expected}, got {got}")
        if z is not None and list(z.shape) != [semantics.shape[0], self.z_dim]:
            raise ValueError(f"image noise z must have shape {[semantics.shape[0], self.z_dim]}, got {list(z.shape)}")

    def forward(self, semantics, instances=None, instance_noise=None, z=None, positional=None):
        """semantics [B, num_classes+1, H, W]; instances [B, K, H, W] one-hot;
        instance_noise [B, K, 2, noise_nc] (drawn from N(0, I) when None);
        z [B, z_dim] (drawn when None); positional [B, 2, H, W] for a CLADE
        generator built with ``positional``. Returns [B, 3, *output_size]."""
        if paddle.in_dynamic_mode():  # exported graphs get their shapes from the input specs
            self.check_inputs(semantics, instances, instance_noise, z, positional)
        batch = semantics.shape[0]
        height, width = self.latent_hw
        if self.use_z:
            if z is None:
                z = paddle.randn([batch, self.z_dim], dtype=semantics.dtype)
            x = self.fc(z).reshape([batch, 16 * self.ngf, height, width])
        else:
            x = self.fc(resize_nearest(semantics, (height, width)))
        if self.per_instance_styles and instance_noise is None:
            instance_noise = sample_instance_noise(batch, instances.shape[1], self.noise_nc, semantics.dtype)
        pairs = class_instance_pairs(semantics, instances, self.num_classes) if self.per_instance_styles else None
        pairs_here = pairs

        for name, upsample, _, _ in self.block_plan:
            x = upsample_nearest_2x(x) if upsample else x
            if pairs is not None and pairs_here[0].shape[2:] != x.shape[2:]:
                # the masks resized once per resolution (from the full-size ones),
                # shared by every norm there instead of resized by each
                pairs_here = (resize_nearest(pairs[0], x.shape[2:]), *pairs[1:])
            x = getattr(self, name)(x, semantics, instances, instance_noise, positional, pairs_here)
            if name == self.attentive_after:
                x = self.attentive_norm(x)
        return paddle.tanh(self.conv_img(leaky_relu(x, 0.2, overwrite=True)))
