"""Process-level settings that must be made before paddle is imported.

Paddle pins OMP_NUM_THREADS to 1 when it is imported without one, which leaves
half of a 2-core machine idle, and the MKL inside the paddlepaddle wheel takes a
slow code path on AMD processors unless MKL_DEBUG_CPU_TYPE=5 is set before the
library loads. Both are applied only where the user has not chosen a value.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys


CHOSEN_THREADS = "INADE_CHOSE_OMP_NUM_THREADS"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _is_amd_cpu() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return "AuthenticAMD" in line
    except OSError:
        pass
    return False


def configure_cpu_environment() -> dict:
    """Set thread count and MKL dispatch for this process if the user has not.

    Returns the variables it set. Has no effect on a paddle that is already
    imported (the values are read when its libraries load), so entry points
    call it (through prepare_process) before anything imports paddle.
    """
    applied = {}
    if "paddle" in sys.modules:
        return applied
    if "OMP_NUM_THREADS" not in os.environ:
        applied["OMP_NUM_THREADS"] = str(available_cores())
        # child processes inherit the value; this marks it as inade's choice, not the user's
        applied[CHOSEN_THREADS] = applied["OMP_NUM_THREADS"]
    if "MKL_DEBUG_CPU_TYPE" not in os.environ and _is_amd_cpu():
        applied["MKL_DEBUG_CPU_TYPE"] = "5"
    os.environ.update(applied)
    return applied


def threads_are_ours() -> bool:
    """True when OMP_NUM_THREADS is the value inade chose (here or in a parent process)."""
    return os.environ.get("OMP_NUM_THREADS") is not None and os.environ.get("OMP_NUM_THREADS") == os.environ.get(CHOSEN_THREADS)


_PADDLE_THREAD_WARNING = ("WARNING: OMP_NUM_THREADS set to", "PLEASE USE OMP_NUM_THREADS WISELY")


def import_paddle_quietly() -> None:
    """Import paddle without its warning about OMP_NUM_THREADS > 1, which it
    prints on every import: the thread count is ours (configure_cpu_environment),
    not a user's mistake. Anything else it prints still reaches stderr."""
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        import paddle  # noqa: F401
    for line in captured.getvalue().splitlines():
        if not line.startswith(_PADDLE_THREAD_WARNING):
            print(line, file=sys.stderr)


# Paddle warns on every import about a C++ extension compiler cache that inade
# never uses, and its BatchNorm repeats the second on every training forward,
# describing its own default.
_PADDLE_NOISE = ("No ccache found", "When training, we now always track global mean and variance")


def prepare_process() -> dict:
    """What an entry point (the `inade` command, a script, a notebook) does first:
    threads and MKL as configure_cpu_environment sets them, Paddle's two
    warnings that say nothing about the user's work filtered out, and paddle
    imported without its complaint about a thread count inade chose.
    Returns the environment variables it set."""
    import warnings

    applied = configure_cpu_environment()
    for message in _PADDLE_NOISE:
        warnings.filterwarnings("ignore", message=message)
    if threads_are_ours():
        import_paddle_quietly()
    return applied
