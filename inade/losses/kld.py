import paddle


def kld_loss(mu: paddle.Tensor, logvar: paddle.Tensor) -> paddle.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)), summed over every element (as the reference does)."""
    return -0.5 * paddle.sum(1.0 + logvar - mu.pow(2) - logvar.exp())


def inade_kld_loss(scale_mu, scale_logvar, bias_mu, bias_logvar, lambda_kld: float = 0.05) -> paddle.Tensor:
    """The encoder's KLD term: mean of the scale and bias paths' KLD, times lambda_kld."""
    return (kld_loss(scale_mu, scale_logvar) + kld_loss(bias_mu, bias_logvar)) * (lambda_kld / 2.0)
