"""`import inade` changes nothing in the process; entry points (the `inade`
command, prepare_process) set threads and MKL before Paddle loads."""
import json
import os
import subprocess
import sys

from inade.runtime import available_cores

PROBE = "from inade.runtime import prepare_process; prepare_process(); import os, paddle; print(os.environ['OMP_NUM_THREADS'])"

UNTOUCHED = """
import json, os, sys, warnings
env, filters, streams = dict(os.environ), list(warnings.filters), (sys.stdout, sys.stderr, sys.stdin)
import inade, inade.cli, inade.resources, inade.runtime
print(json.dumps({"env": dict(os.environ) == env, "filters": warnings.filters == filters,
                  "streams": (sys.stdout, sys.stderr, sys.stdin) == streams, "paddle": "paddle" in sys.modules}))
"""


def _run(code, env):
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def _without_thread_settings():
    return {**os.environ, "OMP_NUM_THREADS": None, "INADE_CHOSE_OMP_NUM_THREADS": None, "MKL_DEBUG_CPU_TYPE": None}


def test_importing_inade_leaves_environment_warning_filters_and_streams_alone():
    done = _run(UNTOUCHED, _without_thread_settings())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"env": True, "filters": True, "streams": True, "paddle": False}
    assert done.stderr == ""


def test_an_entry_point_uses_every_core_and_keeps_paddle_from_warning_about_its_choice():
    done = _run(PROBE, _without_thread_settings())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(available_cores())
    assert "OMP_NUM_THREADS" not in done.stderr and "ccache" not in done.stderr


def test_a_users_own_thread_count_is_kept_and_paddle_may_say_what_it_thinks():
    done = _run(PROBE, {**_without_thread_settings(), "OMP_NUM_THREADS": "3"})
    assert done.stdout.strip() == "3" and "OMP_NUM_THREADS set to 3" in done.stderr


def test_child_processes_inherit_the_choice_without_the_warning():
    parent = ("from inade.runtime import prepare_process; prepare_process(); import subprocess, sys; "
              "sys.exit(subprocess.run([sys.executable, '-c', %r]).returncode)" % PROBE)
    done = _run(parent, _without_thread_settings())
    assert done.returncode == 0 and done.stdout.strip() == str(available_cores())
    assert "OMP_NUM_THREADS" not in done.stderr


def test_the_top_level_api_loads_paddle_only_when_it_is_used():
    code = "import sys, inade; assert 'paddle' not in sys.modules; from inade import Synthesizer; print(Synthesizer.__module__, 'paddle' in sys.modules)"
    done = _run(code, dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["inade.synthesis.synthesizer", "True"]
