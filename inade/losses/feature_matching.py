from __future__ import annotations


def feature_matching_loss(fake_features, real_features, lambda_feat: float = 10.0, last_only: bool = True):
    """L1 between the discriminator's intermediate features of fake and real.

    Per scale, the final prediction is excluded. ``last_only`` keeps only the
    last intermediate feature (INADE's choice; SPADE uses all of them). The
    real features are treated as constants. Weighted by lambda_feat / num_scales.
    """
    num_scales = len(fake_features)
    total = 0.0
    for fake_scale, real_scale in zip(fake_features, real_features):
        intermediate = list(zip(fake_scale[:-1], real_scale[:-1]))
        if last_only:
            intermediate = intermediate[-1:]
        for fake, real in intermediate:
            total = total + (fake - real.detach()).abs().mean()
    return total * (lambda_feat / num_scales)
