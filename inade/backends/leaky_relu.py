"""Leaky ReLU that keeps its output instead of its input for the backward
(the onednn backend's).

Paddle's op keeps its input x for the backward. In the networks every leaky
ReLU feeds a convolution, which keeps the ReLU's output anyway, so keeping x
holds one more activation-sized tensor per activation until the backward
(about 0.1 GB at the paper setting, where the generator's training peak is).
For a slope in (0, 1] the output has the input's sign, so the gradient (1
where positive, the slope elsewhere) reads the same from the output: the same
kernel, the same values, bit for bit.
"""
from __future__ import annotations

import paddle
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from ..paddle_private import leaky_relu_gradient
from .recording import records_gradient


class _LeakyReluKeepingOutput(PyLayer):
    @staticmethod
    def forward(ctx, x, negative_slope):
        out = F.leaky_relu(x, negative_slope)
        ctx.save_for_backward(out)
        ctx.negative_slope = negative_slope
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensor()
        return leaky_relu_gradient(out, grad, ctx.negative_slope)


def applies(x: paddle.Tensor, negative_slope: float) -> bool:
    """Whether leaky_relu_keeping_output differs from F.leaky_relu here: in a
    dynamic-graph forward that records a gradient, with a slope whose output
    keeps the input's sign."""
    return paddle.in_dynamic_mode() and records_gradient(x) and 0.0 < negative_slope <= 1.0


def leaky_relu_keeping_output(x: paddle.Tensor, negative_slope: float) -> paddle.Tensor:
    """F.leaky_relu(x, negative_slope) whose backward keeps the output, not x."""
    if not applies(x, negative_slope):
        return F.leaky_relu(x, negative_slope)
    return _LeakyReluKeepingOutput.apply(x, negative_slope)
