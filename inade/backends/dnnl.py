"""The part of oneDNN's C API that inade's convolutions use (inade.backends.onednn),
called through ctypes on the library the paddlepaddle wheel ships
(``paddle/libs/libdnnl.so.3``): no compiler, no extra package.

The enum values below were copied from oneDNN's headers and checked for the
versions in TESTED_VERSIONS; a library outside that range is not called (a
wrong value would corrupt memory rather than raise). Nothing is loaded until
``load()``; ``lib`` and ``engine`` are None until then.
"""
from __future__ import annotations

import ctypes
import os
import threading

import paddle

# [lowest, first untested) full versions the constants below were checked and
# run with: the oneDNN the paddlepaddle 3.3 wheels ship (docs/backends.md says
# how to widen it).
TESTED_VERSIONS = ((3, 6, 0), (3, 7, 0))
LIBRARY = "libdnnl.so.3"

F32 = 3  # dnnl_f32
FORWARD_TRAINING = 64  # dnnl_forward_training
DIRECT = 1  # dnnl_convolution_direct
FORMAT_ANY = 1  # dnnl_format_tag_any: the primitive chooses the layout
IMPL_INFO = 8  # dnnl_query_impl_info_str
WEIGHTS_MD, DIFF_WEIGHTS_MD, SCRATCHPAD_MD = 131, 132, 136  # dnnl_query_*_md
USER_SCRATCHPAD = 1  # dnnl_scratchpad_mode_user
ARG_SCRATCHPAD = 80
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
MAX_DIMS = 12  # DNNL_MAX_NDIMS: dnnl_dims_t is int64_t[12]
Dims = ctypes.c_int64 * MAX_DIMS
Handle = ctypes.c_void_p


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", Handle)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]


def _declare(lib) -> None:
    handle_out = ctypes.POINTER(Handle)
    dims = ctypes.POINTER(ctypes.c_int64)
    status = ctypes.c_int
    signatures = {
        "dnnl_version": (ctypes.POINTER(_Version), []),
        "dnnl_engine_create": (status, [handle_out, ctypes.c_int, ctypes.c_size_t]),
        "dnnl_stream_create": (status, [handle_out, Handle, ctypes.c_uint]),
        "dnnl_stream_wait": (status, [Handle]),
        "dnnl_memory_desc_create_with_strides": (status, [handle_out, ctypes.c_int, dims, ctypes.c_int, dims]),
        "dnnl_memory_desc_create_with_tag": (status, [handle_out, ctypes.c_int, dims, ctypes.c_int, ctypes.c_int]),
        "dnnl_memory_desc_equal": (ctypes.c_int, [Handle, Handle]),
        "dnnl_reorder_primitive_desc_create": (status, [handle_out, Handle, Handle, Handle, Handle, Handle]),
        "dnnl_memory_desc_destroy": (status, [Handle]),
        "dnnl_memory_create": (status, [handle_out, Handle, Handle, Handle]),
        "dnnl_memory_destroy": (status, [Handle]),
        "dnnl_convolution_forward_primitive_desc_create": (
            status, [handle_out, Handle, ctypes.c_int, ctypes.c_int, Handle, Handle, Handle, Handle,
                     dims, dims, dims, dims, Handle]),
        "dnnl_convolution_backward_data_primitive_desc_create": (
            status, [handle_out, Handle, ctypes.c_int, Handle, Handle, Handle, dims, dims, dims, dims,
                     Handle, Handle]),
        "dnnl_convolution_backward_weights_primitive_desc_create": (
            status, [handle_out, Handle, ctypes.c_int, Handle, Handle, Handle, Handle, dims, dims, dims,
                     dims, Handle, Handle]),
        "dnnl_primitive_attr_create": (status, [handle_out]),
        "dnnl_primitive_attr_set_scratchpad_mode": (status, [Handle, ctypes.c_int]),
        "dnnl_primitive_attr_destroy": (status, [Handle]),
        "dnnl_primitive_desc_query_md": (Handle, [Handle, ctypes.c_int, ctypes.c_int]),
        "dnnl_memory_desc_get_size": (ctypes.c_size_t, [Handle]),
        "dnnl_primitive_desc_query": (status, [Handle, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]),
        "dnnl_primitive_desc_destroy": (status, [Handle]),
        "dnnl_primitive_create": (status, [handle_out, Handle]),
        "dnnl_primitive_destroy": (status, [Handle]),
        "dnnl_primitive_execute": (status, [Handle, Handle, ctypes.c_int, ctypes.POINTER(_Arg)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


class Unavailable(Exception):
    """oneDNN cannot be used in this process; the message says why."""


def library_path() -> str:
    return os.path.join(os.path.dirname(paddle.__file__), "libs", LIBRARY)


def _open(path: str):
    """The library at ``path`` with its functions' signatures declared."""
    if not os.path.exists(path):
        raise Unavailable(f"this paddle has no oneDNN library ({path} not found)")
    try:
        opened = ctypes.CDLL(path)
        _declare(opened)
    except (OSError, AttributeError) as error:
        raise Unavailable(f"could not load oneDNN from {path}: {error}") from None
    return opened


def library_version(opened) -> tuple:
    """(major, minor, patch) of an opened library."""
    found = opened.dnnl_version().contents
    return found.major, found.minor, found.patch


def _checked_version(found: tuple, path: str) -> None:
    lowest, untested = TESTED_VERSIONS
    if not lowest <= tuple(found) < untested:
        raise Unavailable(f"oneDNN {'.'.join(map(str, found))} at {path} is outside the versions this binding's "
                          f"constants were checked for ({'.'.join(map(str, lowest))} up to, not including, "
                          f"{'.'.join(map(str, untested))})")


def load() -> None:
    """Open the library, check its version and create the CPU engine (once);
    raises Unavailable (nothing kept) where it cannot be used."""
    global lib, engine
    if lib is not None:
        return
    path = library_path()
    opened = _open(path)
    _checked_version(library_version(opened), path)
    created = Handle()
    if opened.dnnl_engine_create(ctypes.byref(created), 1, 0) != 0:  # dnnl_cpu, device 0
        raise Unavailable("oneDNN could not create a CPU engine")
    lib, engine = opened, created


lib = None
engine = None
_local = threading.local()


def check(status: int, what: str) -> None:
    if status != 0:
        raise RuntimeError(f"oneDNN {what} failed (dnnl_status_t {status})")


def stream():
    """This thread's in-order execution stream."""
    queue = getattr(_local, "stream", None)
    if queue is None:
        queue = Handle()
        check(lib.dnnl_stream_create(ctypes.byref(queue), engine, 1), "stream creation")  # in order
        _local.stream = queue
    return queue


def scratch(size: int):
    """This thread's scratch buffer of at least ``size`` bytes, kept between calls
    (a fresh buffer per call costs page faults in every backward pass). It grows
    to the largest backward pass's need; see forward_begins for when it is given
    back."""
    buffer = getattr(_local, "scratch", None)
    if buffer is None or buffer.shape[0] < size:
        _local.scratch = None  # free the old one before the new one is allocated
        buffer = _local.scratch = paddle.empty([size], dtype="uint8")
    return buffer


def backward_ran() -> None:
    """A backward pass used this thread's scratch buffer (see forward_begins)."""
    _local.after_backward = True


def forward_begins() -> None:
    """A training forward pass follows a backward pass: give the backward's
    scratch buffer back. Training's memory peaks at the end of a forward pass,
    where that buffer would only add to the peak; the next backward grows it
    again, once."""
    if getattr(_local, "after_backward", False):
        _local.scratch = None
        _local.after_backward = False


def describe(shape, order=None):
    """A dense float32 memory descriptor of the logical ``shape`` whose axes are
    laid out in ``order`` (outermost first; default: as given, NCHW / OIHW)."""
    order = list(range(len(shape))) if order is None else order
    strides, step = [0] * len(shape), 1
    for axis in reversed(order):
        strides[axis] = step
        step *= shape[axis]
    desc = Handle()
    check(lib.dnnl_memory_desc_create_with_strides(ctypes.byref(desc), len(shape), Dims(*shape), F32,
                                                   Dims(*strides)), "memory descriptor")
    return desc


def implementation(pd) -> str:
    """The name of the implementation a primitive descriptor chose."""
    name = ctypes.c_char_p()
    check(lib.dnnl_primitive_desc_query(pd, IMPL_INFO, 0, ctypes.byref(name)), "query")
    return name.value.decode()


def execute(primitive, buffers: list, what: str) -> None:
    """Run ``primitive`` on buffers [(argument id, memory descriptor, dense CPU tensor)]."""
    memories = []
    try:
        for arg, desc, tensor in buffers:
            memory = Handle()
            check(lib.dnnl_memory_create(ctypes.byref(memory), desc, engine, tensor.data_ptr()), "memory")
            memories.append((arg, memory))
        args = (_Arg * len(memories))(*[_Arg(arg, memory) for arg, memory in memories])
        queue = stream()
        check(lib.dnnl_primitive_execute(primitive, queue, len(memories), args), what)
        check(lib.dnnl_stream_wait(queue), "stream wait")
    finally:
        for _, memory in memories:
            lib.dnnl_memory_destroy(memory)


def version() -> str | None:
    """The loaded oneDNN's version, e.g. 3.6.2 (None before load())."""
    return None if lib is None else ".".join(map(str, library_version(lib)))
