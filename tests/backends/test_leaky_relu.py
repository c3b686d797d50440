import gc

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.base import core

import inade  # noqa: F401
from inade import backends
from inade.backends.leaky_relu import leaky_relu_keeping_output
from inade.layers.activation import leaky_relu


@pytest.mark.parametrize("slope", [0.2, 1.0])
def test_values_and_gradient_equal_paddles_bit_for_bit(slope):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((2, 3, 5, 7)).astype("float32")
    values[0, 0, 0, :3] = 0.0  # the kink: Paddle's rule there must hold from the output too
    upstream = paddle.to_tensor(rng.standard_normal(values.shape).astype("float32"))
    grads = []
    for function in (F.leaky_relu, leaky_relu_keeping_output):
        x = paddle.to_tensor(values, stop_gradient=False)
        out = function(x, slope)
        (grad,) = paddle.grad([out], [x], [upstream])
        grads.append((out.numpy(), grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def _allocated_after(function):
    gc.collect()
    x = paddle.randn([1, 16, 256, 256])  # 4 MB
    x.stop_gradient = False
    before = core.host_memory_stat_current_value("Allocated", 0)
    middle = x * 2.0  # what the activation's input is in the networks: a temporary only the activation keeps
    out = function(middle, 0.2)
    del middle
    kept = core.host_memory_stat_current_value("Allocated", 0) - before
    out.sum().backward()
    return kept


def test_the_backward_keeps_the_output_not_the_input():
    size = 16 * 256 * 256 * 4
    assert _allocated_after(F.leaky_relu) >= 2 * size  # Paddle's op keeps its input beside its output
    assert _allocated_after(leaky_relu_keeping_output) < 1.5 * size


def test_without_gradient_or_with_a_negative_slope_it_is_paddles_op():
    x = paddle.randn([2, 3])
    assert leaky_relu_keeping_output(x, 0.2).stop_gradient
    x.stop_gradient = False
    # a negative slope flips the sign: the output no longer tells the input's sign
    np.testing.assert_array_equal(paddle.grad([leaky_relu_keeping_output(x, -0.5).sum()], [x])[0].numpy(),
                                  paddle.grad([F.leaky_relu(x, -0.5).sum()], [x])[0].numpy())


def test_the_networks_activation_uses_it_only_with_the_onednn_backend(monkeypatch):
    calls = []
    monkeypatch.setattr("inade.layers.activation.leaky_relu_keeping_output",
                        lambda x, slope: calls.append(slope) or F.leaky_relu(x, slope))
    x = paddle.randn([2, 3])
    with backends.using("paddle"):
        leaky_relu(x, 0.2)
    assert calls == []
    with backends.using("onednn"):
        leaky_relu(x, 0.2)
    assert calls == [0.2]


def test_overwrite_writes_into_a_temporary_only_where_no_gradient_is_recorded():
    values = np.array([[-1.0, 2.0, -3.0]], "float32")
    expected = F.leaky_relu(paddle.to_tensor(values), 0.2).numpy()
    with backends.using("onednn"):
        with paddle.no_grad():
            x = paddle.to_tensor(values)
            out = leaky_relu(x, 0.2, overwrite=True)
            np.testing.assert_array_equal(x.numpy(), expected)  # written in place
            assert out.data_ptr() == x.data_ptr()
        recorded = paddle.to_tensor(values, stop_gradient=False) * 1.0
        out = leaky_relu(recorded, 0.2, overwrite=True)  # the backward may need the input
        np.testing.assert_array_equal(recorded.numpy(), values)
        np.testing.assert_array_equal(out.numpy(), expected)
    with backends.using("paddle"), paddle.no_grad():
        x = paddle.to_tensor(values)
        leaky_relu(x, 0.2, overwrite=True)  # the reference path writes nothing in place
        np.testing.assert_array_equal(x.numpy(), values)
