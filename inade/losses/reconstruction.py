import paddle.nn.functional as F


def pooled_l1_loss(fake, real, pool: int = 1):
    """Mean L1 between fake and real after average pooling by ``pool``.

    A weight-free reconstruction term for when the VGG perceptual loss is
    unavailable (no VGG19 weights): with an encoder, the training fake is a
    reconstruction of the real photo, so colour and shading should match.
    Pooling keeps the term to low frequencies, where a per-pixel match is a
    fair demand, and leaves texture phase to the adversarial losses.
    """
    if pool > 1:
        fake, real = F.avg_pool2d(fake, pool), F.avg_pool2d(real, pool)
    return (fake - real.detach()).abs().mean()


def local_std_l1_loss(fake, real, window: int = 8):
    """Mean L1 between the standard deviations of fake and real in
    non-overlapping ``window`` x ``window`` blocks, per channel.

    The texture counterpart of ``pooled_l1_loss``: average pooling removes
    stripes and grain, so a reconstruction can match its photo's colours yet be
    flat where the photo is textured. Local contrast is blind to a texture's
    phase (a shifted stripe has the same block statistics), which leaves
    placement to the adversarial losses and asks only for the amount of detail.
    """
    return (_local_std(fake, window) - _local_std(real.detach(), window)).abs().mean()


def _local_std(x, window: int):
    mean = F.avg_pool2d(x, window)
    variance = F.avg_pool2d(x * x, window) - mean * mean
    # the floor keeps sqrt's gradient finite on flat blocks (variance 0)
    return (variance.clip(min=0.0) + 1e-6).sqrt()
