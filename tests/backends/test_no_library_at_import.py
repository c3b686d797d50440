"""Importing inade loads no shared library: oneDNN is opened on first use."""
import json
import os
import subprocess
import sys
import textwrap

import inade

# Runs in a fresh interpreter: records every ctypes library opened, and the
# files mapped into the process before and after the imports.
PROGRAM = textwrap.dedent("""
    import ctypes, json, sys

    opened = []
    original = ctypes.CDLL.__init__

    def recording(self, name, *args, **kwargs):
        opened.append(str(name))
        original(self, name, *args, **kwargs)

    ctypes.CDLL.__init__ = recording

    def mapped():
        with open("/proc/self/maps") as maps:
            return {line.split()[-1] for line in maps if ".so" in line}

    at_start = mapped()
    import inade
    after_inade = mapped()
    import paddle  # Paddle's own libraries (its core links a oneDNN of its own)
    after_paddle = mapped()
    import inade.layers, inade.networks, inade.backends, inade.backends.conv
    from inade.networks import Generator
    Generator(3, ngf=4, noise_nc=4, crop_size=32)
    after_inade_layers = mapped()
    before_first_use = list(opened)
    from inade.backends import onednn
    ready = onednn.ready()
    print(json.dumps({"by_inade": sorted(after_inade - at_start),
                      "by_inade_layers": sorted(after_inade_layers - after_paddle),
                      "opened_before_first_use": before_first_use,
                      "opened_at_first_use": opened[len(before_first_use):], "ready": ready}))
""")


def test_import_loads_no_library_and_first_use_opens_onednn():
    # the inade under test, wherever it is installed
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(inade.__file__)))
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["by_inade"] == []  # import inade maps no file at all
    assert found["by_inade_layers"] == []  # the layers and networks add none to Paddle's
    assert found["opened_before_first_use"] == []
    if found["ready"]:
        assert len(found["opened_at_first_use"]) == 1 and found["opened_at_first_use"][0].endswith("libdnnl.so.3")
