"""The 2-D convolution every inade network runs: Paddle's (F.conv2d) with the
paddle backend, oneDNN's on the CPU with the onednn backend (inade.backends.onednn,
several times faster there than Paddle's own CPU kernel at the generator's sizes).

With the onednn backend Paddle's kernel still runs on GPUs, for other dtypes,
grouped convolutions, padding modes other than zeros, inside exported (static)
graphs, where oneDNN cannot be loaded or failed its check (said once in a
warning), and for shapes oneDNN has only its slow reference kernel for.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .. import backends
from ..paddle_private import conv_settings
from . import onednn


def convolution_kernels() -> str:
    """Which kernel CPU convolutions run now: "oneDNN <version>" or "Paddle"."""
    if backends.fast() and onednn.ready():
        from . import dnnl

        return f"oneDNN {dnnl.version()}"
    return "Paddle"


def pair(value) -> tuple:
    """A conv's stride, dilation or padding per axis as a tuple of ints (an int means both)."""
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else (int(value), int(value))


def _four_sides(padding) -> tuple | None:
    """(top, bottom, left, right) from an int, [ph, pw] or [top, bottom, left, right]."""
    if isinstance(padding, int):
        return (padding,) * 4
    padding = list(padding)
    if len(padding) == 2 and all(isinstance(p, int) for p in padding):
        return padding[0], padding[0], padding[1], padding[1]
    if len(padding) == 4 and all(isinstance(p, int) for p in padding):
        return tuple(padding)
    return None


def onednn_kernels(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """The oneDNN primitives (onednn.primitives) conv2d would run these
    arguments with, or None where it runs Paddle's kernel."""
    sides = _four_sides(padding)
    if (sides is None or groups != 1 or x.ndim != 4 or weight.ndim != 4 or not paddle.in_dynamic_mode()
            or not x.place.is_cpu_place() or not weight.place.is_cpu_place()
            or x.dtype != paddle.float32 or weight.dtype != paddle.float32 or not backends.fast()
            or not onednn.ready()):
        return None
    # oneDNN reads the bias through a raw pointer as Cout float32 values in host
    # memory: anything else is left to Paddle (which converts or refuses it)
    # rather than read as the wrong bytes.
    if bias is not None and (bias.dtype != paddle.float32 or not bias.place.is_cpu_place()
                             or list(bias.shape) != [weight.shape[0]]):
        return None
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: the input has {x.shape[1]} channels, the weight {list(weight.shape)} expects "
                         f"{weight.shape[1]}")
    kernels = onednn.primitives(onednn.Geometry(tuple(x.shape), tuple(weight.shape), bias is not None,
                                                 pair(stride), pair(dilation), sides))
    return kernels if kernels.optimised else None


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> paddle.Tensor:
    """F.conv2d for NCHW x [B, Cin, H, W] and weight [Cout, Cin, kh, kw], with zero
    ``padding`` (int, [ph, pw] or [top, bottom, left, right])."""
    kernels = onednn_kernels(x, weight, bias, stride, padding, dilation, groups)
    if kernels is None:
        return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return onednn.convolve(kernels, x, weight, bias)


class Conv2D(nn.Conv2D):
    """nn.Conv2D (same arguments, parameters and state-dict keys) running conv2d."""

    def forward(self, x):
        settings = conv_settings(self)
        if (settings.padding_mode != "zeros" or settings.padding_algorithm != "EXPLICIT"
                or settings.data_format != "NCHW"):
            return super().forward(x)
        return conv2d(x, self.weight, self.bias, settings.stride, settings.padding_per_axis, settings.dilation,
                      settings.groups)
