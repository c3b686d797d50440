"""The 2-D convolution every inade network runs: oneDNN's on the CPU
(inade.layers.onednn, several times faster there than Paddle's own CPU kernel
at the generator's sizes), Paddle's everywhere else.

Paddle's kernel is used on GPUs, for other dtypes, grouped convolutions, padding
modes other than zeros, inside exported (static) graphs, where oneDNN cannot be
loaded (``onednn.why_unavailable()``, said once in a warning), for shapes
oneDNN has only its slow reference kernel for, or when ``INADE_CONV=paddle``
is in the environment (to compare: ``INADE_CONV=paddle python
tools/benchmark.py ... --compare before.json``).
"""
from __future__ import annotations

import os
import warnings

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..errors import ConfigError
from . import onednn

BACKEND_VARIABLE = "INADE_CONV"
_BACKENDS = ("onednn", "paddle")
_warned = False


def chosen_backend() -> str:
    """The CPU convolution kernel asked for by INADE_CONV (default onednn)."""
    chosen = os.environ.get(BACKEND_VARIABLE, "onednn")
    if chosen not in _BACKENDS:
        raise ConfigError(f"environment variable {BACKEND_VARIABLE}={chosen!r}: expected one of "
                          f"{', '.join(_BACKENDS)} (or unset: onednn)")
    return chosen


def cpu_backend() -> str:
    """The kernel CPU convolutions run: onednn or paddle."""
    global _warned
    chosen = chosen_backend()
    if chosen == "onednn" and not onednn.available():
        if not _warned:
            warnings.warn(f"CPU convolutions use Paddle's kernel, several times slower here: "
                          f"{onednn.why_unavailable()}", stacklevel=3)
            _warned = True
        return "paddle"
    return chosen


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
            or x.dtype != paddle.float32 or weight.dtype != paddle.float32 or cpu_backend() != "onednn"):
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
        if self._padding_mode != "zeros" or self._padding_algorithm != "EXPLICIT" or self._data_format != "NCHW":
            return super().forward(x)
        return conv2d(x, self.weight, self.bias, self._stride, self._updated_padding, self._dilation, self._groups)
