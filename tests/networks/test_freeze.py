import paddle
import pytest

import inade  # noqa: F401
from inade.networks.freeze import frozen


def test_frozen_weights_pass_gradients_through_and_are_restored_even_on_error():
    layer = paddle.nn.Linear(3, 2)
    layer.bias.stop_gradient = True  # already frozen by its owner: must stay so
    x = paddle.ones([4, 3])
    x.stop_gradient = False
    with frozen(layer.parameters()):
        layer(x).sum().backward()
    assert layer.weight.grad is None and x.grad is not None
    assert not layer.weight.stop_gradient and layer.bias.stop_gradient
    with pytest.raises(RuntimeError):
        with frozen(layer.parameters()):
            raise RuntimeError("boom")
    assert not layer.weight.stop_gradient
