"""oneDNN checks itself before its first use in a process; any failure means
Paddle's kernel, with one warning naming the reason."""
import warnings

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from inade.backends import dnnl, onednn, onednn_check
from inade.backends.conv import conv2d, convolution_kernels, onednn_kernels

from .conftest import needs_onednn


def _convolve_twice():
    """Two convolutions oneDNN would run; (the first's result, Paddle's, the warnings raised)."""
    paddle.seed(0)
    x, weight, bias = paddle.randn([2, 5, 12, 12]), paddle.randn([6, 5, 3, 3]), paddle.randn([6])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = conv2d(x, weight, bias, padding=1)
        conv2d(x, weight, bias, padding=1)
    return out, F.conv2d(x, weight, bias, padding=1), [str(w.message) for w in caught]


def _falls_back(reason_pattern):
    out, expected, messages = _convolve_twice()
    assert len(messages) == 1, messages  # one warning, however many convolutions follow
    assert messages[0].startswith("CPU convolutions run Paddle's kernel, several times slower here: ")
    assert reason_pattern in messages[0], messages[0]
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert not onednn.ready() and reason_pattern in onednn.why_unavailable()
    assert onednn_kernels(paddle.randn([1, 5, 12, 12]), paddle.randn([6, 5, 3, 3])) is None
    assert convolution_kernels() == "Paddle"


@needs_onednn
def test_the_shipped_library_passes_silently_and_leaves_the_random_state(fresh_onednn):
    paddle.seed(7)
    before = paddle.get_rng_state()[0].current_seed(), paddle.randn([3]).numpy()
    paddle.seed(7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert onednn.ready()
    after = paddle.get_rng_state()[0].current_seed(), paddle.randn([3]).numpy()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert convolution_kernels() == f"oneDNN {dnnl.version()}"


@pytest.mark.parametrize("found", [(3, 5, 2), (3, 7, 0), (4, 0, 0)])
def test_a_library_of_another_version_is_not_called(fresh_onednn, monkeypatch, found):
    monkeypatch.setattr(dnnl, "library_version", lambda opened: found)
    _falls_back(f"oneDNN {'.'.join(map(str, found))} at {dnnl.library_path()} is outside the versions this "
                f"binding's constants were checked for (3.6.0 up to, not including, 3.7.0)")
    assert dnnl.lib is None  # nothing was kept of it


def test_a_missing_library_is_named(fresh_onednn, monkeypatch):
    monkeypatch.setattr(dnnl, "LIBRARY", "libdnnl.so.0-not-here")
    _falls_back("this paddle has no oneDNN library (")


def _scaled(method, which, factor=1.01):
    """``method`` of _Primitives with its result (or result[which]) scaled."""
    def wrong(*args, **kwargs):
        result = method(*args, **kwargs)
        if which is None:
            return result * factor
        result = list(result)
        result[which] = result[which] * factor
        return tuple(result)
    return wrong


@needs_onednn
@pytest.mark.parametrize("method, which, what", [
    ("forward", None, "output"),
    ("backward_data", None, "input gradient"),
    ("backward_weights", 0, "weight gradient"),
    ("backward_weights", 1, "bias gradient"),
])
def test_a_failing_self_check_falls_back_to_paddle(fresh_onednn, monkeypatch, method, which, what):
    monkeypatch.setattr(onednn._Primitives, method, _scaled(getattr(onednn._Primitives, method), which))
    _falls_back(f"failed its self-check on a (2, 4, 10, 9) x (8, 4, 3, 3) convolution: the {what} differs from "
                f"Paddle's by up to ")


@needs_onednn
def test_the_nchw_kernels_are_checked_too(fresh_onednn, monkeypatch):
    original = onednn._Primitives.forward

    def wrong_on_nchw(self, x, weight, bias):
        out = original(self, x, weight, bias)
        return out if self.channels_last else out * float("nan")
    monkeypatch.setattr(onednn._Primitives, "forward", wrong_on_nchw)
    _falls_back("(1, 16, 7, 6) x (12, 16, 3, 3) convolution: the output differs from Paddle's by up to nan")


@needs_onednn
def test_an_error_from_the_library_falls_back(fresh_onednn, monkeypatch):
    def refuse(status, what):
        raise RuntimeError(f"oneDNN {what} failed (dnnl_status_t 3)")
    monkeypatch.setattr(dnnl, "check", refuse)
    _falls_back("failed its self-check: oneDNN memory descriptor failed (dnnl_status_t 3)")


def test_the_check_covers_both_kernel_layouts():
    import math
    assert {math.prod(g.weight_shape) < math.prod(g.input_shape) for g in onednn_check.CASES} == {True, False}
    assert all(g.has_bias for g in onednn_check.CASES)
