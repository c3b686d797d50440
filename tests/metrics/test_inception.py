import numpy as np
import paddle
import pytest

from inade.errors import CheckpointError
from inade.metrics.inception import FIDInceptionV3, inception_features, load_fid_inception

from ..checkpoints.torch_writer import tensors_of, write_zip


@pytest.fixture(scope="module")
def random_inception():
    paddle.seed(0)
    network = FIDInceptionV3()
    network.eval()
    return network


def test_pytorch_fid_layout_loads_without_torch_and_gives_2048_features(random_inception, tmp_path):
    # Store the weights under pytorch-fid's names (BatchNorm running_mean/var, an extra 1008-way fc).
    state = {}
    for name, value in random_inception.state_dict().items():
        name = name.replace("._mean", ".running_mean").replace("._variance", ".running_var")
        state[name] = np.asarray(value)
    state["fc.weight"] = np.zeros((1008, 2048), "float32")
    state["Mixed_5b.branch1x1.bn.num_batches_tracked"] = np.array(0, dtype="int64")
    assert "Conv2d_1a_3x3.conv.weight" in state and "Mixed_7c.branch_pool.bn.running_var" in state
    path = str(tmp_path / "pt_inception-2015-12-05-6726825d.pth")
    write_zip(path, tensors_of(state)[0])
    loaded = load_fid_inception(path)
    images = np.random.default_rng(0).uniform(-1, 1, (3, 3, 64, 64)).astype("float32")
    features = inception_features(loaded, images, batch_size=2)
    assert features.shape == (3, 2048) and np.all(features >= 0)  # after ReLU and average pooling
    np.testing.assert_allclose(features, inception_features(random_inception, images), rtol=1e-5, atol=1e-6)


def test_wrong_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="Inception weights file not found"):
        load_fid_inception(str(tmp_path / "none.pth"))
    other = str(tmp_path / "other.pth")
    write_zip(other, tensors_of({"conv.weight": np.zeros(3, "float32")})[0])
    with pytest.raises(CheckpointError, match="is not an FID Inception checkpoint: missing Conv2d_1a_3x3"):
        load_fid_inception(other)
