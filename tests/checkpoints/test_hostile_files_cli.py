"""Every tool that reads a checkpoint or weight file, given a file that would run
code if unpickled, or a damaged safetensors file: exit 2, one ``error:`` line
naming the file, no traceback, and the code never runs."""
import os
import pickle
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ..training.tiny import write_config
from .hostile import hostile_pickles



def tool(name, *args, timeout=180):
    return subprocess.run([sys.executable, "-m", "inade", name, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def assert_refused(done, path, marker=None, what="refused to load"):
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and str(path) in errors[0] and what in errors[0], done.stderr[-2000:]
    if marker is not None:
        assert not os.path.exists(marker), "the file's code ran"


@pytest.fixture
def evil(tmp_path):
    """(write(path, payload name) -> path, marker): a checkpoint-shaped pickle whose loading would create marker."""
    marker = tmp_path / "MARKER"
    payloads = hostile_pickles(marker)

    def write(path, payload="os.system"):
        state = {"iteration": 1, "generator": {"fc.weight": payloads[payload]}, "config": {}}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(state, protocol=4))
        return path

    return write, marker


@pytest.fixture
def label_png(tmp_path):
    path = tmp_path / "label.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(path)
    return path


def test_code_running_checkpoints_are_refused_by_every_checkpoint_loader(tmp_path, evil, label_png):
    write, marker = evil
    # training resume: a run folder (of an earlier version) whose latest checkpoint is hostile
    run = tmp_path / "run"
    config = write_config(tmp_path, run)
    run.mkdir()
    shutil.copy(config, run / "config.yaml")
    latest = write(run / "checkpoints" / "latest.pdckpt", "builtins.eval")
    assert_refused(tool("train", "--config", config), latest, marker)
    assert sorted(os.listdir(run)) == ["checkpoints", "config.yaml"]  # nothing written beside it

    checkpoint = write(tmp_path / "shared" / "model.pdckpt", "os.system")
    assert_refused(tool("sample", "--checkpoint", checkpoint, "--label", label_png, "--out", tmp_path / "out"),
                   checkpoint, marker)
    assert not (tmp_path / "out").exists()
    write(checkpoint, "subprocess.call")
    assert_refused(tool("evaluate", "--procedural", "--checkpoint", checkpoint, "--out", tmp_path / "eval"),
                   checkpoint, marker)
    write(checkpoint, "builtins.exec")
    assert_refused(tool("export", "--checkpoint", checkpoint, "--out", tmp_path / "export"), checkpoint, marker)
    # a run folder given as --checkpoint resolves to its hostile latest
    assert_refused(tool("export", "--checkpoint", run, "--out", tmp_path / "export"), latest, marker)
    assert_refused(tool("app", "--checkpoint", checkpoint, "--port", "0", timeout=120), checkpoint, marker)


def test_code_running_weight_files_are_refused(tmp_path, evil):
    write, marker = evil
    vgg = write(tmp_path / "vgg19.pdparams", "os.system")
    config = write_config(tmp_path, tmp_path / "run", loss={"lambda_vgg": 10.0, "vgg_weights": str(vgg)})
    assert_refused(tool("train", "--config", config), vgg, marker)
    assert not (tmp_path / "run").exists()
    inception = write(tmp_path / "pt_inception.pdparams", "builtins.eval")
    assert_refused(tool("evaluate", "--procedural", "--layouts", "1", "--samples", "1",
                        "--inception-weights", inception), inception, marker)


def damaged_files(folder, intact):
    """Damaged copies of an intact safetensors checkpoint: {path: what the error says}."""
    data = intact.read_bytes()
    files = {
        "truncated.safetensors": (data[: len(data) // 2], "truncated or damaged"),
        "garbage.safetensors": (os.urandom(4096), "not a safetensors file"),
        "huge_header.safetensors": (struct.pack("<Q", 2**62) + data[8:], "exceeds the 104857600-byte limit"),
        "empty.safetensors": (b"", "shorter than the 8-byte header length"),
        "bad_json.safetensors": (struct.pack("<Q", 6) + b"{oops}", "not valid JSON"),
    }
    paths = {}
    for name, (content, message) in files.items():
        (folder / name).write_bytes(content)
        paths[folder / name] = message
    return paths


def test_damaged_safetensors_checkpoints_are_one_line(tmp_path, label_png):
    run = tmp_path / "run"
    config = write_config(tmp_path, run, optim={"iterations": 1},
                          logging={"checkpoint_every": 100, "image_every": 0, "keep_checkpoints": 0})
    assert tool("train", "--config", config).returncode == 0
    latest = run / "checkpoints" / "latest.safetensors"
    for path, message in damaged_files(tmp_path, latest).items():
        done = tool("sample", "--checkpoint", path, "--label", label_png, "--out", tmp_path / "out")
        assert_refused(done, path, what=message)
    # training resume, with no periodic checkpoint to fall back on: the line names latest
    latest.write_bytes(latest.read_bytes()[:-100])
    done = tool("train", "--config", config, "-o", "optim.iterations=2")
    assert_refused(done, latest, what="truncated or damaged")
    os.remove(latest)
    (run / "checkpoints" / "latest.pdckpt").write_bytes(b"\x80\x04garbage")
    assert_refused(tool("train", "--config", config, "-o", "optim.iterations=2"),
                   run / "checkpoints" / "latest.pdckpt", what="truncated or damaged Paddle pickle")


def test_a_damaged_latest_falls_back_to_the_newest_intact_periodic_checkpoint(tmp_path):
    """Killed saves' temp files go when the run starts; a truncated latest and a
    damaged newest periodic checkpoint are passed over with a warning, and the
    resumed run ends exactly as an uninterrupted one."""
    logging = {"checkpoint_every": 2, "keep_checkpoints": 2, "image_every": 0}
    straight = tool("train", "--config", write_config(tmp_path, tmp_path / "straight", optim={"iterations": 6},
                                                         logging=logging))
    assert straight.returncode == 0, straight.stderr
    config = write_config(tmp_path, tmp_path / "run", optim={"iterations": 4}, logging=logging)
    assert tool("train", "--config", config).returncode == 0
    folder = tmp_path / "run" / "checkpoints"
    assert sorted(os.listdir(folder)) == ["iter_00000002.safetensors", "iter_00000004.safetensors", "latest.safetensors"]
    latest = folder / "latest.safetensors"
    latest.write_bytes(latest.read_bytes()[:1000])
    (folder / "iter_00000004.safetensors").write_bytes(os.urandom(2000))
    leftovers = [folder / ".latest.safetensors.k3j2_x.tmp", folder / ".iter_00000004.safetensors.a8b1.tmp"]
    for path in leftovers:
        path.write_bytes(b"\0" * 1000)
    (folder / "notes.txt").write_text("mine")

    resumed = tool("train", "--config", config, "-o", "optim.iterations=6")
    assert resumed.returncode == 0 and "Traceback" not in resumed.stderr, resumed.stderr
    warning = [line for line in resumed.stderr.splitlines() if "resuming from" in line]
    assert len(warning) == 1 and str(latest) in warning[0] and "truncated" in warning[0], resumed.stderr
    assert str(folder / "iter_00000002.safetensors") in warning[0]
    assert "resuming at iteration 2" in resumed.stdout
    assert not any(path.exists() for path in leftovers) and (folder / "notes.txt").read_text() == "mine"
    assert "removed 2 temp files of interrupted checkpoint saves" in (tmp_path / "run" / "train.log").read_text()

    from inade.checkpoints.native import load_checkpoint

    ours = load_checkpoint(str(latest))
    theirs = load_checkpoint(str(tmp_path / "straight" / "checkpoints" / "latest.safetensors"))
    assert ours["iteration"] == theirs["iteration"] == 6
    for network in ("generator", "discriminator"):
        for name, value in theirs[network].items():
            np.testing.assert_array_equal(ours[network][name].numpy(), value.numpy(), err_msg=name)

    def losses(run):
        lines = (tmp_path / run / "train.log").read_text().splitlines()
        return [line.rsplit(" img/s=", 1)[0] for line in lines if line.startswith(("iter 5 ", "iter 6 "))]

    assert losses("run") == losses("straight") and len(losses("run")) == 2


def test_an_old_run_resumes_and_then_writes_the_new_format(tmp_path):
    """A run of an earlier version (latest.pdckpt, written by paddle.save) resumes
    through the restricted reader and continues in .safetensors."""
    import paddle

    from inade.checkpoints.native import load_checkpoint

    config = write_config(tmp_path, tmp_path / "run", optim={"iterations": 2},
                          logging={"checkpoint_every": 2, "keep_checkpoints": 2, "image_every": 0})
    assert tool("train", "--config", config).returncode == 0
    folder = tmp_path / "run" / "checkpoints"
    for name in ("latest", "iter_00000002"):
        paddle.save(load_checkpoint(str(folder / f"{name}.safetensors")), str(folder / f"{name}.pdckpt"))
        os.remove(folder / f"{name}.safetensors")
    done = tool("train", "--config", config, "-o", "optim.iterations=4")
    assert done.returncode == 0, done.stderr
    assert "resuming at iteration 2" in done.stdout
    # the old latest is superseded; periodic checkpoints of both formats count towards keep_checkpoints
    assert sorted(os.listdir(folder)) == ["iter_00000002.pdckpt", "iter_00000004.safetensors", "latest.safetensors"]
    assert load_checkpoint(str(folder / "latest.safetensors"))["iteration"] == 4
