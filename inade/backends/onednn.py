"""2-D convolutions on the CPU by oneDNN, called through its C API.

The paddlepaddle wheel ships oneDNN (``paddle/libs/libdnnl.so.3``) but its
eager ``conv2d`` kernel on the CPU is its own unfold + GEMM, several times
slower at the generator's sizes (docs/backends.md has the figures). oneDNN's
direct kernels want the activations channels-last (NHWC) and the weights in a
blocked layout of their choosing; on NCHW they fall back to an unfold + GEMM
of their own with a large unfolded copy. So a call whose activations outweigh
its weight reorders: the input (and the output gradient) to NHWC, the weight
to the kernel's layout, the results back to NCHW / OIHW. Where the weight is
the larger (the 1024-channel layers at 16-32 pixels) the NCHW kernels win:
the weight reorders would cost more than the faster kernels save.

Tensors are passed by address (inade.backends.dnnl): the input, weight and
output gradient must be dense float32 on the CPU (made so when they are
views); every result is a new Paddle tensor that oneDNN writes, and so is
every reordered copy (freed when the call ends). Primitives are built once per
geometry and kept (a bounded cache). ``ready()`` loads and checks the library
on first use in a process (inade.backends.onednn_check); where it cannot be
used, it says why once and inade.backends.conv runs Paddle's kernel.
"""
from __future__ import annotations

import ctypes
import math
import threading
import warnings
from collections import OrderedDict
from typing import NamedTuple

import paddle
from paddle.autograd import PyLayer

from . import dnnl
from .recording import records_gradient
from .dnnl import (ARG_BIAS, ARG_DIFF_BIAS, ARG_DIFF_DST, ARG_DIFF_SRC, ARG_DIFF_WEIGHTS, ARG_DST, ARG_SCRATCHPAD,
                   ARG_SRC, ARG_WEIGHTS)

_CACHE_SIZE = 256
_lock = threading.Lock()
_readiness_lock = threading.Lock()
_why_not: str | None = None  # why oneDNN is not used in this process ("" once it passed its check)


def ready() -> bool:
    """Whether oneDNN's kernels run here. The first call in a process loads the
    library, checks its version and compares a small convolution and its
    gradients with Paddle's kernel; on any failure it warns once, naming the
    reason, and every call answers False from then on."""
    global _why_not
    if _why_not is None:
        with _readiness_lock:
            if _why_not is None:
                from .onednn_check import failed_check

                reason = failed_check()
                if reason:
                    warnings.warn(f"CPU convolutions run Paddle's kernel, several times slower here: {reason}",
                                  stacklevel=3)
                _why_not = reason or ""
    return not _why_not


def why_unavailable() -> str | None:
    """Why oneDNN is not used (None when it is, or before ready() was asked)."""
    return _why_not or None


_CHANNELS_LAST = (0, 2, 3, 1)


class Geometry(NamedTuple):
    """Everything a convolution's primitives depend on."""
    input_shape: tuple
    weight_shape: tuple
    has_bias: bool
    stride: tuple  # (sh, sw)
    dilation: tuple  # (dh, dw), 1 = none
    padding: tuple  # (top, bottom, left, right)

    def output_shape(self) -> tuple:
        batch, _, height, width = self.input_shape
        out_channels, _, kh, kw = self.weight_shape
        top, bottom, left, right = self.padding
        out_h = (height + top + bottom - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        out_w = (width + left + right - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        return batch, out_channels, out_h, out_w


class _Primitives:
    """One geometry's convolutions (forward, backward_data, backward_weights),
    and the reorders into and out of the layouts their kernels read ("_kernel":
    channels-last activations and blocked weights, or Paddle's own layouts)."""

    def __init__(self, geometry: Geometry):
        self.geometry = geometry
        self.descs, self.pds, self.primitives, self.scratchpad = {}, {}, {}, {}
        self._building = threading.Lock()
        # Where the weight outweighs the activations (the generator's 1024-channel
        # layers at 16-32 pixels), reordering it each call costs more than the
        # channels-last kernels save: there the kernels take Paddle's NCHW and
        # OIHW as they are (and unfold, with a large scratch buffer).
        self.channels_last = math.prod(geometry.weight_shape) < math.prod(geometry.input_shape)
        layout = _CHANNELS_LAST if self.channels_last else None
        for name, shape in (("src", geometry.input_shape), ("dst", geometry.output_shape())):
            self.descs[name] = dnnl.describe(shape)  # NCHW, as Paddle holds them
            self.descs[name + "_kernel"] = dnnl.describe(shape, layout)
        self.descs["weights"] = dnnl.describe(geometry.weight_shape)  # OIHW
        self.descs["bias"] = dnnl.describe(geometry.weight_shape[:1])
        # the weight layout the convolutions are asked for: any they like, or OIHW
        if self.channels_last:
            asked = dnnl.Handle()
            dnnl.check(dnnl.lib.dnnl_memory_desc_create_with_tag(
                ctypes.byref(asked), 4, dnnl.Dims(*geometry.weight_shape), dnnl.F32, dnnl.FORMAT_ANY),
                "memory descriptor")
        else:
            asked = dnnl.describe(geometry.weight_shape)
        self.descs["asked_weights"] = asked
        attr = dnnl.Handle()
        dnnl.check(dnnl.lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attribute")
        try:
            # The caller passes the scratch memory with each call: the library's
            # own is per thread, and a primitive crashed when run in a thread
            # other than the one that built it (the web page's request threads).
            dnnl.check(dnnl.lib.dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl.USER_SCRATCHPAD),
                       "scratchpad mode")
            self._convolutions(attr)
            self._reorders(attr)
        finally:
            dnnl.lib.dnnl_primitive_attr_destroy(attr)
        for kind, pd in self.pds.items():
            desc = dnnl.lib.dnnl_primitive_desc_query_md(pd, dnnl.SCRATCHPAD_MD, 0)
            self.scratchpad[kind] = (desc, dnnl.lib.dnnl_memory_desc_get_size(desc))
        # oneDNN's reference implementations (its fallback for shapes it has no
        # optimised kernel for, e.g. a single output channel with a bias) are far
        # slower than Paddle's kernel
        self.optimised = not any(self.implementation(kind).startswith("ref") for kind in self.CONVOLUTIONS)

    CONVOLUTIONS = ("forward", "backward_data", "backward_weights")

    def _convolutions(self, attr) -> None:
        g, d = self.geometry, self.descs
        bias = d["bias"] if g.has_bias else None
        # oneDNN counts dilation from 0 (no gap between taps)
        shape_args = (dnnl.Dims(*g.stride), dnnl.Dims(g.dilation[0] - 1, g.dilation[1] - 1),
                      dnnl.Dims(g.padding[0], g.padding[2]), dnnl.Dims(g.padding[1], g.padding[3]))
        forward, backward_data, backward_weights = dnnl.Handle(), dnnl.Handle(), dnnl.Handle()
        dnnl.check(dnnl.lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(forward), dnnl.engine, dnnl.FORWARD_TRAINING, dnnl.DIRECT, d["src_kernel"], d["asked_weights"],
            bias, d["dst_kernel"], *shape_args, attr), f"convolution setup for {g}")
        self.pds["forward"] = forward
        dnnl.check(dnnl.lib.dnnl_convolution_backward_data_primitive_desc_create(
            ctypes.byref(backward_data), dnnl.engine, dnnl.DIRECT, d["src_kernel"], d["asked_weights"], d["dst_kernel"],
            *shape_args, forward, attr), f"backward-data setup for {g}")
        self.pds["backward_data"] = backward_data
        dnnl.check(dnnl.lib.dnnl_convolution_backward_weights_primitive_desc_create(
            ctypes.byref(backward_weights), dnnl.engine, dnnl.DIRECT, d["src_kernel"], d["asked_weights"], bias,
            d["dst_kernel"], *shape_args, forward, attr), f"backward-weights setup for {g}")
        self.pds["backward_weights"] = backward_weights
        # the weight layouts the kernels chose (owned by their descriptors)
        d["forward_weights"] = dnnl.lib.dnnl_primitive_desc_query_md(forward, dnnl.WEIGHTS_MD, 0)
        d["backward_data_weights"] = dnnl.lib.dnnl_primitive_desc_query_md(backward_data, dnnl.WEIGHTS_MD, 0)
        d["backward_weights_weights"] = dnnl.lib.dnnl_primitive_desc_query_md(backward_weights,
                                                                              dnnl.DIFF_WEIGHTS_MD, 0)

    # reorder name: (from descriptor, to descriptor)
    REORDERS = {"src_in": ("src", "src_kernel"), "dst_out": ("dst_kernel", "dst"), "diff_dst_in": ("dst", "dst_kernel"),
                "diff_src_out": ("src_kernel", "src"), "weights_forward": ("weights", "forward_weights"),
                "weights_backward": ("weights", "backward_data_weights"),
                "diff_weights_out": ("backward_weights_weights", "weights")}

    def _reorders(self, attr) -> None:
        for name, (source, target) in self.REORDERS.items():
            if dnnl.lib.dnnl_memory_desc_equal(self.descs[source], self.descs[target]):
                continue  # same layout (e.g. one channel): the tensor is used as it is
            pd = dnnl.Handle()
            dnnl.check(dnnl.lib.dnnl_reorder_primitive_desc_create(
                ctypes.byref(pd), self.descs[source], dnnl.engine, self.descs[target], dnnl.engine, attr),
                f"{name} reorder")
            self.pds[name] = pd

    def implementation(self, kind: str) -> str:
        """The name of the implementation oneDNN chose for ``kind``."""
        return dnnl.implementation(self.pds[kind])

    def _primitive(self, kind: str):
        with self._building:
            if kind not in self.primitives:
                primitive = dnnl.Handle()
                dnnl.check(dnnl.lib.dnnl_primitive_create(ctypes.byref(primitive), self.pds[kind]),
                           f"{kind} primitive")
                self.primitives[kind] = primitive
            return self.primitives[kind]

    def _run(self, kind: str, buffers: list) -> None:
        """buffers: [(oneDNN argument id, descriptor name, dense CPU tensor)]."""
        scratch_desc, scratch_bytes = self.scratchpad[kind]
        buffers = [(arg, self.descs[desc], tensor) for arg, desc, tensor in buffers]
        if scratch_bytes:
            buffers.append((ARG_SCRATCHPAD, scratch_desc, dnnl.scratch(scratch_bytes)))
        if kind in ("backward_data", "backward_weights"):
            dnnl.backward_ran()
        dnnl.execute(self._primitive(kind), buffers, kind)

    def _new(self, desc: str, shape):
        """A new tensor for descriptor ``desc``'s memory: float32 of the logical
        ``shape`` where the sizes agree (any dense layout), raw bytes where the
        layout pads (blocked weights, e.g. 3 output channels padded to 16)."""
        size = dnnl.lib.dnnl_memory_desc_get_size(self.descs[desc])
        if size == 4 * math.prod(shape):
            return paddle.empty(list(shape), dtype="float32")
        return paddle.empty([size], dtype="uint8")

    def _reorder(self, name: str, tensor, shape):
        """``tensor`` (of the logical ``shape``) in the layout reorder ``name``
        leads to; itself where the two layouts are the same."""
        if name not in self.pds:
            return tensor
        source, target = self.REORDERS[name]
        out = self._new(target, shape)
        self._run(name, [(ARG_SRC, source, tensor), (ARG_DST, target, out)])
        return out

    def forward(self, x, weight, bias):
        g = self.geometry
        x_kernel = self._reorder("src_in", x, g.input_shape)
        weight_blocked = self._reorder("weights_forward", weight, g.weight_shape)
        out_kernel = self._new("dst_kernel", g.output_shape())
        buffers = [(ARG_SRC, "src_kernel", x_kernel), (ARG_WEIGHTS, "forward_weights", weight_blocked),
                   (ARG_DST, "dst_kernel", out_kernel)]
        if bias is not None:
            buffers.append((ARG_BIAS, "bias", bias))
        self._run("forward", buffers)
        del x_kernel, weight_blocked  # free before the output's copy is made
        return self._reorder("dst_out", out_kernel, g.output_shape())

    def backward_data(self, grad_kernel, weight):
        g = self.geometry
        weight_blocked = self._reorder("weights_backward", weight, g.weight_shape)
        grad_x_kernel = self._new("src_kernel", g.input_shape)
        self._run("backward_data", [(ARG_DIFF_DST, "dst_kernel", grad_kernel),
                                    (ARG_WEIGHTS, "backward_data_weights", weight_blocked),
                                    (ARG_DIFF_SRC, "src_kernel", grad_x_kernel)])
        del weight_blocked
        return self._reorder("diff_src_out", grad_x_kernel, g.input_shape)

    def backward_weights(self, grad_kernel, x):
        """(weight gradient [OIHW], bias gradient [O] or None)."""
        g = self.geometry
        x_kernel = self._reorder("src_in", x, g.input_shape)
        grad_weight_blocked = self._new("backward_weights_weights", g.weight_shape)
        buffers = [(ARG_SRC, "src_kernel", x_kernel), (ARG_DIFF_DST, "dst_kernel", grad_kernel),
                   (ARG_DIFF_WEIGHTS, "backward_weights_weights", grad_weight_blocked)]
        grad_bias = None
        if g.has_bias:
            grad_bias = paddle.empty(list(g.weight_shape[:1]), dtype="float32")
            buffers.append((ARG_DIFF_BIAS, "bias", grad_bias))
        self._run("backward_weights", buffers)
        del x_kernel
        return self._reorder("diff_weights_out", grad_weight_blocked, g.weight_shape), grad_bias

    def gradients(self, grad, x, weight, wants=(True, True, True)):
        """(input, weight, bias) gradients for the output gradient ``grad``
        (dense, NCHW); those not in ``wants`` (and the bias's without a bias) are None."""
        x_wants, weight_wants, bias_wants = wants
        grad_kernel = self._reorder("diff_dst_in", grad, self.geometry.output_shape())
        grad_x = self.backward_data(grad_kernel, weight) if x_wants else None
        grad_weight = grad_bias = None
        if weight_wants or bias_wants:
            grad_weight, grad_bias = self.backward_weights(grad_kernel, x)
        return grad_x, grad_weight if weight_wants else None, grad_bias if bias_wants else None

    def __del__(self):
        # on eviction from the cache, once no caller still holds this object
        if dnnl is None or dnnl.lib is None:  # interpreter shutdown
            return
        for primitive in self.primitives.values():
            dnnl.lib.dnnl_primitive_destroy(primitive)
        for pd in self.pds.values():
            dnnl.lib.dnnl_primitive_desc_destroy(pd)
        for name in ("src", "src_kernel", "dst", "dst_kernel", "weights", "bias", "asked_weights"):
            if name in self.descs:
                dnnl.lib.dnnl_memory_desc_destroy(self.descs[name])


_cache: OrderedDict = OrderedDict()


def primitives(geometry: Geometry) -> _Primitives:
    with _lock:
        found = _cache.get(geometry)
        if found is None:
            found = _cache[geometry] = _Primitives(geometry)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(geometry)
        return found


def _dense(tensor):
    """``tensor`` with its elements packed in order, as the raw pointers handed
    to oneDNN assume (a strided view would be read as the wrong elements)."""
    if tensor is None:
        return None
    return tensor if tensor.is_contiguous() else tensor.contiguous()


def convolve(kernels: _Primitives, x, weight, bias=None):
    """The convolution ``kernels`` (from primitives) computes, with autograd
    where an operand wants a gradient."""
    if not records_gradient(x, weight, bias):
        return kernels.forward(_dense(x), _dense(weight), _dense(bias))
    return _Conv2DFunction.apply(x, weight, bias, kernels)


class _Conv2DFunction(PyLayer):
    @staticmethod
    def forward(ctx, x, weight, bias, kernels):
        ctx.save_for_backward(x, weight)
        ctx.kernels = kernels  # kept alive until the backward, even if the cache drops it
        ctx.wants = (not x.stop_gradient, not weight.stop_gradient, bias is not None and not bias.stop_gradient)
        dnnl.forward_begins()
        return kernels.forward(_dense(x), _dense(weight), _dense(bias))

    @staticmethod
    def backward(ctx, grad):
        x, weight = (_dense(t) for t in ctx.saved_tensor())
        grad_x, grad_weight, grad_bias = ctx.kernels.gradients(_dense(grad), x, weight, ctx.wants)
        return (grad_x, grad_weight, grad_bias) if ctx.kernels.geometry.has_bias else (grad_x, grad_weight)
