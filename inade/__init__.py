"""INADE: diverse semantic image synthesis with instance-adaptive normalization, in PaddlePaddle.

Importing the package changes nothing in the process (environment, warning
filters, streams). The `inade` command sets the CPU threads and MKL dispatch
before Paddle loads; a program of your own does the same with
``inade.runtime.prepare_process()`` before its first ``import paddle``."""
import importlib

__version__ = "0.1.0"

# Names of the API offered at the top level, imported on first use: importing
# Paddle changes the process (it sets OMP_NUM_THREADS, LD_LIBRARY_PATH and
# warning filters), which `import inade` must not do.
_LAZY = {"Synthesizer": "inade.synthesis"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'inade' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
