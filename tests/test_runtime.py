import os
import subprocess
import sys

from inade.runtime import available_cores

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
