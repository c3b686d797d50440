"""Export the generator (and the style encoder) for Paddle Inference."""
from __future__ import annotations

import copy
import os

import paddle
from paddle.static import InputSpec

from ..atomic import atomic_write_text
from ..networks.spectral import fold_spectral_norm


def export_model(synth, out_dir: str) -> dict:
    """paddle.jit.save the generator (and encoder) with a dynamic batch and
    instance count at the configured size. Returns the written path prefixes.

    generator inputs: semantics [B, C+1, H, W], instances [B, K, H, W],
    instance_noise [B, K, 2, noise_nc], z [B, z_dim]; output image [B, 3, H, W].
    encoder inputs: image [B, 3, H, W], instances [B, K, H, W]; outputs four [B, K, noise_nc].
    """
    height, width = synth.size
    generator = fold_spectral_norm(copy.deepcopy(synth.generator)).eval()
    os.makedirs(out_dir, exist_ok=True)
    paths = {"generator": os.path.join(out_dir, "generator")}
    specs = [
        InputSpec([None, generator.semantic_nc, height, width], "float32", "semantics"),
        InputSpec([None, None, height, width], "float32", "instances"),
        InputSpec([None, None, 2, generator.noise_nc], "float32", "instance_noise"),
        InputSpec([None, generator.z_dim], "float32", "z"),
    ]
    paddle.jit.save(generator, paths["generator"], input_spec=specs)
    if synth.encoder is not None:
        paths["encoder"] = os.path.join(out_dir, "encoder")
        paddle.jit.save(
            synth.encoder,
            paths["encoder"],
            input_spec=[
                InputSpec([None, 3, height, width], "float32", "image"),
                InputSpec([None, None, height, width], "float32", "instances"),
            ],
        )
    atomic_write_text(os.path.join(out_dir, "README.txt"), export_note(synth))
    return paths


def export_note(synth) -> str:
    names = ", ".join(synth.class_names) if synth.class_names else "class ids"
    return (
        f"inade export: generator{' and encoder' if synth.encoder is not None else ''} at "
        f"{synth.size[1]}x{synth.size[0]}\n"
        f"classes ({synth.label_nc}{' + dont care' if synth.contain_dontcare else ''}): {names}\n"
        "Load with paddle.inference (disable oneDNN for exported PIR models on CPU).\n"
    )
