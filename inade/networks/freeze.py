"""Gradients through a network without gradients for its weights."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def frozen(parameters):
    """Within the block, ``parameters`` take no gradient (backward still flows
    through the layers that use them, and skips their weight gradients);
    afterwards the trainable ones are trainable again, even on an error."""
    trainable = [p for p in parameters if not p.stop_gradient]
    for p in trainable:
        p.stop_gradient = True
    try:
        yield
    finally:
        for p in trainable:
            p.stop_gradient = False
