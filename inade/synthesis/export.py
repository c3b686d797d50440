"""Export the generator (and the style encoder) for Paddle Inference."""
from __future__ import annotations

import copy
import os

import paddle
from paddle.static import InputSpec

from ..atomic import atomic_write_text
from ..networks.spectral import fold_spectral_norm
from .export_graph import fold_inade_batch_norms, give_batch_norms_affine_parameters


class _Inputs(paddle.nn.Layer):
    """Calls ``network`` with only the inputs it uses, by name: a saved graph
    must not have inputs that nothing depends on (SPADE and CLADE ignore the
    instance maps and noise, generators without z ignore z)."""

    def __init__(self, network, names):
        super().__init__()
        self.network = network
        self.names = tuple(names)

    def forward(self, first, second=None, third=None, fourth=None, fifth=None):
        return self.network(**dict(zip(self.names, (first, second, third, fourth, fifth))))


def generator_inputs(generator, height: int, width: int) -> list[InputSpec]:
    """The exported generator's inputs, in order."""
    specs = [InputSpec([None, generator.semantic_nc, height, width], "float32", "semantics")]
    if generator.per_instance_styles:
        specs.append(InputSpec([None, None, height, width], "float32", "instances"))
        specs.append(InputSpec([None, None, 2, generator.noise_nc], "float32", "instance_noise"))
    if generator.use_z:
        specs.append(InputSpec([None, generator.z_dim], "float32", "z"))
    if generator.positional:
        specs.append(InputSpec([None, 2, height, width], "float32", "positional"))
    return specs


def encoder_inputs(encoder, height: int, width: int) -> list[InputSpec]:
    specs = [InputSpec([None, 3, height, width], "float32", "image")]
    if encoder.reads_instances:
        specs.append(InputSpec([None, None, height, width], "float32", "instances"))
    return specs


def export_model(synth, out_dir: str) -> dict:
    """paddle.jit.save the generator (and encoder) with a dynamic batch and
    instance count at the configured size. Returns the written path prefixes.

    generator inputs (those the model uses, in this order): semantics
    [B, C+1, H, W], instances [B, K, H, W] and instance_noise [B, K, 2, noise_nc]
    (INADE), z [B, z_dim] (INADE; SPADE/CLADE with an encoder), positional
    [B, 2, H, W] (CLADE with its positional map); output image [B, 3, H, W].
    encoder inputs: image [B, 3, H, W] (+ instances [B, K, H, W] for INADE's);
    outputs four [B, K, noise_nc] (INADE) or mu, logvar [B, z_dim].
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"generator": save_generator(synth.generator, synth.size, os.path.join(out_dir, "generator"))}
    if synth.encoder is not None:
        paths["encoder"] = save_encoder(synth.encoder, synth.size, os.path.join(out_dir, "encoder"))
    atomic_write_text(os.path.join(out_dir, "README.txt"), export_note(synth))
    return paths


def save_generator(generator, size, prefix: str) -> str:
    """paddle.jit.save a copy of ``generator`` at ``size`` (H, W) to ``prefix``.json/.pdiparams."""
    generator = fold_spectral_norm(copy.deepcopy(generator)).eval()
    generator = give_batch_norms_affine_parameters(fold_inade_batch_norms(generator))
    specs = generator_inputs(generator, *size)
    paddle.jit.save(_Inputs(generator, [s.name for s in specs]), prefix, input_spec=specs)
    return prefix


def save_encoder(encoder, size, prefix: str) -> str:
    encoder = fold_spectral_norm(copy.deepcopy(encoder)).eval()  # GauGAN's encoder has spectral norm
    # the encoders' forward arguments are positional: image, then instances
    paddle.jit.save(encoder, prefix, input_spec=encoder_inputs(encoder, *size))
    return prefix


def export_note(synth) -> str:
    names = ", ".join(synth.class_names) if synth.class_names else "class ids"
    return (
        f"inade export: generator{' and encoder' if synth.encoder is not None else ''} at "
        f"{synth.size[1]}x{synth.size[0]}\n"
        f"classes ({synth.label_nc}{' + dont care' if synth.contain_dontcare else ''}): {names}\n"
        "Load with paddle.inference (inade.synthesis.inference.load_predictor).\n"
    )
