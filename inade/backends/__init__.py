"""Which kernels run the networks: Paddle's own ops (the reference) or inade's
CPU speed-ups.

The layers in inade.layers and inade.networks are written in plain Paddle.
A few of their operations ask this package which kernel runs them:

- ``"onednn"`` (the default): convolutions by oneDNN's kernels on the CPU
  (inade.backends.onednn, checked against Paddle's kernel before first use),
  convolutions with few outputs as one matmul (narrow_conv), the INADE norm's
  batch norm and modulation as one recomputing node where the configuration
  asks for it (fused_norm), and spectral norm's closed-form backward
  (spectral_norm). Where a speed-up does not apply (GPU, other dtypes, an
  exported graph) the operation runs Paddle's kernel.
- ``"paddle"``: Paddle's ops only, as the model is written; what the tests
  compare the speed-ups against.

The default is the environment variable INADE_CONV (read once, on first use),
else ``"onednn"``. ``use(name)`` changes it for the process; ``using(name)``
for a ``with`` block in the current thread (threads started inside it begin
with the process's choice). This module imports neither Paddle nor a library.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import threading

from ..errors import ConfigError

VARIABLE = "INADE_CONV"
NAMES = ("onednn", "paddle")
DEFAULT = "onednn"

_lock = threading.Lock()
_process_choice: str | None = None  # from use(), or the environment on first use
_block_choice: contextvars.ContextVar = contextvars.ContextVar("inade_backend", default=None)


def _checked(name, where: str) -> str:
    if name not in NAMES:
        raise ConfigError(f"{where}{name!r}: expected one of {', '.join(NAMES)}")
    return name


def _from_environment() -> str:
    value = os.environ.get(VARIABLE)
    if value is None:
        return DEFAULT
    if value not in NAMES:
        raise ConfigError(f"environment variable {VARIABLE}={value!r}: expected one of {', '.join(NAMES)} "
                          f"(or unset: {DEFAULT})")
    return value


def use(name: str) -> None:
    """Run the networks with backend ``name`` ("onednn" or "paddle") in this process from now on."""
    global _process_choice
    checked = _checked(name, "backend ")
    with _lock:
        _process_choice = checked


@contextlib.contextmanager
def using(name: str):
    """``with using("paddle"):`` runs the block (in this thread) with backend ``name``."""
    token = _block_choice.set(_checked(name, "backend "))
    try:
        yield name
    finally:
        _block_choice.reset(token)


def active() -> str:
    """The backend operations run with now: a ``using`` block's, else the process's."""
    block = _block_choice.get()
    if block is not None:
        return block
    global _process_choice
    choice = _process_choice  # set once; the lock only guards the first read of the environment
    if choice is None:
        with _lock:
            if _process_choice is None:
                _process_choice = _from_environment()  # an invalid value is raised again at the next call
            choice = _process_choice
    return choice


def fast() -> bool:
    """Whether inade's speed-ups may run (the onednn backend is active)."""
    return active() == "onednn"
