"""Choosing the backend: explicit, with the environment as the default read once."""
import threading

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from inade import backends
from inade.backends.narrow_conv import NarrowConv2D, few_outputs_conv2d
from inade.errors import ConfigError


@pytest.fixture
def unread_environment(monkeypatch):
    """The process's choice as before its first use (restored afterwards)."""
    monkeypatch.setattr(backends, "_process_choice", backends._ProcessChoice())


def test_the_environment_is_the_default_and_read_once(monkeypatch, unread_environment):
    monkeypatch.setenv(backends.VARIABLE, "paddle")
    assert backends.active() == "paddle"
    monkeypatch.setenv(backends.VARIABLE, "onednn")
    assert backends.active() == "paddle"  # read on first use, not on every call


def test_without_the_variable_the_default_is_onednn(monkeypatch, unread_environment):
    monkeypatch.delenv(backends.VARIABLE, raising=False)
    assert backends.active() == "onednn" and backends.fast()


def test_a_wrong_variable_is_one_config_error(monkeypatch, unread_environment):
    monkeypatch.setenv(backends.VARIABLE, "mkl")
    with pytest.raises(ConfigError, match=r"^environment variable INADE_CONV='mkl': expected one of onednn, paddle "
                                          r"\(or unset: onednn\)$"):
        backends.active()


def test_use_sets_the_process_choice(unread_environment):
    backends.use("paddle")
    assert backends.active() == "paddle" and not backends.fast()
    backends.use("onednn")
    assert backends.active() == "onednn"


@pytest.mark.parametrize("call", [backends.use, backends.using])
def test_an_unknown_name_is_one_config_error(call):
    with pytest.raises(ConfigError, match=r"^backend 'cuda': expected one of onednn, paddle$"):
        if call is backends.using:
            with call("cuda"):
                pass
        else:
            call("cuda")


def test_using_holds_for_the_block_in_this_thread_only(unread_environment):
    backends.use("onednn")
    seen = []
    with backends.using("paddle"):
        assert backends.active() == "paddle"
        other = threading.Thread(target=lambda: seen.append(backends.active()))
        other.start()
        other.join()
        with backends.using("onednn"):
            assert backends.active() == "onednn"
        assert backends.active() == "paddle"
    assert backends.active() == "onednn"
    assert seen == ["onednn"]


def test_the_block_is_left_as_found_after_an_error():
    before = backends.active()
    with pytest.raises(RuntimeError):
        with backends.using("paddle"):
            raise RuntimeError("inside")
    assert backends.active() == before


def test_narrow_layers_run_paddles_convolution_with_the_paddle_backend():
    paddle.seed(0)
    layer = NarrowConv2D(6, 3, 3, padding=1)
    x = paddle.randn([1, 6, 8, 8])
    with backends.using("paddle"):
        np.testing.assert_array_equal(layer(x).numpy(), F.conv2d(x, layer.weight, layer.bias, padding=1).numpy())
        np.testing.assert_array_equal(few_outputs_conv2d(x, layer.weight[:1], None, 1).numpy(),
                                      F.conv2d(x, layer.weight[:1], padding=1).numpy())


def test_tools_refuse_a_wrong_backend_variable_before_doing_anything(monkeypatch, capsys, unread_environment):
    from inade.cli import run_cli

    called = []
    monkeypatch.setenv(backends.VARIABLE, "mkl")
    assert run_cli(lambda argv: called.append(argv)) == 2
    assert called == []
    assert capsys.readouterr().err == ("error: environment variable INADE_CONV='mkl': expected one of onednn, "
                                       "paddle (or unset: onednn)\n")
