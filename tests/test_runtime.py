import os
import subprocess
import sys

import pytest

from inade.runtime import available_cores, release_large_blocks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = "import inade, os, paddle; print(os.environ['OMP_NUM_THREADS'])"


def _run(env):
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_inade_uses_every_core_and_keeps_paddle_from_warning_about_its_choice():
    done = _run({**os.environ, "OMP_NUM_THREADS": None, "INADE_CHOSE_OMP_NUM_THREADS": None})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(available_cores())
    assert "OMP_NUM_THREADS" not in done.stderr


def test_a_users_own_thread_count_is_kept_and_paddle_may_say_what_it_thinks():
    done = _run({**os.environ, "OMP_NUM_THREADS": "3", "INADE_CHOSE_OMP_NUM_THREADS": None})
    assert done.stdout.strip() == "3" and "OMP_NUM_THREADS set to 3" in done.stderr


def test_child_processes_inherit_the_choice_without_the_warning():
    parent = "import inade, subprocess, sys; sys.exit(subprocess.run([sys.executable, '-c', %r]).returncode)" % PROBE
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "INADE_CHOSE_OMP_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert done.returncode == 0 and done.stdout.strip() == str(available_cores())
    assert "OMP_NUM_THREADS" not in done.stderr


# Frees 40 blocks of 4 MB that sit between live 256 KB ones (a size no free
# list holds, so each lands right after its block), after an 8 MB block has
# been freed (which raises glibc's default mmap threshold above 4 MB): prints
# how many MB of the 160 stay resident.
HEAP_PROBE = """
import ctypes, sys
if sys.argv[1] == "inade":
    import inade
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
libc.free(libc.malloc(8 << 20))
before = rss()
blocks, pins = [], []
for _ in range(40):
    blocks.append(libc.malloc(4 << 20))
    libc.memset(blocks[-1], 1, 4 << 20)
    pins.append(libc.malloc(256 << 10))
for block in blocks:
    libc.free(block)
print((rss() - before) / 2**20)
"""


def _retained_mb(mode):
    done = subprocess.run([sys.executable, "-c", HEAP_PROBE, mode], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_large_blocks_go_back_to_the_system_once_inade_is_imported():
    assert _retained_mb("plain") > 100  # glibc's default keeps them resident in the heap
    assert _retained_mb("inade") < 20


def test_a_users_own_mmap_threshold_is_kept(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert release_large_blocks() is False
