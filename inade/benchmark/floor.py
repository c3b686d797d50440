"""The convolution floor: how long a measured call's convolutions take on
their own, each timed in isolation with the kernel the layer runs (conv2d:
oneDNN's or Paddle's; few_outputs_conv2d for the narrow layers), forward and
backward for the gradients the call needed.

No implementation built on these convolution kernels can run the call in
less time than this sum (short of doing less convolution work), so it bounds
what speed targets are reachable here; the gap between it and the measured
time is everything else (norms, activations, resizing, losses, optimisers,
allocation).
"""
from __future__ import annotations

import collections

import paddle

from ..backends.conv import conv2d
from ..backends.narrow_conv import few_outputs_conv2d
from .flops import ConvSignature
from .timing import median_seconds


def _conv_call(signature: ConvSignature):
    """A function that runs one convolution of ``signature`` forward and, when
    any operand is differentiated, backward."""
    x = paddle.randn(list(signature.input_shape))
    w = paddle.randn(list(signature.weight_shape)) * 0.01
    b = paddle.zeros(signature.weight_shape[:1]) if signature.bias else None
    x.stop_gradient, w.stop_gradient = not signature.input_grad, not signature.weight_grad
    wanted = [t for t in (x, w) if not t.stop_gradient]
    upstream = None

    def run():
        nonlocal upstream
        if signature.narrow:
            y = few_outputs_conv2d(x, w, b, padding=signature.padding[0])
        else:
            y = conv2d(x, w, b, stride=signature.stride, padding=signature.padding, groups=signature.groups)
        outputs = [y]
        if wanted:
            if upstream is None:
                upstream = paddle.ones_like(y)
            outputs = paddle.grad([y], wanted, grad_outputs=[upstream])
        # one element read back waits for the result without copying it all
        return [float(t.reshape([-1])[0]) for t in outputs]

    return run


def convolution_floor(signatures, runs: int = 3, warmup: int = 1) -> dict:
    """{"seconds": the sum over calls, "calls": how many, "shapes": distinct
    shapes timed}. Each distinct signature is timed once (median of ``runs``)
    and counted as often as it occurs."""
    counts = collections.Counter(signatures)
    seconds = 0.0
    for signature, count in counts.items():
        with paddle.set_grad_enabled(True):
            seconds += count * median_seconds(_conv_call(signature), runs, warmup)
    return {"seconds": seconds, "calls": sum(counts.values()), "shapes": len(counts)}
