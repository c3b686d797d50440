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

Where a layer's output is smaller than its weight (the generator's 1024-channel
convolutions at 16x16: 9.4 M weights, 65-262 K outputs per image), training
divides the output by sigma instead of the weight, conv(x, W) / sigma + b, the
same function to float rounding: no W / sigma copy is written in the forward
(74 of the 78 M spectral-normalised weights at the paper setting; the
convolution keeps its weight input alive until its backward) and the
backward's G / sigma comes from the convolution itself, leaving only the
rank-1 term to add (``_RankOneCorrection``).

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
        coefficient = paddle.dot(grad.flatten(), weight.flatten()) / sigma
        weight_grad = grad.reshape([weight.shape[0], -1])
        weight_grad.addmm_((-coefficient * u).unsqueeze(1), v.unsqueeze(0))
        return weight_grad.reshape(weight.shape)


def _output_is_smaller(layer: nn.Layer, inputs, weight: paddle.Tensor) -> bool:
    batch, _, *spatial = inputs[0].shape
    strides = layer._stride if isinstance(layer._stride, (list, tuple)) else [layer._stride] * len(spatial)
    outputs = batch * weight.shape[0]
    for size, stride in zip(spatial, strides):
        outputs *= -(-size // stride)
    return outputs < weight.numel()


class ClosedFormSpectralNorm(SpectralNorm):
    """Paddle's spectral-norm hook (dim 0) with the closed-form backward, and
    sigma taken from the power iteration's last product instead of a third
    matrix-vector product over the weight."""

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
        return _DivideBySigma.apply(*self._sigma(layer, do_power_iteration))

    def __call__(self, layer: nn.Layer, inputs):
        self.output_sigma = None
        if not (layer.training and _output_is_smaller(layer, inputs, getattr(layer, self.name + "_orig"))):
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


def spectral_norm(layer: nn.Layer) -> nn.Layer:
    """Spectral-normalise ``layer.weight`` (a convolution, whose output channels
    are the weight's first axis) as paddle.nn.utils.spectral_norm does, with the
    closed-form backward. Returns the layer."""
    if not isinstance(layer, (nn.Conv1D, nn.Conv2D, nn.Conv3D)):
        raise TypeError(f"spectral_norm here takes a convolution (output channels first), got {type(layer).__name__}")
    _paddle_spectral_norm(layer)  # parameters, buffers and their random start, as Paddle makes them
    for key, hook in list(layer._forward_pre_hooks.items()):
        if type(hook) is SpectralNorm:
            closed_form = ClosedFormSpectralNorm(hook.name, hook.n_power_iterations, hook.dim, hook.eps)
            layer._forward_pre_hooks[key] = closed_form
            layer.register_forward_post_hook(closed_form.divide_output)
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
            for post_key, post_hook in list(layer._forward_post_hooks.items()):
                if getattr(post_hook, "__self__", None) is hook:
                    del layer._forward_post_hooks[post_key]
            del layer._parameters[hook.name + "_orig"]
            for suffix in ("_u", "_v"):
                layer._buffers.pop(hook.name + suffix, None)
            if hasattr(layer, hook.name):
                delattr(layer, hook.name)
            layer.add_parameter(hook.name, layer.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight)))
    return network
