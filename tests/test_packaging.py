"""The wheel built from the checkout is a complete install: every module, the
configurations, the shipped model and its example maps, the page's files, the
`inade` command, and a declared distribution for every third-party import.
(CI installs this wheel in a fresh venv and runs the suite against it.)"""
import ast
import configparser
import glob
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser

import pytest

# import name -> distribution on the package index
DISTRIBUTIONS = {"PIL": "pillow", "cv2": "opencv-python-headless", "yaml": "pyyaml", "paddle": "paddlepaddle",
                 "gradio_client": "gradio"}  # gradio requires the gradio_client of its version
# imported only by optional features, each declared in this extra
OPTIONAL = {"visualdl": "visualdl", "matplotlib": "notebook", "gradio": "app"}
# the browser test installs it itself and skips without it (CI requires it: INADE_REQUIRE_BROWSER)
TESTS_OPTIONAL = {"playwright"}


@pytest.fixture(scope="module")
def wheel(source_tree, tmp_path_factory):
    # built from a copy: the build writes build/ and *.egg-info beside the sources
    copy = tmp_path_factory.mktemp("source") / "inade"
    shutil.copytree(source_tree, copy, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "runs", "output"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--quiet", "-w", str(out), str(copy)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (path,) = glob.glob(str(out / "inade-*.whl"))
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    return names, metadata, entry_points


def _files(root, folder):
    base = os.path.join(root, folder)
    return sorted(os.path.relpath(p, base).replace(os.sep, "/")
                  for p in glob.glob(os.path.join(base, "**", "*"), recursive=True)
                  if os.path.isfile(p) and "__pycache__" not in p)


def test_the_wheel_carries_every_module_the_configurations_the_model_and_the_demo(wheel, source_tree):
    names, _, _ = wheel
    modules = [f"inade/{p}" for p in _files(source_tree, "inade") if p.endswith(".py")]
    assert [m for m in modules if m not in names] == []
    configs = _files(source_tree, "configs")
    assert "procedural.yaml" in configs and [c for c in configs if f"inade/configs/{c}" not in names] == []
    models = _files(source_tree, "models")
    assert {"procedural/model.safetensors", "procedural/example_label.png", "procedural/example_instance.png"} <= set(models)
    assert [m for m in models if f"inade/models/{m}" not in names] == []
    assert "inade/app/demo.py" in names  # the web demo (its page is Gradio's, no files of ours)


def test_the_wheel_installs_the_inade_command(wheel):
    parser = configparser.ConfigParser()
    parser.read_string(wheel[2])
    assert dict(parser["console_scripts"]) == {"inade": "inade.cli:main"}


def _third_party_imports(folder):
    found = {}
    for path in glob.glob(os.path.join(folder, "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top not in ("inade", "tests"):
                    found.setdefault(top, os.path.relpath(path, folder))
    return found


def _requirements(metadata):
    """{extra or None: set of distribution names}; an extra that names inade[...] includes those extras."""
    declared = {}
    for line in metadata.get_all("Requires-Dist") or []:
        name = re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower()
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", line)
        included = re.search(r"\[([^\]]+)\]", line.split(";")[0]) if name == "inade" else None
        target = declared.setdefault(extra.group(1) if extra else None, set())
        target.update({f"inade[{e.strip()}]" for e in included.group(1).split(",")} if included else {name})
    for extra, names in declared.items():
        for included in [n for n in names if n.startswith("inade[")]:
            names |= declared[included[len("inade["):-1]]
    return declared


def test_every_third_party_import_is_a_declared_dependency(wheel, source_tree):
    declared = _requirements(wheel[1])
    for module, where in _third_party_imports(os.path.join(source_tree, "inade")).items():
        distribution = DISTRIBUTIONS.get(module, module).lower()
        if module in OPTIONAL:
            assert distribution in declared.get(OPTIONAL[module], set()), f"{module} ({where}) not in extra {OPTIONAL[module]}"
        else:
            assert distribution in declared[None], f"{where} imports {module}: declare {distribution} in pyproject.toml"
    assert {"paddlepaddle", "scipy"} <= declared[None]


def test_the_test_extra_brings_what_the_tests_import(wheel, source_tree):
    declared = _requirements(wheel[1])
    available = declared[None] | declared["test"]
    for module, where in _third_party_imports(os.path.join(source_tree, "tests")).items():
        if module not in TESTS_OPTIONAL:
            distribution = DISTRIBUTIONS.get(module, module).lower()
            assert distribution in available, f"tests/{where} imports {module}: add {distribution} to the test extra"
