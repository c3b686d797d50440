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
