"""The networks' leaky ReLU."""
import paddle
import paddle.nn.functional as F


def leaky_relu(x: paddle.Tensor, negative_slope: float = 0.2) -> paddle.Tensor:
    """F.leaky_relu; inside a saved (static) graph written as max(x, slope * x),
    the same values for 0 <= slope <= 1: Paddle Inference's oneDNN pass that
    fuses a convolution with a following leaky_relu crashes on exported programs."""
    if paddle.in_dynamic_mode():
        return F.leaky_relu(x, negative_slope)
    return paddle.maximum(x, x * negative_slope)
