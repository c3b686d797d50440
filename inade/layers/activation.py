"""The networks' leaky ReLU."""
import paddle
import paddle.nn.functional as F

from .. import backends
from ..backends.leaky_relu import leaky_relu_keeping_output
from ..backends.recording import records_gradient


def leaky_relu(x: paddle.Tensor, negative_slope: float = 0.2, overwrite: bool = False) -> paddle.Tensor:
    """F.leaky_relu; with the onednn backend its backward keeps the output
    instead of the input (backends/leaky_relu.py: less memory, same values),
    and with ``overwrite`` (x is a temporary nothing else reads) the result is
    written into x where no gradient is recorded (sampling: a fresh
    activation-sized buffer costs a round of page faults, more than the
    arithmetic). Inside a saved (static) graph written as max(x, slope * x),
    the same values for 0 <= slope <= 1: Paddle Inference's oneDNN pass that
    fuses a convolution with a following leaky_relu crashes on exported programs."""
    if not paddle.in_dynamic_mode():
        return paddle.maximum(x, x * negative_slope)
    if backends.fast():
        if overwrite and not records_gradient(x):
            return F.leaky_relu_(x, negative_slope)
        return leaky_relu_keeping_output(x, negative_slope)
    return F.leaky_relu(x, negative_slope)
