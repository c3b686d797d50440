"""The Paddle private APIs inade uses, each checked against the installed
Paddle: a release that renames or changes one fails here, by name."""
import os
import re

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.nn.utils import spectral_norm as paddle_spectral_norm

import inade
from inade import paddle_private
from inade.checkpoints import legacy_pickle

PACKAGE = os.path.dirname(os.path.abspath(inade.__file__))
PRIVATE_USE = re.compile(
    r"\b_C_ops\b|\bpaddle\.(base|fluid|framework)\b|spectral_norm_hook|\w\._(parameter_list|forward_pre_hooks|"
    r"forward_post_hooks|parameters|buffers|sub_layers|stride|padding|updated_padding|padding_mode|"
    r"padding_algorithm|dilation|groups|data_format|mean|variance|momentum|epsilon|use_global_stats)\b")


def test_only_one_module_uses_paddles_private_apis():
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or path == paddle_private.__file__:
                continue
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    code = re.sub(r"([\"']).*?\1", "", line.split("#")[0])  # not in strings or comments
                    if PRIVATE_USE.search(code):
                        found.append(f"{os.path.relpath(path, PACKAGE)}:{number}: {line.strip()}")
    assert found == []


def test_conv_settings_are_what_the_layer_was_built_with_and_what_its_forward_runs():
    layer = nn.Conv2D(4, 6, 3, stride=[2, 1], padding=[1, 2], dilation=2, groups=2)
    settings = paddle_private.conv_settings(layer)
    assert settings.stride == [2, 1] and settings.padding == [1, 2] and settings.dilation == [2, 2]
    assert settings.groups == 2 and settings.padding_mode == "zeros" and settings.padding_algorithm == "EXPLICIT"
    assert settings.data_format == "NCHW"
    x = paddle.randn([1, 4, 11, 9])
    np.testing.assert_array_equal(
        F.conv2d(x, layer.weight, layer.bias, settings.stride, settings.padding_per_axis, settings.dilation,
                 settings.groups).numpy(), layer(x).numpy())
    same = paddle_private.conv_settings(nn.Conv2D(4, 6, 3, padding="SAME", padding_mode="zeros"))
    assert same.padding_algorithm == "SAME"
    assert paddle_private.conv_settings(nn.Conv2D(4, 6, 3, padding=1, padding_mode="reflect")).padding_mode == "reflect"
    assert paddle_private.conv_settings(nn.Conv2D(4, 6, 3, padding=2)).padding == 2  # as given


def test_batch_norm_settings_and_statistics_match_the_layers_own_forward():
    norm = nn.BatchNorm2D(3, momentum=0.8, epsilon=1e-3, weight_attr=False, bias_attr=False)
    settings = paddle_private.batch_norm_settings(norm)
    assert settings.momentum == 0.8 and settings.epsilon == 1e-3 and settings.data_format == "NCHW"
    assert not settings.use_global_stats
    assert settings.running_mean is norm.state_dict()["_mean"] and settings.running_variance is norm.state_dict()["_variance"]
    twin = nn.BatchNorm2D(3, momentum=0.8, epsilon=1e-3, weight_attr=False, bias_attr=False)
    x = paddle.randn([4, 3, 5, 5]) * 3 + 1
    mean, inv_std = paddle_private.batch_statistics(norm, x)
    twin(x)  # updates its running statistics
    values = x.numpy()
    np.testing.assert_allclose(mean.numpy(), values.mean((0, 2, 3)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv_std.numpy(), 1 / np.sqrt(values.var((0, 2, 3)) + 1e-3), rtol=1e-4)
    np.testing.assert_array_equal(norm._mean.numpy(), twin._mean.numpy())  # read directly: what the wrapper must have updated
    np.testing.assert_array_equal(norm._variance.numpy(), twin._variance.numpy())
    assert mean.stop_gradient and inv_std.stop_gradient


def test_optimizer_parameters_are_the_list_it_updates():
    layer = nn.Linear(2, 3)
    optimizer = paddle.optimizer.SGD(learning_rate=1.0, parameters=layer.parameters())
    params = paddle_private.optimizer_parameters(optimizer)
    assert [id(p) for p in params] == [id(p) for p in layer.parameters()]
    extra = paddle.create_parameter([1], "float32")
    params.append(extra)  # the live list: the optimizer now updates it too
    (extra * 2).sum().backward()
    before = extra.numpy().copy()
    optimizer.step()
    np.testing.assert_allclose(extra.numpy(), before - 2.0)


def test_forward_hooks_are_the_live_dicts():
    layer = nn.Linear(2, 2)
    pre = layer.register_forward_pre_hook(lambda module, inputs: None)
    post = layer.register_forward_post_hook(lambda module, inputs, output: output * 0)
    assert len(paddle_private.forward_pre_hooks(layer)) == 1 and len(paddle_private.forward_post_hooks(layer)) == 1
    assert float(layer(paddle.ones([1, 2])).abs().sum()) == 0
    paddle_private.forward_post_hooks(layer).clear()  # the layer runs without it
    assert float(layer(paddle.ones([1, 2])).abs().sum()) > 0
    pre.remove()
    post.remove()
    assert not paddle_private.forward_pre_hooks(layer)


def test_paddles_spectral_norm_installs_the_hook_class_named_here():
    layer = paddle_spectral_norm(nn.Conv2D(2, 3, 3))
    hooks = [h for h in paddle_private.forward_pre_hooks(layer).values() if isinstance(h, paddle_private.SpectralNormHook)]
    assert len(hooks) == 1
    hook = hooks[0]
    assert (hook.name, hook.n_power_iterations, hook.dim) == ("weight", 1, 0) and hook.eps > 0
    with paddle.no_grad():
        weight = hook.compute_weight(layer, do_power_iteration=False)
    assert weight.shape == layer.weight_orig.shape


def test_the_generator_state_class_is_the_one_checkpoints_name():
    state_class = paddle_private.generator_state_class()
    assert all(isinstance(state, state_class) for state in paddle.get_rng_state())
    # Paddle's pickles name the class by its module: the checkpoint reader must allow exactly that name
    assert (state_class.__module__, state_class.__name__) in legacy_pickle._ALLOWED


def test_leaky_relu_gradient_is_the_ops_own_backward():
    x = paddle.to_tensor([[-2.0, -0.5, 0.0, 0.5, 3.0]], stop_gradient=False)
    upstream = paddle.to_tensor([[1.0, 2.0, 3.0, 4.0, 5.0]])
    (expected,) = paddle.grad([paddle.nn.functional.leaky_relu(x, 0.3)], [x], [upstream])
    got = paddle_private.leaky_relu_gradient(x.detach(), upstream, 0.3)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    np.testing.assert_allclose(got.numpy(), [[0.3, 0.6, 3.0, 4.0, 5.0]], rtol=1e-6)  # slope below 0, 1 from 0 up


def _release(version: str) -> tuple:
    return tuple(int(part) for part in re.match(r"\d+(\.\d+)*", version).group().split("."))


def test_the_declared_paddle_range_holds_the_paddle_these_tests_ran_on(source_tree):
    import tomllib

    with open(os.path.join(source_tree, "pyproject.toml"), "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    (declared,) = [d for d in dependencies if re.match(r"paddlepaddle\b", d)]
    bounds = dict(re.findall(r"(>=|<)\s*([\d.]+)", declared))
    assert set(bounds) == {">=", "<"}, declared  # a closed range: the versions tested
    installed = _release(paddle.__version__)
    assert _release(bounds[">="]) <= installed < _release(bounds["<"]), (declared, paddle.__version__)
    assert _release(bounds["<"]) <= (3, 4), declared  # no release the private APIs were not checked on
