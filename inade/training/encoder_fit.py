"""The encoder-fitting stage: after the adversarial iterations, the encoder
alone learns to reconstruct photos through the finished, fixed generator.

In adversarial training the encoder's reconstruction pressure competes with
the KLD, which pulls every instance's mean towards the prior, and it chases a
generator that keeps changing. Once the generator is fixed the prior it
samples from no longer depends on the encoder, so this stage fits the means
alone, at the encoder's means (as Synthesizer.reconstruct uses them), with no
KLD: on the procedural data it lowers the reconstruction error where fits that
kept the KLD did not (docs/recipe_history.md, run R7 and the stage's runs).
The generator and discriminator do not change in this stage.
"""
from __future__ import annotations

import paddle

from ..networks.freeze import frozen
from .step import apply_gradients, reconstruction_losses


def encoded_means(generator, encoder, image, instances):
    """The generator's style inputs at the encoder's means, as
    Synthesizer.reconstruct uses them: (instance noise [B, K, 2, nc], None)
    with per-instance styles (INADE), (None, z [B, z_dim]) for an image-level encoder."""
    if generator.per_instance_styles:
        scale_mu, _, bias_mu, _ = encoder(image, instances)
        return paddle.stack([scale_mu, bias_mu], axis=2), None
    return None, encoder(image)[0]


def encoder_fit_losses(generator, encoder, loss_cfg, vgg, semantics, instances, image, positional=None):
    """Every image of the batch rebuilt from its photo's encoded means:
    (fake, the VGG and L1 terms). No KLD: with the generator fixed, the
    prior it samples from no longer depends on the encoder, and the KLD's
    pull of every mean towards 0 is what held the reconstructions back
    (docs/recipe_history.md). The variances are not refit."""
    noise, z = encoded_means(generator, encoder, image, instances)
    fake = generator(semantics, instances, noise, z, positional)
    return fake, reconstruction_losses(generator, loss_cfg, vgg, fake, image)


def encoder_fit_step(generator, encoder, optimizer, loss_cfg, vgg, semantics, instances, image, positional=None):
    """One encoder update against the fixed generator, which runs as it samples
    (eval mode: batch norm uses its running statistics). Returns (fake, losses)."""
    generator.eval()
    encoder.train()
    optimizer.clear_grad(set_to_zero=False)
    with frozen(generator.parameters()):
        fake, losses = encoder_fit_losses(generator, encoder, loss_cfg, vgg, semantics, instances, image, positional)
        sum(losses.values()).backward()
    apply_gradients(optimizer, "encoder")
    return fake.detach(), {name: float(value) for name, value in losses.items()}


def build_encoder_optimizer(encoder, learning_rate: float) -> paddle.optimizer.Optimizer:
    """Adam with its usual betas over the parameters the means depend on (no
    adversary to balance in this stage, and no loss on the variances). Its
    own name keeps its moment tensors' names apart from the generator
    optimiser's (which holds the same encoder parameters): Paddle numbers them
    in creation order, and a run resumed inside this stage creates only these."""
    variances = {id(p) for p in encoder.variance_parameters()}
    params = [p for p in encoder.parameters() if not p.stop_gradient and id(p) not in variances]
    return paddle.optimizer.Adam(learning_rate, parameters=params, use_multi_tensor=True, name="encoder_fit")
