import numpy as np

from inade.data.oracle import instance_appearance, miou, segment
from inade.data.procedural import HUE_BANDS, ProceduralDataset


def _batch(dataset, indices, variant=0):
    items = [dataset.generate(i, variant) for i in indices]
    return items, np.stack([it["image"] for it in items])


def test_segmentation_recovers_classes_and_survives_noise():
    dataset = ProceduralDataset(num_samples=40, seed=5)
    items, images = _batch(dataset, range(40))
    labels = np.stack([it["label"][0] for it in items])
    assert miou(segment(images), labels, 6) >= 0.98
    noisy = np.clip(images + np.random.default_rng(0).normal(0, 0.05, images.shape), -1, 1)
    assert miou(segment(noisy), labels, 6) >= 0.95


def test_descriptor_tracks_the_drawn_parameters():
    dataset = ProceduralDataset(num_samples=60, seed=6)
    measured, truth = [], []
    for index in range(60):
        item = dataset.generate(index)
        descriptors = instance_appearance(item["image"], item["instance"], item["instance_classes"][None])[0]
        params = dataset.appearances(index)
        for k, raw in enumerate(item["instance_ids"]):
            cls = item["instance_classes"][k]
            p = params[int(raw)]
            measured.append(descriptors[k])
            truth.append([p[0] / HUE_BANDS[cls][1], p[1], p[2], p[5]])
    measured, truth = np.array(measured), np.array(truth)
    for dim in range(4):
        r = np.corrcoef(measured[:, dim], truth[:, dim])[0, 1]
        assert r >= 0.9, (dim, r)


def test_descriptor_of_an_instance_does_not_depend_on_its_neighbours():
    dataset = ProceduralDataset(num_samples=3, seed=7)
    a, b = dataset.generate(1, 0), dataset.generate(1, 1)
    # Paste instance 0's pixels of variant 0 into variant 1: its descriptor must not change.
    mask = a["instance"][0] == 0
    mixed = b["image"].copy()
    mixed[:, mask] = a["image"][:, mask]
    da = instance_appearance(a["image"], a["instance"], a["instance_classes"][None])[0, 0]
    dm = instance_appearance(mixed, a["instance"], a["instance_classes"][None])[0, 0]
    np.testing.assert_allclose(da, dm, atol=1e-9)


def test_miou_by_hand():
    target = np.array([0, 0, 1, 1])
    assert miou(np.array([0, 0, 1, 1]), target, 3) == 1.0
    assert miou(np.array([0, 1, 1, 1]), target, 3) == (0.5 + 2 / 3) / 2
