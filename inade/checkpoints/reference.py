"""Map the authors' PyTorch state dicts (INADE / SPADE / CLADE releases) onto our networks.

Names mostly agree by construction; what differs is listed in ``_RENAMES``.
Linear weights are stored [out, in] by PyTorch and [in, out] by Paddle.
"""
from __future__ import annotations

import re

import numpy as np
import paddle
import paddle.nn as nn

from ..errors import CheckpointError

_DROP = re.compile(r"\.num_batches_tracked$")
_RENAMES = (
    # batch-norm running statistics
    (re.compile(r"\.running_mean$"), "._mean"),
    (re.compile(r"\.running_var$"), "._variance"),
    # CLADE: the class tables live in a ClassAffine module, the positional-map
    # convs beside them, the instance-edge conv in the norm
    (re.compile(r"\.class_specified_affine\.weight$"), ".class_weight"),
    (re.compile(r"\.class_specified_affine\.bias$"), ".class_bias"),
    (re.compile(r"\.class_specified_affine\.dist_conv_w\."), ".position_scale."),
    (re.compile(r"\.class_specified_affine\.dist_conv_b\."), ".position_shift."),
    (re.compile(r"\.inst_conv\."), ".edge_conv."),
    # INADE class tables (SPADE norms have no direct weight/bias)
    (re.compile(r"(\.norm_[01s])\.weight$"), r"\1.class_weight"),
    (re.compile(r"(\.norm_[01s])\.bias$"), r"\1.class_bias"),
    # discriminator: model{n}.0 is the conv, or model{n}.0.0 when it is wrapped with its norm
    (re.compile(r"^discriminator_(\d+)\.model(\d+)\.0\.0\."), r"scales.\1.layers.\2.conv."),
    (re.compile(r"^discriminator_(\d+)\.model(\d+)\.0\."), r"scales.\1.layers.\2.conv."),
)


def reference_to_paddle_name(name: str) -> str | None:
    """Our parameter name for a reference one, or None for entries we do not keep."""
    if _DROP.search(name):
        return None
    for pattern, replacement in _RENAMES:
        name = pattern.sub(replacement, name)
    return name


def _listing(items, limit=5):
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (f" (and {len(items) - limit} more)" if len(items) > limit else "")


def convert_reference_state(reference: dict, network: nn.Layer, source: str = "checkpoint") -> dict:
    """Rename and re-lay a reference state dict for ``network``; refuse on any
    missing key, unexpected key or shape mismatch, listing the first ones."""
    target = network.state_dict()
    linear_weights = {f"{name}.weight" for name, layer in network.named_sublayers() if isinstance(layer, nn.Linear)}
    converted = {}
    for name, value in reference.items():
        ours = reference_to_paddle_name(name)
        if ours is None:
            continue
        value = np.asarray(value)
        if ours in linear_weights and value.ndim == 2:
            value = value.T
        converted[ours] = (name, value)

    def source_layout(key, shape):
        # Report shapes as the checkpoint stores them ([out, in] for linear weights).
        return list(shape)[::-1] if key in linear_weights else list(shape)

    missing = [k for k in target if k not in converted]
    unexpected = [src for k, (src, _) in converted.items() if k not in target]
    mismatched = [
        f"{src} {source_layout(k, v.shape)} (expected {source_layout(k, target[k].shape)})"
        for k, (src, v) in converted.items()
        if k in target and list(v.shape) != list(target[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected {_listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatch {_listing(mismatched)}")
    if problems:
        raise CheckpointError(
            f"{source} does not fit the {type(network).__name__} of this configuration: " + "; ".join(problems)
        )
    return {k: np.ascontiguousarray(v, dtype=np.asarray(target[k]).dtype) for k, (_, v) in converted.items()}


# What torch.nn.DataParallel and DistributedDataParallel put before every name
# of the network they wrap, when the wrapper's state dict is saved.
_WRAPPER_PREFIX = "module."


def read_reference_state(path: str, key: str | None = None, key_option: str = "key=") -> dict:
    """The state dict of a reference ``.pth`` (without PyTorch), with the names
    the network had: a ``module.`` prefix on every name (a checkpoint saved
    from a DataParallel wrapper) is stripped. ``key`` and ``key_option`` as in
    read_torch_checkpoint (a state dict nested in a larger dict)."""
    from .torch_pickle import read_torch_checkpoint

    state = read_torch_checkpoint(path, key=key, key_option=key_option)
    if all(name.startswith(_WRAPPER_PREFIX) for name in state):
        state = {name[len(_WRAPPER_PREFIX) :]: value for name, value in state.items()}
    return state


def load_reference_checkpoint(network: nn.Layer, path: str) -> nn.Layer:
    """Read a reference ``.pth`` (without PyTorch) into ``network``."""
    state = convert_reference_state(read_reference_state(path), network, source=path)
    network.set_state_dict({k: paddle.to_tensor(v) for k, v in state.items()})
    return network
