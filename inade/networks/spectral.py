"""Spectral normalization: a leaner gradient for training, and folding into
plain weights for sampling and export.

``spectral_norm`` gives a layer Paddle's parameters and buffers (weight_orig,
weight_u, weight_v: the names PyTorch and the reference checkpoints use) and
the same forward, weight_orig / sigma with sigma = u . (W v) from one power
iteration. Only the backward differs. Autograd differentiates the division and
sigma's matrix-vector product as separate ops, which at the paper setting
(72 M spectral-normalised weights) means about ten full passes over every
weight per iteration; the closed form

    dL/dW = G / sigma - (<G, W> / sigma^2) u v^T        (G = dL/d(W / sigma))

needs one dot product and one rank-1 update in place (a BLAS gemm with beta 1).

In eval mode a spectral-normalised layer uses weight_orig / sigma, with sigma
from its stored u and v. Export (paddle.jit.save) does not trace Paddle's
spectral-norm hook faithfully, so exported copies carry that weight directly.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer
from paddle.nn.utils import spectral_norm as _paddle_spectral_norm
from paddle.nn.utils.spectral_norm_hook import SpectralNorm


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
        coefficient = paddle.dot(grad.flatten(), weight.flatten()) / (sigma * sigma)  # <G, W> / sigma^2
        weight_grad = (grad / sigma).reshape([rows, -1])
        weight_grad.addmm_((-coefficient * u).unsqueeze(1), v.unsqueeze(0))  # -= c u v^T, one pass
        return weight_grad.reshape(weight.shape)


class ClosedFormSpectralNorm(SpectralNorm):
    """Paddle's spectral-norm hook (dim 0) with the closed-form backward, and
    sigma taken from the power iteration's last product instead of a third
    matrix-vector product over the weight."""

    def compute_weight(self, layer: nn.Layer, do_power_iteration: bool) -> paddle.Tensor:
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
        return _DivideBySigma.apply(weight, u, v, sigma)


def spectral_norm(layer: nn.Layer) -> nn.Layer:
    """Spectral-normalise ``layer.weight`` (a convolution, whose output channels
    are the weight's first axis) as paddle.nn.utils.spectral_norm does, with the
    closed-form backward. Returns the layer."""
    if not isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D)):
        raise TypeError(f"spectral_norm here takes a convolution (output channels first), got {type(layer).__name__}")
    _paddle_spectral_norm(layer)  # parameters, buffers and their random start, as Paddle makes them
    for key, hook in list(layer._forward_pre_hooks.items()):
        if type(hook) is SpectralNorm:
            layer._forward_pre_hooks[key] = ClosedFormSpectralNorm(hook.name, hook.n_power_iterations, hook.dim, hook.eps)
    return layer


def fold_spectral_norm(network: nn.Layer) -> nn.Layer:
    """Replace every spectral-norm hook of ``network`` (in place) by the weight
    it computes in eval mode. Returns the network."""
    for layer in network.sublayers(include_self=True):
        hooks = [(key, hook) for key, hook in layer._forward_pre_hooks.items() if isinstance(hook, SpectralNorm)]
        for key, hook in hooks:
            with paddle.no_grad():
                weight = hook.compute_weight(layer, do_power_iteration=False).detach()
            del layer._forward_pre_hooks[key]
            del layer._parameters[hook.name + "_orig"]
            for suffix in ("_u", "_v"):
                layer._buffers.pop(hook.name + suffix, None)
            if hasattr(layer, hook.name):
                delattr(layer, hook.name)
            layer.add_parameter(hook.name, layer.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight)))
    return network
