import os

import numpy as np
import paddle

from inade.data.semantics import class_channels, instance_edges, instance_onehot, semantic_input


def test_matches_reference_fixture_inputs(fixtures_dir):
    io = np.load(os.path.join(fixtures_dir, "official_inade_tiny", "io.npz"))
    label, instance = paddle.to_tensor(io["label"]), paddle.to_tensor(io["instance"])
    semantics = semantic_input(label, instance, label_nc=6, contain_dontcare=False)
    np.testing.assert_array_equal(semantics.numpy(), io["semantics"])
    np.testing.assert_array_equal(instance_onehot(instance, io["instances"].shape[1]).numpy(), io["instances"])


def test_spade_fixture_inputs(fixtures_dir):
    io = np.load(os.path.join(fixtures_dir, "official_spade_vae_tiny", "io.npz"))
    semantics = semantic_input(paddle.to_tensor(io["label"]), paddle.to_tensor(io["instance"]), 6, False)
    np.testing.assert_array_equal(semantics.numpy(), io["semantics"])


def test_edges_mark_both_sides_and_dontcare_gets_its_channel():
    instance = paddle.to_tensor(np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]]).reshape(1, 1, 3, 3))
    expected = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 1]], dtype="float32")
    np.testing.assert_array_equal(instance_edges(instance).numpy()[0, 0], expected)
    label = paddle.to_tensor(np.array([[0, 3], [1, 3]]).reshape(1, 1, 2, 2))  # 3 = don't care for label_nc 3
    semantics = semantic_input(label, paddle.zeros([1, 1, 2, 2], "int64"), label_nc=3, contain_dontcare=True)
    assert semantics.shape == [1, 5, 2, 2] and class_channels(3, True) == 4  # + the edge channel
    assert class_channels(3, False) == 3
    np.testing.assert_array_equal(semantics.numpy()[0, 3], [[0, 1], [0, 1]])
    assert float(semantics[0, 4].sum()) == 0.0
