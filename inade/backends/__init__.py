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


class _ProcessChoice:
    """The process's backend: from use(), else the environment on first use.
    (State on an object, not module globals: Paddle's export transforms the
    functions it meets, and cannot transform ``global`` assignments.)"""

    def __init__(self):
        self.name = None
        self.lock = threading.Lock()

    def get(self) -> str:
        name = self.name  # set once; the lock only guards the first read of the environment
        if name is None:
            with self.lock:
                if self.name is None:
                    self.name = _from_environment()  # an invalid value is raised again at the next call
                name = self.name
        return name

    def set(self, name: str) -> None:
        with self.lock:
            self.name = name


_process_choice = _ProcessChoice()
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
    _process_choice.set(_checked(name, "backend "))


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
    return block if block is not None else _process_choice.get()


def fast() -> bool:
    """Whether inade's speed-ups may run (the onednn backend is active)."""
    return active() == "onednn"
