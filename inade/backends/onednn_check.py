"""The check oneDNN passes before its kernels run in a process: the library
loads, its version is one the binding's constants were checked for, and small
convolutions in both layouts the kernels use (channels-last, and NCHW where
the weight is the larger), forward and every gradient, agree with Paddle's
kernel. A wrong constant or calling convention shows up here as a mismatch
(or an error from the library) rather than as silently wrong images later.
"""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F

from . import dnnl
from .onednn import Geometry, _Primitives

CASES = (
    # activations larger than the weight: channels-last kernels, with a bias
    Geometry((2, 4, 10, 9), (8, 4, 3, 3), True, (1, 1), (1, 1), (1, 1, 1, 1)),
    # weight larger than the activations: NCHW kernels, stride, dilation, uneven padding
    Geometry((1, 16, 7, 6), (12, 16, 3, 3), True, (2, 1), (1, 2), (1, 0, 2, 1)),
)
# float32 kernels summing in different orders differ by rounding only
TOLERANCE = 1e-4


def _random(generator, shape):
    # numpy's own generator: the check leaves Paddle's random state as it found it;
    # host memory whatever the default device (oneDNN reads the addresses)
    return paddle.to_tensor(generator.standard_normal(shape).astype("float32"), place=paddle.CPUPlace())


def _paddle_results(x, weight, bias, upstream, geometry):
    """Paddle's output and (input, weight, bias) gradients."""
    with paddle.set_grad_enabled(True):
        operands = [t.detach() for t in (x, weight, bias)]
        for operand in operands:
            operand.stop_gradient = False
        out = F.conv2d(operands[0], operands[1], operands[2], stride=list(geometry.stride), padding=list(geometry.padding),
                       dilation=list(geometry.dilation))
        grads = paddle.grad([out], operands, grad_outputs=[upstream])
    return [out.detach()] + list(grads)


def _mismatch(geometry, generator) -> str | None:
    x, weight = _random(generator, geometry.input_shape), _random(generator, geometry.weight_shape)
    bias = _random(generator, geometry.weight_shape[:1])
    upstream = _random(generator, geometry.output_shape())
    kernels = _Primitives(geometry)
    ours = [kernels.forward(x, weight, bias)] + list(kernels.gradients(upstream, x, weight))
    expected = _paddle_results(x, weight, bias, upstream, geometry)
    for what, got, want in zip(("output", "input gradient", "weight gradient", "bias gradient"), ours, expected):
        got, want = got.numpy(), want.numpy()
        if got.shape != want.shape:
            return f"the {what} has shape {list(got.shape)}, Paddle's {list(want.shape)}"
        error = float(np.abs(got - want).max())
        if not error <= TOLERANCE * max(1.0, float(np.abs(want).max())):  # also catches NaN
            return f"the {what} differs from Paddle's by up to {error:.3g}"
    return None


def failed_check() -> str | None:
    """Why oneDNN must not be used in this process, or None when it passed."""
    try:
        dnnl.load()
        generator = np.random.default_rng(0)
        for geometry in CASES:
            mismatch = _mismatch(geometry, generator)
            if mismatch:
                return f"oneDNN {dnnl.version()} failed its self-check on a {geometry.input_shape} x " \
                       f"{geometry.weight_shape} convolution: {mismatch}"
    except dnnl.Unavailable as error:
        return str(error)
    except RuntimeError as error:  # a oneDNN call returned an error status
        return f"oneDNN {dnnl.version()} failed its self-check: {error}"
    return None
