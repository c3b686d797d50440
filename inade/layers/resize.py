"""Resizing of label maps and features.

Inside a saved (static) graph the resizes are written with slices, copies and
products instead of Paddle's interpolation operators: Paddle Inference's oneDNN
interpolation kernels fail on exported programs (an attribute type they cannot
convert), and the same values come out either way (nearest: the same pixels;
bilinear: the same weights, summed in another order)."""
import numpy as np
import paddle
import paddle.nn.functional as F
from paddle.autograd import PyLayer

from .. import backends
from ..backends import bilinear
from ..backends.recording import records_gradient


def resize_nearest(x: paddle.Tensor, size) -> paddle.Tensor:
    """Nearest-neighbour resize of a label-like map to ``size`` (H, W).

    Uses the floor rule (source index = floor(dst * in / out)), the rule of the
    reference release, so maps shrink by picking the top-left pixel of each cell.
    """
    size = [int(size[0]), int(size[1])]
    if list(x.shape[-2:]) == size:
        return x
    if not paddle.in_dynamic_mode():
        return _nearest_by_indexing(x, size)
    return F.interpolate(x, size=size, mode="nearest")


def nearest_source_indices(size_in: int, size_out: int) -> np.ndarray:
    """The source row of each output row under Paddle's nearest rule
    (align_corners off): int(float32(in) / out * k), computed in float32 as its kernel does."""
    ratio = np.float32(size_in) / np.float32(size_out)
    return np.minimum((ratio * np.arange(size_out, dtype=np.float32)).astype(np.int64), size_in - 1)


def _nearest_by_indexing(x: paddle.Tensor, size) -> paddle.Tensor:
    for axis, size_out in ((2, size[0]), (3, size[1])):
        size_in = int(x.shape[axis])
        if size_in == size_out:
            continue
        index = nearest_source_indices(size_in, size_out)
        step = size_in // size_out if size_in % size_out == 0 else 0
        if step and np.array_equal(index, np.arange(size_out) * step):  # step >= 2: equal sizes were skipped
            x = paddle.strided_slice(x, [axis], [0], [size_in], [step])
        else:
            x = paddle.index_select(x, paddle.to_tensor(index), axis=axis)
    return x


def bilinear_weights(size_in: int, size_out: int) -> np.ndarray:
    """[size_out, size_in]: the weight of each source row in each output row
    under Paddle's bilinear rule with align_corners off (half-pixel centres,
    sources clamped at the border)."""
    ratio = np.float32(size_in) / np.float32(size_out)
    source = np.maximum(ratio * (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5), 0)
    low = np.minimum(source.astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = (source - low).astype(np.float32)
    weights = np.zeros((size_out, size_in), np.float32)
    rows = np.arange(size_out)
    np.add.at(weights, (rows, low), 1 - frac)
    np.add.at(weights, (rows, high), frac)
    return weights


def resize_bilinear(x: paddle.Tensor, size) -> paddle.Tensor:
    """Bilinear resize of [B, C, H, W] to ``size`` (align_corners off); in a
    saved graph, a product with the rows' and columns' weights."""
    size = [int(size[0]), int(size[1])]
    if paddle.in_dynamic_mode():
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    height, width = int(x.shape[2]), int(x.shape[3])
    rows = paddle.to_tensor(bilinear_weights(height, size[0]))  # [H', H]
    columns = paddle.to_tensor(bilinear_weights(width, size[1]).T)  # [W, W']
    return paddle.matmul(paddle.matmul(rows, x), columns)


def upsample_bilinear_2x(x: paddle.Tensor) -> paddle.Tensor:
    """F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False);
    in a saved graph, each output pixel as 3/4 of its source and 1/4 of the
    neighbour on its side (the border repeated). With the onednn backend its
    gradient is that stencil transposed (inade.backends.bilinear)."""
    if paddle.in_dynamic_mode():
        if backends.fast() and records_gradient(x):
            return bilinear.upsample_2x(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    for axis in (2, 3):
        size = int(x.shape[axis])
        first, last = paddle.slice(x, [axis], [0], [1]), paddle.slice(x, [axis], [size - 1], [size])
        before = paddle.concat([first, paddle.slice(x, [axis], [0], [size - 1])], axis=axis)
        after = paddle.concat([paddle.slice(x, [axis], [1], [size]), last], axis=axis)
        pairs = paddle.stack([0.75 * x + 0.25 * before, 0.75 * x + 0.25 * after], axis=axis + 1)
        # 0 keeps the batch and channel sizes (unknown while the graph is built)
        x = pairs.reshape([0, 0, 2 * size, int(x.shape[3])] if axis == 2 else [0, 0, 0, 2 * size])
    return x


def _repeat_2x(x: paddle.Tensor) -> paddle.Tensor:
    batch, channels, height, width = x.shape
    return x.reshape([batch, channels, height, 1, width, 1]).expand([batch, channels, height, 2, width, 2]).reshape(
        [batch, channels, 2 * height, 2 * width])


class _Upsample2x(PyLayer):
    @staticmethod
    def forward(ctx, x):
        return _repeat_2x(x)

    @staticmethod
    def backward(ctx, grad):
        batch, channels, height, width = grad.shape
        return grad.reshape([batch, channels, height // 2, 2, width // 2, 2]).sum([3, 5])


def upsample_nearest_2x(x: paddle.Tensor) -> paddle.Tensor:
    """F.interpolate(x, scale_factor=2, mode="nearest") for [B, C, H, W], as a
    broadcast copy whose gradient is a sum over each 2x2 cell. Paddle's CPU
    nearest-interpolation kernels are 2-6x slower forward and backward at the
    generator's sizes; without a gradient to take (sampling, export) the
    autograd node is skipped (and in saved graphs, where Paddle Inference runs
    a PyLayer as a slow sub-program)."""
    if not paddle.in_dynamic_mode() or not records_gradient(x):
        return _repeat_2x(x)
    return _Upsample2x.apply(x)
