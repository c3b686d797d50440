import paddle.nn.functional as F

# Keeps chromaticity finite on black pixels; small beside the grey level of any
# pixel a photo shows in colour (channel sum in [0, 3]).
_CHROMATICITY_EPSILON = 0.1


def chromaticity(images):
    """Each pixel's colour divided by its channel sum, for images in [-1, 1]:
    invariant to brightness, so it moves with hue and saturation only."""
    positive = (images + 1.0) * 0.5
    return positive / (positive.sum(axis=1, keepdim=True) + _CHROMATICITY_EPSILON)


# Keeps the gradient of a local standard deviation finite on flat windows.
_CONTRAST_EPSILON = 1e-4


def local_contrast(images, window: int):
    """Each channel's standard deviation over non-overlapping ``window`` x
    ``window`` squares [B, C, H/window, W/window]: how strongly the image
    varies there (stripes, grain), whatever the pattern's phase."""
    mean = F.avg_pool2d(images, window)
    variance = F.avg_pool2d(images * images, window) - mean * mean
    return (variance.clip(min=0.0) + _CONTRAST_EPSILON).sqrt()


def pooled_l1_loss(fake, real, pool: int = 1, chromaticity_weight: float = 0.0, contrast_weight: float = 0.0):
    """Mean L1 between fake and real after average pooling by ``pool``, plus
    ``chromaticity_weight`` times the mean L1 between their chromaticities and
    ``contrast_weight`` times the mean L1 between their local contrasts.

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

    Pooling also averages texture away, so the encoder learns nothing of it
    from the first two terms (the VGG loss would see it). Local contrast, the
    standard deviation within each pooling window, measures a texture's
    strength without its phase, which the generator is free to choose.
    """
    if contrast_weight and pool < 2:
        raise ValueError(f"local contrast is measured within pooling windows: it needs pool >= 2, got {pool}")
    real = real.detach()
    contrast = (local_contrast(fake, pool) - local_contrast(real, pool)).abs().mean() if contrast_weight else None
    if pool > 1:
        fake, real = F.avg_pool2d(fake, pool), F.avg_pool2d(real, pool)
    loss = (fake - real).abs().mean()
    if chromaticity_weight:
        loss = loss + chromaticity_weight * (chromaticity(fake) - chromaticity(real)).abs().mean()
    if contrast is not None:
        loss = loss + contrast_weight * contrast
    return loss
