"""LPIPS from user-supplied weight files: the distance against a numpy reading
of its definition, torchvision's layer names, and every bad file through
`inade evaluate` as one error line."""
import pickle
import subprocess
import sys

import numpy as np
import paddle
import pytest

from inade.checkpoints.safetensors_format import write_safetensors
from inade.errors import CheckpointError
from inade.metrics.lpips import TRUNKS, load_lpips, mean_pairwise_lpips

from ..checkpoints.hostile import hostile_pickles
from ..checkpoints.torch_writer import tensors_of, write_zip


def trunk_state(name: str, seed: int = 0) -> dict:
    """Random weights under torchvision's ``features.N`` names for trunk ``name``."""
    rng = np.random.default_rng(seed)
    state, index, channels = {}, 0, 3
    for item in TRUNKS[name].entries():
        if isinstance(item, tuple):
            width, kernel = item[0], item[1]
            scale = np.sqrt(2.0 / (channels * kernel * kernel))
            state[f"features.{index}.weight"] = (rng.standard_normal((width, channels, kernel, kernel)) * scale).astype(np.float32)
            state[f"features.{index}.bias"] = (rng.standard_normal(width) * 0.01).astype(np.float32)
            channels = width
        index += 1
        if index >= TRUNKS[name].taps[-1]:
            break
    return state


def linear_state(name: str, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {f"lin{i}.model.1.weight": rng.uniform(0.0, 1.0, (1, c, 1, 1)).astype(np.float32)
            for i, c in enumerate(TRUNKS[name].channels)}


@pytest.fixture(scope="module")
def alex_files(tmp_path_factory):
    """(linear weights as the LPIPS release's .pth, AlexNet trunk as .safetensors)."""
    root = tmp_path_factory.mktemp("lpips")
    linear, trunk = root / "alex.pth", root / "alexnet.safetensors"
    write_zip(linear, tensors_of(linear_state("alex"))[0])
    write_safetensors(str(trunk), trunk_state("alex"))
    return linear, trunk


@pytest.fixture(scope="module")
def alex(alex_files):
    return load_lpips(*map(str, alex_files))


def images(count, seed, size=48):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 3, size, size)).astype(np.float32)


def numpy_lpips(network, first, second, linear):
    """The definition read plainly: raw trunk activations (the network's own
    layers run one by one), unit-normalised over channels, squared difference,
    weighted over channels, averaged over space, summed over the five taps."""
    def taps(batch):
        shift = np.array([-0.030, -0.088, -0.188], np.float32).reshape(1, 3, 1, 1)
        scale = np.array([0.458, 0.448, 0.450], np.float32).reshape(1, 3, 1, 1)
        x, out = paddle.to_tensor((batch - shift) / scale), []
        for index, layer in enumerate(network.features):
            x = layer(x)
            if index + 1 in network.trunk.taps:
                out.append(x.numpy())
        return out

    total = np.zeros(len(first))
    for tap, (a, b) in enumerate(zip(taps(first), taps(second))):
        a = a / (np.sqrt((a ** 2).sum(1, keepdims=True)) + 1e-10)
        b = b / (np.sqrt((b ** 2).sum(1, keepdims=True)) + 1e-10)
        weights = linear[f"lin{tap}.model.1.weight"].reshape(1, -1, 1, 1)
        total += ((a - b) ** 2 * weights).sum(1).mean(axis=(1, 2))
    return total


def test_distance_matches_its_definition(alex):
    first, second = images(3, 0), images(3, 1)
    with paddle.no_grad():
        got = alex(paddle.to_tensor(first), paddle.to_tensor(second)).numpy()
    np.testing.assert_allclose(got, numpy_lpips(alex, first, second, linear_state("alex")), rtol=1e-4)
    assert (got > 0).all()


def test_identity_symmetry_and_pairwise_mean(alex):
    batch = images(4, 2)
    with paddle.no_grad():
        same = alex(paddle.to_tensor(batch), paddle.to_tensor(batch)).numpy()
        pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
        forward = [alex(paddle.to_tensor(batch[[i]]), paddle.to_tensor(batch[[j]])).item() for i, j in pairs]
        backward = [alex(paddle.to_tensor(batch[[j]]), paddle.to_tensor(batch[[i]])).item() for i, j in pairs]
    np.testing.assert_array_equal(same, np.zeros(4))
    np.testing.assert_allclose(forward, backward, rtol=1e-6)
    assert mean_pairwise_lpips(alex, batch) == pytest.approx(np.mean(forward), rel=1e-5)
    # equal images: 0 up to the rounding of batched convolutions
    assert mean_pairwise_lpips(alex, np.repeat(batch[:1], 3, 0)) == pytest.approx(0.0, abs=1e-9)


def test_torchvision_names_land_in_their_layers(alex, alex_files):
    state = trunk_state("alex")
    loaded = alex.state_dict()
    for name in ("features.0.weight", "features.3.weight", "features.10.bias"):
        np.testing.assert_array_equal(loaded[name].numpy(), state[name])
    np.testing.assert_array_equal(loaded["lins.2.weight"].numpy(), linear_state("alex")["lin2.model.1.weight"])


def test_vgg_is_read_from_the_linear_weights(tmp_path):
    linear, trunk = tmp_path / "vgg.safetensors", tmp_path / "vgg16.safetensors"
    write_safetensors(str(linear), linear_state("vgg"))
    write_safetensors(str(trunk), trunk_state("vgg"))
    network = load_lpips(str(linear), str(trunk))
    assert network.trunk.name == "vgg" and network.trunk.channels == (64, 128, 256, 512, 512)
    assert mean_pairwise_lpips(network, images(2, 3, size=32)) > 0


@pytest.mark.parametrize("case, message", [
    ("negative", "must be finite and non-negative"),
    ("shapes", "match neither AlexNet"),
    ("not_lpips", "is not an LPIPS linear-weights file"),
    ("wrong_trunk", "is not torchvision's AlexNet"),
    ("trunk_shape", "features.3.weight has shape"),
])
def test_mismatched_files_are_one_error(tmp_path, case, message):
    linear, trunk = linear_state("alex"), trunk_state("alex")
    if case == "negative":
        linear["lin3.model.1.weight"][0, 0] = -1.0
    elif case == "shapes":
        linear["lin1.model.1.weight"] = np.ones((1, 100, 1, 1), np.float32)
    elif case == "not_lpips":
        linear = {"fc.weight": np.ones((2, 2), np.float32)}
    elif case == "wrong_trunk":
        trunk = trunk_state("vgg")
    else:
        trunk["features.3.weight"] = trunk["features.3.weight"][:, :10]
    write_safetensors(str(tmp_path / "lin.safetensors"), linear)
    write_safetensors(str(tmp_path / "trunk.safetensors"), trunk)
    with pytest.raises(CheckpointError, match=message):
        load_lpips(str(tmp_path / "lin.safetensors"), str(tmp_path / "trunk.safetensors"))


def evaluate(*args):
    return subprocess.run([sys.executable, "-m", "inade", "evaluate", "--procedural", "--layouts", "1",
                           "--samples", "2", *map(str, args)], capture_output=True, text=True, timeout=300)


def one_error(done, *fragments):
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and all(f in lines[0] for f in fragments), lines


def test_cli_refuses_bad_weight_files(tmp_path, alex_files):
    linear, trunk = alex_files
    one_error(evaluate("--lpips-weights", linear), "--lpips-trunk")
    one_error(evaluate("--lpips-weights", tmp_path / "missing.pth", "--lpips-trunk", trunk), "missing.pth", "not found")
    marker = tmp_path / "MARKER"
    hostile = tmp_path / "alex_evil.pth"
    hostile.write_bytes(pickle.dumps({"lin0.model.1.weight": hostile_pickles(marker)["os.system"]}, protocol=2))
    one_error(evaluate("--lpips-weights", hostile, "--lpips-trunk", trunk), str(hostile))
    assert not marker.exists(), "the file's code ran"
    truncated = tmp_path / "trunk_cut.safetensors"
    truncated.write_bytes(trunk.read_bytes()[:5000])
    one_error(evaluate("--lpips-weights", linear, "--lpips-trunk", truncated), str(truncated))
    garbage = tmp_path / "noise.pth"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    one_error(evaluate("--lpips-weights", garbage, "--lpips-trunk", trunk), str(garbage))
