import threading

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from inade import backends
from inade.backends import onednn
from inade.backends.conv import Conv2D, conv2d, onednn_kernels
from inade.backends.narrow_conv import NarrowConv2D

from .conftest import needs_onednn

# (input shape, weight shape, bias, stride, padding, dilation)
GEOMETRIES = [
    ((2, 5, 13, 11), (7, 5, 3, 3), True, 1, 1, 1),
    ((1, 6, 16, 16), (4, 6, 4, 4), False, 2, 2, 1),  # the discriminators' layers
    ((2, 3, 12, 10), (5, 3, 3, 3), True, [2, 1], [1, 2, 0, 1], 1),  # per-side padding
    ((1, 4, 15, 15), (6, 4, 3, 3), True, 1, 2, 2),  # dilation
    ((1, 8, 9, 9), (3, 8, 1, 1), False, 1, 0, 1),
    ((2, 16, 4, 5), (12, 16, 3, 3), True, 1, 1, 1),  # weight larger than the input: NCHW kernels
]


@needs_onednn
def test_both_layouts_are_covered():
    layouts = set()
    for input_shape, weight_shape, has_bias, stride, padding, dilation in GEOMETRIES:
        kernels = onednn_kernels(paddle.zeros(input_shape), paddle.zeros(weight_shape),
                                 paddle.zeros(weight_shape[:1]) if has_bias else None, stride, padding, dilation)
        layouts.add(kernels.channels_last)
    assert layouts == {True, False}


def _run(function, x, weight, bias, upstream, **geometry):
    x, weight = x.clone(), weight.clone()
    x.stop_gradient = weight.stop_gradient = False
    if bias is not None:
        bias = bias.clone()
        bias.stop_gradient = False
    out = function(x, weight, bias, **geometry)
    (out * upstream).sum().backward()
    return [t.numpy() for t in (out, x.grad, weight.grad) + ((bias.grad,) if bias is not None else ())]


@needs_onednn
@pytest.mark.parametrize("input_shape, weight_shape, has_bias, stride, padding, dilation", GEOMETRIES)
def test_conv2d_matches_paddle_forward_and_backward(input_shape, weight_shape, has_bias, stride, padding, dilation):
    paddle.seed(0)
    x, weight = paddle.randn(input_shape), paddle.randn(weight_shape)
    bias = paddle.randn(weight_shape[:1]) if has_bias else None
    geometry = dict(stride=stride, padding=padding, dilation=dilation)
    assert onednn_kernels(x, weight, bias, **geometry) is not None  # oneDNN runs these
    upstream = paddle.randn(F.conv2d(x, weight, bias, **geometry).shape)
    ours = _run(conv2d, x, weight, bias, upstream, **geometry)
    reference = _run(F.conv2d, x, weight, bias, upstream, **geometry)
    for got, want in zip(ours, reference):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@needs_onednn
def test_only_the_gradients_asked_for_are_computed_and_views_are_read_as_laid_out():
    paddle.seed(1)
    base = paddle.randn([1, 9, 8, 4])
    x = base.transpose([0, 1, 3, 2])  # a view, not laid out row-major
    weight = paddle.randn([4, 9, 3, 3])
    weight.stop_gradient = False
    out = conv2d(x, weight, padding=1)
    out.sum().backward()
    reference_weight = weight.detach().clone()
    reference_weight.stop_gradient = False
    F.conv2d(x.contiguous(), reference_weight, padding=1).sum().backward()
    np.testing.assert_allclose(out.numpy(), F.conv2d(x.contiguous(), weight, padding=1).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weight.grad.numpy(), reference_weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert x.grad is None


@needs_onednn
def test_a_primitive_built_in_one_thread_runs_in_another():
    # the web page renders in its request threads; a per-thread scratchpad made this crash
    layer = Conv2D(8, 8, 3, padding=1)
    x = paddle.randn([1, 8, 24, 24])
    with paddle.no_grad():
        expected = layer(x).numpy()
    results = []

    def render():
        with paddle.no_grad():
            results.append(layer(x).numpy())
        y = x.clone()
        y.stop_gradient = False
        layer(y).sum().backward()
        results.append(y.grad.numpy())

    thread = threading.Thread(target=render)
    thread.start()
    thread.join()
    assert len(results) == 2
    np.testing.assert_array_equal(results[0], expected)
    assert np.abs(results[1]).sum() > 0


def test_conv2d_layer_keeps_nn_conv2d_parameters_and_other_padding_modes():
    paddle.seed(2)
    reference = nn.Conv2D(3, 4, 3, padding=1, padding_mode="reflect")
    ours = Conv2D(3, 4, 3, padding=1, padding_mode="reflect")
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.set_state_dict(reference.state_dict())
    x = paddle.randn([1, 3, 10, 10])
    np.testing.assert_allclose(ours(x).numpy(), reference(x).numpy(), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_narrow_layers_match_paddle_whichever_kernel_runs_them():
    paddle.seed(3)
    for in_channels, out_channels, kernel, padding in ((16, 3, 3, 1), (32, 1, 4, 2)):
        layer = NarrowConv2D(in_channels, out_channels, kernel, padding=padding)
        x = paddle.randn([2, in_channels, 12, 12])
        want = F.conv2d(x, layer.weight, layer.bias, padding=padding)
        np.testing.assert_allclose(layer(x).numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_the_paddle_backend_runs_paddles_kernel():
    x, weight = paddle.randn([1, 2, 6, 6]), paddle.randn([3, 2, 3, 3])
    with backends.using("paddle"):
        assert onednn_kernels(x, weight, padding=1) is None
        np.testing.assert_array_equal(conv2d(x, weight, padding=1).numpy(), F.conv2d(x, weight, padding=1).numpy())


@needs_onednn
def test_evicted_primitives_are_rebuilt(monkeypatch):
    monkeypatch.setattr(onednn, "_CACHE_SIZE", 2)
    paddle.seed(4)
    weight = paddle.randn([2, 3, 3, 3])
    for _ in range(2):
        for size in (5, 6, 7, 8):
            x = paddle.randn([1, 3, size, size])
            np.testing.assert_allclose(conv2d(x, weight, padding=1).numpy(),
                                       F.conv2d(x, weight, padding=1).numpy(), rtol=1e-5, atol=1e-5)
    assert len(onednn._cache) <= 2


@needs_onednn
def test_a_wrong_channel_count_is_named():
    with pytest.raises(ValueError, match=r"the input has 4 channels, the weight \[3, 2, 3, 3\] expects 2"):
        conv2d(paddle.randn([1, 4, 6, 6]), paddle.randn([3, 2, 3, 3]), padding=1)


@needs_onednn
def test_a_strided_bias_view_gives_paddles_result():
    paddle.seed(0)
    x, weight = paddle.randn([2, 5, 9, 9]), paddle.randn([7, 5, 3, 3])
    bias = paddle.randn([7, 2])[:, 1]  # every other element of a larger tensor
    assert not bias.is_contiguous()
    assert onednn_kernels(x, weight, bias, padding=1) is not None
    upstream = paddle.randn([2, 7, 9, 9])
    ours = _run(conv2d, x, weight, bias, upstream, padding=1)
    reference = _run(F.conv2d, x, weight, bias, upstream, padding=1)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    with paddle.no_grad():
        np.testing.assert_allclose(conv2d(x, weight, bias, padding=1).numpy(), reference[0], rtol=1e-4, atol=1e-4)


@needs_onednn
def test_operands_onednn_cannot_read_go_to_paddle():
    x, weight = paddle.randn([1, 3, 8, 8]), paddle.randn([4, 3, 3, 3])
    assert onednn_kernels(x, weight, paddle.randn([4])) is not None
    for bias in (paddle.randn([4]).astype("float64"), paddle.randn([5]), paddle.randn([4, 1])):
        assert onednn_kernels(x, weight, bias) is None, (bias.dtype, bias.shape)
    assert onednn_kernels(x, paddle.randn([4, 3, 3]), None) is None
    # Paddle promotes a float64 bias; conv2d gives the same, not float32 bytes read as float64
    bias64 = paddle.randn([4]).astype("float64")
    ours, expected = conv2d(x, weight, bias64), F.conv2d(x, weight, bias64)
    assert ours.dtype == expected.dtype
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
