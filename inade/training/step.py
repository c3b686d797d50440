"""One training iteration: a generator (+ encoder) step, then a discriminator step."""
from __future__ import annotations

import paddle

from ..errors import InadeError
from ..losses import (
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    inade_kld_loss,
    kld_loss,
    pooled_l1_loss,
    vgg_loss,
)
from ..layers.attentive_norm import attentive_norm_layers, attentive_norm_regularization
from ..losses.vgg import VGG_LAYER_WEIGHTS
from ..networks.freeze import frozen
from ..networks.noise import remap_noise, sample_instance_noise
from ..paddle_private import optimizer_parameters
from .distributed import average_gradients
from .precision import FULL_PRECISION


def split_predictions(outputs):
    """Features of a [fake; real] batch -> (fake features, real features)."""
    fake, real = [], []
    for scale in outputs:
        half = scale[0].shape[0] // 2
        fake.append([t[:half] for t in scale])
        real.append([t[half:] for t in scale])
    return fake, real


def discriminate(discriminator, semantics, fake, real):
    pair = paddle.concat(
        [paddle.concat([semantics, fake], axis=1), paddle.concat([semantics, real], axis=1)], axis=0
    )
    return split_predictions(discriminator(pair))


# The generator step's loss terms in the order they are summed.
TERM_ORDER = ("G_GAN", "G_Feat", "KLD", "VGG", "AN_G", "L1")


def posterior_rows(batch: int, prior_fraction: float) -> int:
    """How many leading rows of a batch take their style from the encoder; the
    rest are prior samples. At least one row stays with the encoder so that it
    trains every iteration."""
    return max(1, batch - int(round(batch * prior_fraction)))


def leading(tensor, rows):
    """The first ``rows`` images of a batch (the tensor itself when that is all of it)."""
    return tensor if rows == tensor.shape[0] else tensor[:rows]


def encode_noise(generator, encoder, image, instances, rows):
    """Instance noise for a training forward [B, K, 2, nc]: the first ``rows``
    images' noise is remapped onto the encoder's distributions (whose KLD
    inputs are returned too), the rest stays prior noise."""
    batch, num_instances = instances.shape[:2]
    eps = sample_instance_noise(batch, num_instances, generator.noise_nc, image.dtype)
    if encoder is None:
        return eps, None
    stats = encoder(leading(image, rows), leading(instances, rows))
    noise = remap_noise(leading(eps, rows), *stats)
    if rows < batch:
        noise = paddle.concat([noise, eps[rows:]], axis=0)
    return noise, stats


def encode_z(encoder, image, rows):
    """GauGAN's z [B, z_dim] and its (mu, logvar): drawn from the photo's encoded
    distribution for the first ``rows`` images, from the prior for the rest."""
    mu, logvar = encoder(leading(image, rows))
    z = paddle.randn(mu.shape, dtype=mu.dtype) * paddle.exp(0.5 * logvar) + mu
    if rows < image.shape[0]:
        z = paddle.concat([z, paddle.randn([image.shape[0] - rows, mu.shape[1]], dtype=mu.dtype)], axis=0)
    return z, (mu, logvar)


def leading_rows(predictions, rows):
    """The discriminator's per-scale feature lists cut to the first ``rows`` images."""
    return [[leading(t, rows) for t in scale] for scale in predictions]


def style_inputs(generator, encoder, loss_cfg, image, instances, rows):
    """The generator's style inputs for a training forward, (instance noise,
    z, KLD terms): the first ``rows`` images' styles come from the encoder
    (with the KLD term when loss.lambda_kld), the rest from the prior."""
    if generator.per_instance_styles:
        noise, stats = encode_noise(generator, encoder, image, instances, rows)
        kld = inade_kld_loss(*stats, lambda_kld=loss_cfg.lambda_kld) if stats is not None and loss_cfg.lambda_kld else None
        return noise, None, ({"KLD": kld} if kld is not None else {})
    if encoder is None:
        return None, None, {}
    z, (mu, logvar) = encode_z(encoder, image, rows)  # GauGAN: z drawn from the photo's encoded distribution
    return None, z, ({"KLD": kld_loss(mu, logvar) * loss_cfg.lambda_kld} if loss_cfg.lambda_kld else {})


def reconstruction_losses(generator, loss_cfg, vgg, rebuilt, photo):
    """The VGG and weight-free L1 terms between encoder-driven fakes and their
    photos (the configuration allows L1 only with an encoder)."""
    losses = {}
    if vgg is not None and loss_cfg.lambda_vgg:
        weights = VGG_LAYER_WEIGHTS[generator.norm_kind.vgg_recipe]
        losses["VGG"] = vgg_loss(vgg, rebuilt, photo, weights) * loss_cfg.lambda_vgg
    if loss_cfg.lambda_l1:
        losses["L1"] = pooled_l1_loss(rebuilt, photo, loss_cfg.l1_pool, loss_cfg.l1_chromaticity_weight,
                                      loss_cfg.l1_contrast_weight) * loss_cfg.lambda_l1
    return losses


def generator_losses(nets, loss_cfg, vgg, semantics, instances, image, positional=None):
    """Forward G (and E) and D; returns (fake, dict of weighted loss terms).
    With an encoder, the first rows of the batch are reconstructions of their
    photos and the last ``loss.prior_fraction`` of it prior samples: the
    reconstruction terms (feature matching, VGG, L1, KLD) see only the former."""
    generator, encoder, discriminator = nets
    rows = posterior_rows(image.shape[0], loss_cfg.prior_fraction) if encoder is not None else image.shape[0]
    noise, z, style_losses = style_inputs(generator, encoder, loss_cfg, image, instances, rows)
    fake = generator(semantics, instances, noise, z, positional)
    pred_fake, pred_real = discriminate(discriminator, semantics, fake, image)
    losses = {"G_GAN": generator_adversarial_loss(pred_fake, loss_cfg.gan_mode)}
    if loss_cfg.lambda_feat:
        losses["G_Feat"] = feature_matching_loss(
            leading_rows(pred_fake, rows), leading_rows(pred_real, rows), loss_cfg.lambda_feat, last_only=loss_cfg.feature_matching == "last"
        )
    if loss_cfg.lambda_an and attentive_norm_layers(generator):
        losses["AN_G"] = attentive_norm_regularization(generator) * loss_cfg.lambda_an
    losses.update(style_losses)
    losses.update(reconstruction_losses(generator, loss_cfg, vgg, leading(fake, rows), leading(image, rows)))
    # A fixed order: the terms are summed in it, and float sums depend on order.
    return fake, {name: losses[name] for name in TERM_ORDER if name in losses}


def discriminator_losses(discriminator, loss_cfg, semantics, fake, image):
    pred_fake, pred_real = discriminate(discriminator, semantics, fake.detach(), image)
    losses = {
        "D_Fake": discriminator_loss(pred_fake, False, loss_cfg.gan_mode),
        "D_Real": discriminator_loss(pred_real, True, loss_cfg.gan_mode),
    }
    if loss_cfg.lambda_an and attentive_norm_layers(discriminator):
        losses["AN_D"] = attentive_norm_regularization(discriminator) * loss_cfg.lambda_an
    return losses


def require_gradients(params, networks: str) -> None:
    """The merged (multi-tensor) Adam pairs its parameter list, fixed at the
    first step, with this step's gradients: a parameter without one would
    shift every update after it."""
    missing = [p.name for p in params if p.grad is None]
    if missing:
        raise InadeError(
            f"{len(missing)} parameters of the {networks} received no gradient this iteration "
            f"({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}); every trained parameter must take "
            f"part in the loss")


def apply_gradients(optimizer, networks: str, update=None) -> None:
    """Average this step's gradients across processes, check every parameter
    of ``optimizer`` has one, then update (``update()``: by default optimizer.step())."""
    params = optimizer_parameters(optimizer)
    average_gradients(params)
    require_gradients(params, networks)
    (update or optimizer.step)()


def train_step(nets, optimizers, loss_cfg, vgg, semantics, instances, image, positional=None,
               precision=FULL_PRECISION):
    """One iteration. The D step reuses the G step's fake (detached) rather than
    running the generator again as the reference does: the same schedule
    (G step, then D step on a detached fake) for one generator forward less.
    ``positional``: CLADE's intra-class positional map when the generator takes one.
    ``precision``: the forwards' precision (inade.training.precision, optim.amp).
    Returns the fake and every loss term as a float."""
    discriminator = nets[2]
    opt_g, opt_d = optimizers
    # The last iteration's gradients are released, not zeroed, before this
    # forward: the peak memory is in the G step, and the generator's gradients
    # are a large part of it at the paper setting (docs/performance_history.md).
    opt_g.clear_grad(set_to_zero=False)
    opt_d.clear_grad(set_to_zero=False)

    # The G step needs gradients through D, not for D's weights: freezing them
    # skips D's weight gradients there (the D step computes its own).
    with frozen(optimizer_parameters(opt_d)):
        with precision.autocast():
            fake, g_losses = generator_losses(nets, loss_cfg, vgg, semantics, instances, image, positional)
            g_total = sum(g_losses.values())
        precision.backward(g_total, "G")
    apply_gradients(opt_g, "generator and encoder", lambda: precision.step(opt_g, "G"))

    with precision.autocast():
        d_losses = discriminator_losses(discriminator, loss_cfg, semantics, fake, image)
        d_total = sum(d_losses.values())
    precision.backward(d_total, "D")
    apply_gradients(opt_d, "discriminator", lambda: precision.step(opt_d, "D"))

    values = {name: float(value) for name, value in {**g_losses, **d_losses}.items()}
    return precision.full(fake.detach()), values
