import threading
from collections import OrderedDict

import pytest

from inade.backends import dnnl, onednn


@pytest.fixture
def fresh_onednn(monkeypatch):
    """oneDNN as in a new process: not loaded, not checked, no stream or
    primitives of an earlier engine (all restored afterwards)."""
    monkeypatch.setattr(dnnl, "lib", None)
    monkeypatch.setattr(dnnl, "engine", None)
    monkeypatch.setattr(dnnl, "_local", threading.local())
    monkeypatch.setattr(onednn, "_why_not", None)
    monkeypatch.setattr(onednn, "_cache", OrderedDict())


def _onednn_reason():
    return None if onednn.ready() else onednn.why_unavailable()


needs_onednn = pytest.mark.skipif(not onednn.ready(), reason=f"oneDNN: {_onednn_reason()}")
