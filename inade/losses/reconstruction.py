import paddle.nn.functional as F

# Keeps chromaticity finite on black pixels; small beside the grey level of any
# pixel a photo shows in colour (channel sum in [0, 3]).
_CHROMATICITY_EPSILON = 0.1


def chromaticity(images):
    """Each pixel's colour divided by its channel sum, for images in [-1, 1]:
    invariant to brightness, so it moves with hue and saturation only."""
    positive = (images + 1.0) * 0.5
    return positive / (positive.sum(axis=1, keepdim=True) + _CHROMATICITY_EPSILON)


def pooled_l1_loss(fake, real, pool: int = 1, chromaticity_weight: float = 0.0):
    """Mean L1 between fake and real after average pooling by ``pool``, plus
    ``chromaticity_weight`` times the mean L1 between their chromaticities.

    A weight-free reconstruction term for when the VGG perceptual loss is
    unavailable (no VGG19 weights): with an encoder, the training fake is a
    reconstruction of the real photo, so colour and shading should match.
    Pooling keeps the term to low frequencies, where a per-pixel match is a
    fair demand, and leaves texture phase to the adversarial losses.

    In RGB a hue shift weighs little beside a brightness change of comparable
    size (on the procedural data a quarter of the hue band moves RGB a fifth as
    far as a quarter of the value range), so hue is the first thing a
    reconstruction gives up. Chromaticity ignores brightness and weighs hue
    and saturation on their own.
    """
    if pool > 1:
        fake, real = F.avg_pool2d(fake, pool), F.avg_pool2d(real, pool)
    real = real.detach()
    loss = (fake - real).abs().mean()
    if chromaticity_weight:
        loss = loss + chromaticity_weight * (chromaticity(fake) - chromaticity(real)).abs().mean()
    return loss
