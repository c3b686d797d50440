"""2-D convolutions on the CPU by oneDNN, called through its C API.

The paddlepaddle wheel ships oneDNN (``paddle/libs/libdnnl.so.3``) but its
eager ``conv2d`` kernel on the CPU is its own unfold + GEMM, which ran here at
36-51 GFLOP/s forward and backward for the generator's 64-128-channel layers
at 128-256 pixels. oneDNN's convolution on the same plain NCHW / OIHW tensors
(no layout change, no copy) ran the same layers at 70-195 GFLOP/s and the
wide ones at 215-290 (Intel Xeon, 2 cores; `tools/benchmark.py --conv-kernels`).

Tensors are passed by address: the input, weight and output gradient must be
dense float32 on the CPU (made so when they are views); outputs are new Paddle
tensors that oneDNN writes. Primitives are built once per geometry and kept
(a bounded cache). Where oneDNN cannot be loaded, `available()` says why and
inade.layers.conv uses Paddle's kernel.
"""
from __future__ import annotations

import ctypes
import os
import threading
from collections import OrderedDict
from typing import NamedTuple

import paddle
from paddle.autograd import PyLayer

_F32 = 3  # dnnl_f32
_FORWARD_TRAINING = 64  # dnnl_forward_training
_DIRECT = 1  # dnnl_convolution_direct
_IMPL_INFO = 8  # dnnl_query_impl_info_str
_SCRATCHPAD_MD = 136  # dnnl_query_scratchpad_md
_USER_SCRATCHPAD = 1  # dnnl_scratchpad_mode_user
ARG_SCRATCHPAD = 80
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
_MAX_DIMS = 12  # DNNL_MAX_NDIMS: dnnl_dims_t is int64_t[12]
_CACHE_SIZE = 256

_Dims = ctypes.c_int64 * _MAX_DIMS
_Handle = ctypes.c_void_p


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", _Handle)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]


def _declare(lib) -> None:
    handle_out = ctypes.POINTER(_Handle)
    dims = ctypes.POINTER(ctypes.c_int64)
    status = ctypes.c_int
    signatures = {
        "dnnl_version": (ctypes.POINTER(_Version), []),
        "dnnl_engine_create": (status, [handle_out, ctypes.c_int, ctypes.c_size_t]),
        "dnnl_stream_create": (status, [handle_out, _Handle, ctypes.c_uint]),
        "dnnl_stream_wait": (status, [_Handle]),
        "dnnl_memory_desc_create_with_strides": (status, [handle_out, ctypes.c_int, dims, ctypes.c_int, dims]),
        "dnnl_memory_desc_destroy": (status, [_Handle]),
        "dnnl_memory_create": (status, [handle_out, _Handle, _Handle, _Handle]),
        "dnnl_memory_destroy": (status, [_Handle]),
        "dnnl_convolution_forward_primitive_desc_create": (
            status, [handle_out, _Handle, ctypes.c_int, ctypes.c_int, _Handle, _Handle, _Handle, _Handle,
                     dims, dims, dims, dims, _Handle]),
        "dnnl_convolution_backward_data_primitive_desc_create": (
            status, [handle_out, _Handle, ctypes.c_int, _Handle, _Handle, _Handle, dims, dims, dims, dims,
                     _Handle, _Handle]),
        "dnnl_convolution_backward_weights_primitive_desc_create": (
            status, [handle_out, _Handle, ctypes.c_int, _Handle, _Handle, _Handle, _Handle, dims, dims, dims,
                     dims, _Handle, _Handle]),
        "dnnl_primitive_attr_create": (status, [handle_out]),
        "dnnl_primitive_attr_set_scratchpad_mode": (status, [_Handle, ctypes.c_int]),
        "dnnl_primitive_attr_destroy": (status, [_Handle]),
        "dnnl_primitive_desc_query_md": (_Handle, [_Handle, ctypes.c_int, ctypes.c_int]),
        "dnnl_memory_desc_get_size": (ctypes.c_size_t, [_Handle]),
        "dnnl_primitive_desc_query": (status, [_Handle, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]),
        "dnnl_primitive_desc_destroy": (status, [_Handle]),
        "dnnl_primitive_create": (status, [handle_out, _Handle]),
        "dnnl_primitive_destroy": (status, [_Handle]),
        "dnnl_primitive_execute": (status, [_Handle, _Handle, ctypes.c_int, ctypes.POINTER(_Arg)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


def _load():
    """(library, engine, None) or (None, None, why not)."""
    path = os.path.join(os.path.dirname(paddle.__file__), "libs", "libdnnl.so.3")
    if not os.path.exists(path):
        return None, None, f"this paddle has no oneDNN library ({path} not found)"
    try:
        lib = ctypes.CDLL(path)
        _declare(lib)
    except (OSError, AttributeError) as error:
        return None, None, f"could not load oneDNN from {path}: {error}"
    version = lib.dnnl_version().contents
    if version.major != 3:
        return None, None, f"oneDNN {version.major}.{version.minor} at {path}: this code speaks the 3.x C API"
    engine = _Handle()
    if lib.dnnl_engine_create(ctypes.byref(engine), 1, 0) != 0:  # dnnl_cpu, device 0
        return None, None, "oneDNN could not create a CPU engine"
    return lib, engine, None


_lib, _engine, _why_not = _load()
_local = threading.local()
_lock = threading.Lock()


def available() -> bool:
    return _lib is not None


def why_unavailable() -> str | None:
    return _why_not


def _check(status: int, what: str) -> None:
    if status != 0:
        raise RuntimeError(f"oneDNN {what} failed (dnnl_status_t {status})")


def _stream():
    stream = getattr(_local, "stream", None)
    if stream is None:
        stream = _Handle()
        _check(_lib.dnnl_stream_create(ctypes.byref(stream), _engine, 1), "stream creation")  # in order
        _local.stream = stream
    return stream


def _scratch(size: int):
    """This thread's scratch buffer of at least ``size`` bytes, kept between calls:
    a fresh buffer per call cost up to half the time of a backward pass in page
    faults. It grows to the largest backward pass's need (150 MB at the paper
    setting); see _forward_begins for when it is given back."""
    buffer = getattr(_local, "scratch", None)
    if buffer is None or buffer.shape[0] < size:
        _local.scratch = None  # free the old one before the new one is allocated
        buffer = _local.scratch = paddle.empty([size], dtype="uint8")
    return buffer


def _forward_begins() -> None:
    """A training forward pass follows a backward pass: give the backward's
    scratch buffer back. Training's memory peaks at the end of a forward pass,
    where that buffer would only add to the peak (2.91 -> 3.05 GB at the paper
    setting); the next backward grows it again, once."""
    if getattr(_local, "after_backward", False):
        _local.scratch = None
        _local.after_backward = False


def _plain_desc(shape):
    """A dense row-major float32 memory descriptor (NCHW, OIHW, O)."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= size
    desc = _Handle()
    _check(_lib.dnnl_memory_desc_create_with_strides(ctypes.byref(desc), len(shape), _Dims(*shape), _F32,
                                                     _Dims(*strides)), "memory descriptor")
    return desc


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
    """The forward, backward-data and backward-weights primitives of one geometry."""

    def __init__(self, geometry: Geometry):
        self.geometry = geometry
        self.descs, self.pds, self.primitives = {}, {}, {}
        self._building = threading.Lock()
        for name, shape in (("src", geometry.input_shape), ("weights", geometry.weight_shape),
                            ("dst", geometry.output_shape()), ("bias", geometry.weight_shape[:1])):
            self.descs[name] = _plain_desc(shape)
        d, bias = self.descs, self.descs["bias"] if geometry.has_bias else None
        # oneDNN counts dilation from 0 (no gap between taps)
        shape_args = (_Dims(*geometry.stride), _Dims(geometry.dilation[0] - 1, geometry.dilation[1] - 1),
                      _Dims(geometry.padding[0], geometry.padding[2]), _Dims(geometry.padding[1], geometry.padding[3]))
        # The caller passes the scratch memory (im2col buffers) with each call: with
        # the library's own, which is per thread, a primitive crashes when run
        # in a thread other than the one that created it (the web page's).
        attr = _Handle()
        _check(_lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attribute")
        try:
            _check(_lib.dnnl_primitive_attr_set_scratchpad_mode(attr, _USER_SCRATCHPAD), "scratchpad mode")
            forward, backward_data, backward_weights = _Handle(), _Handle(), _Handle()
            _check(_lib.dnnl_convolution_forward_primitive_desc_create(
                ctypes.byref(forward), _engine, _FORWARD_TRAINING, _DIRECT, d["src"], d["weights"], bias, d["dst"],
                *shape_args, attr), f"convolution setup for {geometry}")
            self.pds["forward"] = forward
            _check(_lib.dnnl_convolution_backward_data_primitive_desc_create(
                ctypes.byref(backward_data), _engine, _DIRECT, d["src"], d["weights"], d["dst"], *shape_args,
                forward, attr), f"backward-data setup for {geometry}")
            self.pds["backward_data"] = backward_data
            _check(_lib.dnnl_convolution_backward_weights_primitive_desc_create(
                ctypes.byref(backward_weights), _engine, _DIRECT, d["src"], d["weights"], bias, d["dst"],
                *shape_args, forward, attr), f"backward-weights setup for {geometry}")
            self.pds["backward_weights"] = backward_weights
        finally:
            _lib.dnnl_primitive_attr_destroy(attr)
        self.scratchpad = {kind: (_lib.dnnl_primitive_desc_query_md(pd, _SCRATCHPAD_MD, 0),) for kind, pd in self.pds.items()}
        self.scratchpad = {kind: (desc, _lib.dnnl_memory_desc_get_size(desc)) for kind, (desc,) in self.scratchpad.items()}
        # oneDNN's reference implementations (its fallback for shapes it has no
        # optimised kernel for, e.g. a single output channel with a bias) are far
        # slower than Paddle's kernel
        self.optimised = not any(self.implementation(kind).startswith("ref") for kind in self.pds)

    def implementation(self, kind: str) -> str:
        """The name of the implementation oneDNN chose for kind (forward, backward_data, backward_weights)."""
        name = ctypes.c_char_p()
        _check(_lib.dnnl_primitive_desc_query(self.pds[kind], _IMPL_INFO, 0, ctypes.byref(name)), "query")
        return name.value.decode()

    def primitive(self, kind: str):
        with self._building:
            if kind not in self.primitives:
                primitive = _Handle()
                _check(_lib.dnnl_primitive_create(ctypes.byref(primitive), self.pds[kind]), f"{kind} primitive")
                self.primitives[kind] = primitive
            return self.primitives[kind]

    def run(self, kind: str, tensors: dict) -> None:
        """tensors: {oneDNN argument id: (descriptor name, dense CPU tensor)}."""
        primitive = self.primitive(kind)
        scratch_desc, scratch_bytes = self.scratchpad[kind]
        buffers = [(arg, self.descs[desc], tensor) for arg, (desc, tensor) in tensors.items()]
        if scratch_bytes:
            buffers.append((ARG_SCRATCHPAD, scratch_desc, _scratch(scratch_bytes)))
        if kind != "forward":
            _local.after_backward = True
        memories = []
        try:
            for arg, desc, tensor in buffers:
                memory = _Handle()
                _check(_lib.dnnl_memory_create(ctypes.byref(memory), desc, _engine, tensor.data_ptr()), "memory")
                memories.append((arg, memory))
            args = (_Arg * len(memories))(*[_Arg(arg, memory) for arg, memory in memories])
            stream = _stream()
            _check(_lib.dnnl_primitive_execute(primitive, stream, len(memories), args), f"{kind} convolution")
            _check(_lib.dnnl_stream_wait(stream), "stream wait")
        finally:
            for _, memory in memories:
                _lib.dnnl_memory_destroy(memory)

    def __del__(self):
        # on eviction from the cache, once no caller still holds this object
        if _lib is None:  # interpreter shutdown
            return
        for primitive in self.primitives.values():
            _lib.dnnl_primitive_destroy(primitive)
        for pd in self.pds.values():
            _lib.dnnl_primitive_desc_destroy(pd)
        for desc in self.descs.values():
            _lib.dnnl_memory_desc_destroy(desc)


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
    return tensor if tensor.is_contiguous() else tensor.contiguous()


def forward(geometry: Geometry, x, weight, bias=None):
    """The convolution's output [B, Cout, Ho, Wo] (no autograd)."""
    x, weight = _dense(x), _dense(weight)
    out = paddle.empty(geometry.output_shape(), dtype=x.dtype)
    tensors = {ARG_SRC: ("src", x), ARG_WEIGHTS: ("weights", weight), ARG_DST: ("dst", out)}
    if bias is not None:
        tensors[ARG_BIAS] = ("bias", bias)
    primitives(geometry).run("forward", tensors)
    return out


class Conv2DFunction(PyLayer):
    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.save_for_backward(x, weight)
        ctx.geometry = geometry
        ctx.wants = (not x.stop_gradient, not weight.stop_gradient, bias is not None and not bias.stop_gradient)
        _forward_begins()
        return forward(geometry, x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = (_dense(t) for t in ctx.saved_tensor())
        grad = _dense(grad)
        geometry = ctx.geometry
        kernels = primitives(geometry)
        x_wants, weight_wants, bias_wants = ctx.wants
        grad_x = grad_weight = grad_bias = None
        if x_wants:
            grad_x = paddle.empty(geometry.input_shape, dtype=x.dtype)
            kernels.run("backward_data", {ARG_DIFF_DST: ("dst", grad), ARG_WEIGHTS: ("weights", weight),
                                          ARG_DIFF_SRC: ("src", grad_x)})
        if weight_wants or bias_wants:
            grad_weight = paddle.empty(geometry.weight_shape, dtype=x.dtype)
            tensors = {ARG_SRC: ("src", x), ARG_DIFF_DST: ("dst", grad), ARG_DIFF_WEIGHTS: ("weights", grad_weight)}
            if geometry.has_bias:
                grad_bias = paddle.empty(geometry.weight_shape[:1], dtype=x.dtype)
                tensors[ARG_DIFF_BIAS] = ("bias", grad_bias)
            kernels.run("backward_weights", tensors)
        grads = (grad_x, grad_weight if weight_wants else None)
        return grads + (grad_bias if bias_wants else None,) if geometry.has_bias else grads
