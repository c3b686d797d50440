"""Spectral normalization's closed-form backward (the onednn backend's).

The forward is Paddle's: weight_orig / sigma with sigma = u . (W v) from one
power iteration. Autograd differentiates the division and sigma's
matrix-vector product as separate ops, about ten full passes over every weight
per iteration at the paper setting; the closed form

    dL/dW = G / sigma - (<G, W> / sigma^2) u v^T        (G = dL/d(W / sigma))

needs one dot product and one rank-1 update in place (a BLAS gemm with beta 1).

Where a layer's output is smaller than its weight (the generator's
1024-channel convolutions at 16x16), training divides the output by sigma
instead of the weight, conv(x, W) / sigma + b, the same function to float
rounding: no W / sigma copy is written in the forward and the backward's
G / sigma comes from the convolution itself, leaving only the rank-1 term to
add (``_RankOneCorrection``).
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from .. import backends
from ..paddle_private import SpectralNormHook, conv_settings


def _inner(a: paddle.Tensor, b: paddle.Tensor) -> paddle.Tensor:
    """<a, b> over every element. paddle.inner runs a BLAS product: 4-6x
    faster than paddle.dot on the generator's 9.4M-element weights."""
    return paddle.inner(a.flatten(), b.flatten())


def _minus_rank_one(matrix: paddle.Tensor, coefficient, u, v) -> paddle.Tensor:
    """matrix -= coefficient u v^T, in place in one pass (a gemm with beta 1); returns it."""
    matrix.addmm_((-coefficient * u).unsqueeze(1), v.unsqueeze(0))
    return matrix


class _DivideBySigma(PyLayer):
    """weight / sigma, differentiated in closed form (see the module docstring);
    u, v and sigma are constants of the power iteration."""

    @staticmethod
    def forward(ctx, weight, u, v, sigma):
        ctx.save_for_backward(weight, u, v, sigma)
        return weight / sigma

    @staticmethod
    def backward(ctx, grad):
        weight, u, v, sigma = ctx.saved_tensor()
        rows = weight.shape[0]
        coefficient = _inner(grad, weight) / (sigma * sigma)  # <G, W> / sigma^2
        return _minus_rank_one((grad / sigma).reshape([rows, -1]), coefficient, u, v).reshape(weight.shape)


class _RankOneCorrection(PyLayer):
    """The weight itself (a view), whose gradient gets the rank-1 term of the
    closed form. For y = conv(x, W) / sigma the convolution's weight gradient
    is already G / sigma, so dL/dW = that - (<that, W> / sigma) u v^T."""

    @staticmethod
    def forward(ctx, weight, u, v, sigma):
        ctx.save_for_backward(weight, u, v, sigma)
        return weight.view(weight.shape)

    @staticmethod
    def backward(ctx, grad):
        weight, u, v, sigma = ctx.saved_tensor()
        coefficient = _inner(grad, weight) / sigma
        return _minus_rank_one(grad.reshape([weight.shape[0], -1]), coefficient, u, v).reshape(weight.shape)


def _output_is_smaller(layer: nn.Layer, inputs, weight: paddle.Tensor) -> bool:
    batch, _, *spatial = inputs[0].shape
    stride = conv_settings(layer).stride
    strides = stride if isinstance(stride, (list, tuple)) else [stride] * len(spatial)
    outputs = batch * weight.shape[0]
    for size, stride in zip(spatial, strides):
        outputs *= -(-size // stride)
    return outputs < weight.numel()


class ClosedFormSpectralNorm(SpectralNormHook):
    """Paddle's spectral-norm hook (dim 0); with the onednn backend, with the
    closed-form backward and sigma taken from the power iteration's last
    product instead of a third matrix-vector product over the weight. With the
    paddle backend it is Paddle's hook."""

    def _sigma(self, layer: nn.Layer, do_power_iteration: bool):
        """(weight_orig, u, v, sigma), after the power iteration when asked."""
        weight = getattr(layer, self.name + "_orig")
        u, v = getattr(layer, self.name + "_u"), getattr(layer, self.name + "_v")
        with paddle.no_grad():
            matrix = weight.reshape([weight.shape[0], -1])  # [out, in * kh * kw]
            if do_power_iteration:
                for _ in range(self.n_power_iterations):
                    paddle.assign(F.normalize(paddle.matmul(matrix, u, transpose_x=True), axis=0, epsilon=self.eps), v)
                    weight_v = paddle.mv(matrix, v)
                    paddle.assign(F.normalize(weight_v, axis=0, epsilon=self.eps), u)
                # the buffers change at the next forward, before this backward
                u, v = u.clone(), v.clone()
            else:
                weight_v = paddle.mv(matrix, v)
            sigma = paddle.dot(u, weight_v)
        return weight, u, v, sigma

    def compute_weight(self, layer: nn.Layer, do_power_iteration: bool) -> paddle.Tensor:
        if not backends.fast():
            return super().compute_weight(layer, do_power_iteration)
        return _DivideBySigma.apply(*self._sigma(layer, do_power_iteration))

    def __call__(self, layer: nn.Layer, inputs):
        self.output_sigma = None
        if not (backends.fast() and layer.training
                and _output_is_smaller(layer, inputs, getattr(layer, self.name + "_orig"))):
            return super().__call__(layer, inputs)
        weight, u, v, sigma = self._sigma(layer, do_power_iteration=True)
        setattr(layer, self.name, _RankOneCorrection.apply(weight, u, v, sigma))
        self.output_sigma = sigma  # for divide_output, the post-hook

    def divide_output(self, layer: nn.Layer, inputs, output):
        if self.output_sigma is None:
            return output
        sigma, self.output_sigma = self.output_sigma, None
        output = output / sigma
        if layer.bias is not None:  # the bias was added before the division: put back what it lost
            output = output + (layer.bias * (1.0 - 1.0 / sigma)).reshape([1, -1] + [1] * (output.ndim - 2))
        return output
