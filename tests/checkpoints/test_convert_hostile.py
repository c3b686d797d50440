"""Crafted .pth files through tools/convert.py: one error line, exit code 2,
no traceback, and memory bounded (the child's address space is limited and
its peak resident size is measured)."""
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import pytest

from .test_torch_pickle import HOSTILE, HUGE_NUMEL
from .torch_writer import hostile_tensor, write_legacy, write_zip, write_zip_bomb

CONVERT = [sys.executable, "-m", "inade", "convert"]
# Importing Paddle takes about 1 GB of address space (300 MB resident); what
# the crafted files ask for is 2 GiB to 8 GiB, or far more.
ADDRESS_SPACE = 3 << 30
RESIDENT_BOUND = 1 << 30


def _limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_bounded(args, timeout=120):
    """(exit code, stderr, peak resident bytes) of a child with a limited
    address space; os.wait4 gives this child's own peak, whatever ran before."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_limit_address_space)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                child.kill()
                os.wait4(child.pid, 0)
                raise AssertionError(f"{args} did not end within {timeout} s")
            time.sleep(0.05)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return child.returncode, err.read().decode(), usage.ru_maxrss * 1024


CASES = {
    "zero_strides": (write_zip, HOSTILE["zero_strides"]),
    "65_dims": (write_zip, HOSTILE["65_dims"]),
    "negative_stride": (write_zip, HOSTILE["negative_stride"]),
    "offset_past_end": (write_zip, HOSTILE["offset_past_end"]),
    "absurd_numel": (write_zip, HOSTILE["absurd_numel"]),
    "huge_numel": (write_zip, HUGE_NUMEL["zip"]),
    "legacy_zero_strides": (write_legacy, HOSTILE["zero_strides"]),
    "legacy_huge_numel": (write_legacy, HUGE_NUMEL["legacy"]),
    "zip_bomb": (None, r"entry 'archive/data/0' would inflate 2123778 bytes to 2147483648, more than 100 times"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_crafted_generator_file_is_one_line_in_bounded_memory(tmp_path, case):
    write, message = CASES[case]
    release = tmp_path / "release"
    release.mkdir()
    path = str(release / "best_net_G.pth")
    if write is None:
        write_zip_bomb(path)  # 2 MB deflated, 2 GiB declared
        assert os.path.getsize(path) < 3 << 20
    else:
        write(path, hostile_tensor(case.replace("legacy_", "")))
    code, stderr, resident = run_bounded(
        [*CONVERT, "--from", str(release), "--dataset", "custom", "-o", "data.label_nc=6",
         "--out", str(tmp_path / "out")]
    )
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(f"^error: {re.escape(path)}[: ].*{message}", lines[0]), stderr
    assert resident < RESIDENT_BOUND, f"{case}: peak resident {resident >> 20} MB"
    assert not (tmp_path / "out").exists()
