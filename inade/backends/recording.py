"""Whether an operation records a gradient: the question every speed-up asks
before choosing between its autograd node and a plain (or in-place) path."""
from __future__ import annotations

import paddle


def records_gradient(*tensors) -> bool:
    """True when gradients are enabled and at least one of ``tensors`` (None
    entries skipped, e.g. a missing bias) takes one: an operation on them now
    becomes a node of the backward graph."""
    return paddle.is_grad_enabled() and any(t is not None and not t.stop_gradient for t in tensors)
