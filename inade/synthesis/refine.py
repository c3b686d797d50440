"""Refining encoded styles against their photo by gradient descent on the codes.

The encoder maps a photo to codes in one pass; on the procedural data the
shipped generator can render an instance's hue more exactly than the
encoder's codes ask for (README, "The shipped model"). A few dozen Adam steps
on the instance codes, starting from the encoded ones, with the generator
fixed, close part of that gap: GAN inversion seeded by the encoder. The
network weights do not change.
"""
from __future__ import annotations

import numpy as np
import paddle

from ..errors import InadeError
from ..losses.reconstruction import pooled_l1_loss
from ..networks.freeze import frozen
from .scene import Scene, load_image
from .styles import Styles

# Match colours, shading and hue (chromaticity) at half resolution; stripes'
# phase is left to the codes' own texture, as in training.
REFINE_POOL = 2
REFINE_CHROMATICITY_WEIGHT = 8.0


def refine_styles(synth, scene: Scene, image, styles: Styles, steps: int, learning_rate: float = 0.05) -> Styles:
    """``styles`` with every instance code moved, by ``steps`` Adam steps, to
    make ``synth``'s rendering of ``scene`` closer to ``image`` (a photo of it)."""
    if steps < 0:
        raise InadeError(f"refinement steps must be >= 0, got {steps}")
    if steps == 0:
        return styles
    synth._require_instance_styles("refining codes towards a photo")
    photo = synth._tensor(load_image(image, synth.size)[None])  # [1, 3, H, W]
    semantics, instances = synth._tensors(scene, 1)
    positional = synth._positional(scene)
    z = synth._tensor(styles.z[None])
    codes = synth._noise_tensor(scene, [styles])  # [1, K, 2, nc], a fresh leaf
    codes.stop_gradient = False
    optimizer = paddle.optimizer.Adam(learning_rate, parameters=[codes])
    with frozen(synth.generator.parameters()):  # gradients for the codes only
        for _ in range(steps):
            fake = synth.generator(semantics, instances, codes, z, positional)
            pooled_l1_loss(fake, photo, REFINE_POOL, REFINE_CHROMATICITY_WEIGHT).backward()
            optimizer.step()
            optimizer.clear_grad()
    out = styles.copy()
    refined = codes.numpy()[0]
    for k, raw_id in enumerate(scene.instance_ids):
        out.noise[int(raw_id)] = refined[k].astype(np.float32)
    return out
