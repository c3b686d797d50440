import os
import stat

from inade.atomic import atomic_write_bytes, atomic_write_text


def test_atomic_writes_replace_the_file_with_ordinary_permissions_and_leave_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    atomic_write_text(str(target), "one")
    atomic_write_bytes(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["file.txt"]
    mask = os.umask(0)
    os.umask(mask)
    # readable by others as files written with open() are, not mkstemp's owner-only 0600
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
