"""tools/*.py stay for users of a clone: each is a thin wrapper of one `inade`
subcommand, without path edits, and runs as a script."""
import ast
import glob
import os
import subprocess
import sys

from inade.cli import COMMANDS


def _wrapped_command(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_command"]
    assert len(calls) == 1, f"{path} should call run_command once"
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "path" not in names, f"{path} edits sys.path"
    return calls[0].args[0].value


def test_every_tool_wraps_one_subcommand_of_the_same_name(source_tree):
    tools = sorted(glob.glob(os.path.join(source_tree, "tools", "*.py")))
    wrapped = {os.path.basename(p)[:-3].replace("_", "-"): _wrapped_command(p) for p in tools}
    assert wrapped == {name: name for name in COMMANDS}


def test_a_tool_runs_as_a_script(source_tree, tmp_path):
    tool = os.path.join(source_tree, "tools", "export_procedural.py")
    done = subprocess.run([sys.executable, tool, str(tmp_path / "out"), "--num", "1", "--size", "32"],
                          capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert os.path.isfile(tmp_path / "out" / "labels" / "000000.png")
