"""The bounded JSON reader behind style files, benchmark results and the data-check cache,
and the one-line refusals of hostile JSON by the commands that read them."""
import os
import subprocess
import sys

import pytest

from inade.json_files import MAX_JSON_BYTES, read_json


def _hostile_files(folder):
    files = {
        "deep": ("[" * 100_000) + ("]" * 100_000),
        "truncated": '{"z": [0.1, ',
        "binary": b"\x80\x03cos\nsystem\nq\x00.",  # a pickle's opening bytes
    }
    paths = {}
    for name, content in files.items():
        path = folder / f"{name}.json"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths[name] = path
    paths["oversized"] = folder / "oversized.json"
    with open(paths["oversized"], "wb") as f:
        f.truncate(MAX_JSON_BYTES + 1)  # sparse: refused from its size, never read
    return paths


def test_reads_json_and_refuses_each_hostile_file_with_a_value_error(tmp_path):
    (tmp_path / "good.json").write_text('{"a": [1, 2]}')
    assert read_json(str(tmp_path / "good.json")) == {"a": [1, 2]}
    paths = _hostile_files(tmp_path)
    expected = {"deep": "nested too deeply", "truncated": "invalid JSON", "binary": "not UTF-8 text",
                "oversized": f"more than the {MAX_JSON_BYTES}"}
    for name, message in expected.items():
        with pytest.raises(ValueError, match=message):
            read_json(str(paths[name]))
    with pytest.raises(ValueError, match="more than the 4"):
        read_json(str(tmp_path / "good.json"), max_bytes=4)
    with pytest.raises(FileNotFoundError):
        read_json(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("command", [["sample", "--num", "1", "--styles"], ["benchmark", "--compare"]])
def test_commands_refuse_hostile_json_in_one_line(tmp_path, command):
    for name, path in _hostile_files(tmp_path).items():
        arguments = command + [str(path)] + (["--out", str(tmp_path / "out")] if command[0] == "sample" else [])
        done = subprocess.run([sys.executable, "-m", "inade", *arguments], capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (name, done.stderr)
        assert str(path.name) in lines[0] and "Traceback" not in done.stderr
    assert not os.path.exists(tmp_path / "out")
