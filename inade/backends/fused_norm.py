"""Training-mode batch norm and the INADE modulation as one autograd node
(``model.recompute_norms``, with the onednn backend).

Built from separate ops, ``gamma * batch_norm(x) + beta`` keeps three
activation-sized tensors per norm for the backward pass: the input of the
batch norm, its output and gamma. This node keeps only the input (with the
per-channel statistics and the small per-pair tables) and recomputes what it
needs in the backward pass: a lower training peak, faster on large
activations and slower on small ones (docs/performance.md), so by default
only the norms with large inputs use it (inade.layers.norms.RECOMPUTE_MIN_VALUES).
The result matches the separate ops to float tolerance.

In eval mode the batch norm is a fixed per-channel ``a * x + b`` (its running
statistics), which folds into the per-pair rows the same way with no node of
its own (inade.layers.norms.running_affine): sampling and the exported graph
then make no batch-norm pass over the activations.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
from paddle.autograd import PyLayer

from .. import backends
from ..paddle_private import batch_norm_settings, batch_statistics
from .recording import records_gradient


def spread_rows(rows, masks, shape):
    """Per-pair rows [B, P, C] over the image with one-hot masks [B, P, HW] -> [B, C, H, W]."""
    return paddle.matmul(rows, masks, transpose_x=True).reshape(shape)


def spread_affine(scale_rows, shift_rows, masks, x):
    """``spread_rows(scale_rows) * x + spread_rows(shift_rows)`` for rows
    [B, P, C], masks [B, P, HW] and x [B, C, H, W]. Where no gradient is
    recorded (sampling, or inside an autograd node's forward) with the onednn
    backend, in place on the first spread: each fresh activation-sized buffer
    costs a round of page faults, more than the arithmetic (a * b on 33.5 MB
    here: 32 ms out of place, 6.5 ms in place)."""
    if records_gradient(scale_rows, shift_rows, x) or not (backends.fast() and paddle.in_dynamic_mode()):
        return spread_rows(scale_rows, masks, x.shape) * x + spread_rows(shift_rows, masks, x.shape)
    out = spread_rows(scale_rows, masks, x.shape)
    out.multiply_(x)
    return out.add_(spread_rows(shift_rows, masks, x.shape))


def _channel(vector):
    return vector.reshape([1, -1, 1, 1])


class _NormalizeModulate(PyLayer):
    """gamma * (x - mean) * inv_std + beta with gamma, beta spread from per-pair
    rows. Because the masks are one-hot, the per-channel normalization folds
    into the small rows and both passes touch the activations only a few
    times: the forward spreads A = scale * inv_std and shift - A * mean and
    computes A(x) * x + B(x); the backward gets every per-channel sum it needs
    from per-pair sums of grad and grad * x."""

    @staticmethod
    def forward(ctx, x, mean, inv_std, scale_rows, shift_rows, masks):
        """x [B, C, H, W]; mean, inv_std [C] (the batch's, no gradient path of
        their own: the backward accounts for their dependence on x);
        scale_rows, shift_rows [B, P, C]; masks [B, P, HW]."""
        ctx.save_for_backward(x, mean, inv_std, scale_rows, masks)
        # Paddle wants no gradient for an input that takes none (e.g. frozen tables)
        ctx.wants_grad = [not t.stop_gradient for t in (x, scale_rows, shift_rows)]
        folded_scale = scale_rows * inv_std  # [B, P, C]
        folded_shift = shift_rows - folded_scale * mean
        return spread_affine(folded_scale, folded_shift, masks, x)  # records nothing here: in place

    @staticmethod
    def backward(ctx, grad):
        x, mean, inv_std, scale_rows, masks = ctx.saved_tensor()
        batch, channels, height, width = x.shape
        flat_shape = [batch, channels, height * width]
        x_wants, scale_wants, shift_wants = ctx.wants_grad
        # per (image, pair, channel): the sums of grad and of grad * normalized x
        grad_sum = paddle.matmul(masks, grad.reshape(flat_shape), transpose_y=True)  # [B, P, C]
        product = grad * x  # the one activation-sized temporary besides grad_x, reused below
        grad_x_sum = paddle.matmul(masks, product.reshape(flat_shape), transpose_y=True)
        grad_normalized_sum = (grad_x_sum - grad_sum * mean) * inv_std
        grad_x = None
        if x_wants:
            # batch-norm backward of g = grad * gamma, with the statistics' own
            # dependence on x: inv_std * (g - mean(g) - normalized * mean(g * normalized))
            count = batch * height * width
            mean_g = (scale_rows * grad_sum).sum([0, 1]) / count  # [C]
            mean_g_normalized = (scale_rows * grad_normalized_sum).sum([0, 1]) / count
            x_coefficient = inv_std * inv_std * mean_g_normalized
            offset = x_coefficient * mean - inv_std * mean_g
            # grad_x = A * grad - x * x_coefficient + offset, in place (see spread_affine)
            grad_x = spread_rows(scale_rows * inv_std, masks, x.shape)
            grad_x.multiply_(grad)
            grad_x.subtract_(paddle.multiply(x, _channel(x_coefficient), out=product))
            grad_x.add_(_channel(offset))
        return (grad_x, None, None, grad_normalized_sum if scale_wants else None,
                grad_sum if shift_wants else None, None)


def batch_norm_modulate(norm, x, scale_rows, shift_rows, masks):
    """``spread_rows(scale_rows) * norm(x) + spread_rows(shift_rows)`` for a
    training-mode affine-free ``nn.BatchNorm2D`` ``norm`` (NCHW), whose running
    statistics are updated as its own forward would."""
    mean, inv_std = batch_statistics(norm, x)  # all this node keeps of the batch norm
    return _NormalizeModulate.apply(x, mean, inv_std, scale_rows, shift_rows, masks)


def fusable(norm) -> bool:
    """Whether batch_norm_modulate runs for ``norm``: with the onednn backend,
    for a plain affine-free BatchNorm2D in training mode (not SyncBatchNorm,
    not under static-graph export)."""
    if not (backends.fast() and type(norm) is nn.BatchNorm2D and norm.training and norm.weight is None
            and norm.bias is None and paddle.in_dynamic_mode()):
        return False
    settings = batch_norm_settings(norm)
    return settings.data_format == "NCHW" and not settings.use_global_stats
