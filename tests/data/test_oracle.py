import numpy as np
import pytest
from scipy.stats import spearmanr

from inade.data.base import collate
from inade.data.oracle import (
    DESCRIPTOR_FIELDS,
    appearance_diversity,
    class_spread,
    instance_appearance,
    instance_independence,
    miou,
    segment,
)
from inade.data.procedural import APPEARANCE_FIELDS, HUE_BANDS, STUFF_CLASSES, ProceduralDataset

# Drawn parameter each descriptor dimension tracks.
TRACKS = {"hue_offset": "hue_offset", "saturation": "saturation", "value": "value", "texture": "texture"}


@pytest.fixture(scope="module")
def real_batch():
    dataset = ProceduralDataset(num_samples=60, seed=5)
    return dataset, collate([dataset[i] for i in range(60)])


def test_segmentation_recovers_classes_and_survives_noise(real_batch):
    _, batch = real_batch
    labels = batch["label"][:, 0]
    assert miou(segment(batch["image"]), labels, 6) >= 0.98
    noisy = np.clip(batch["image"] + np.random.default_rng(0).normal(0, 0.05, batch["image"].shape), -1, 1)
    assert miou(segment(noisy), labels, 6) >= 0.95
    single = segment(batch["image"][3])
    assert single.shape == (64, 64) and single.dtype == np.int64
    np.testing.assert_array_equal(single, segment(batch["image"])[3])


def test_descriptor_tracks_the_drawn_parameters_on_comparable_scales(real_batch):
    dataset, batch = real_batch
    descriptors = instance_appearance(batch["image"], batch["instance"], batch["instance_classes"])  # [B, K, 4]
    measured, truth = [], []
    for index in range(len(batch["path"])):
        params = dataset.appearances(index)
        for k in range(batch["num_instances"][index]):
            cls = batch["instance_classes"][index, k]
            drawn = params[int(batch["instance_ids"][index, k])]
            measured.append(descriptors[index, k])
            truth.append([drawn[APPEARANCE_FIELDS.index(TRACKS[name])] for name in DESCRIPTOR_FIELDS])
            truth[-1][0] /= HUE_BANDS[cls][1]
    measured, truth = np.array(measured), np.array(truth)
    assert len(measured) > 300
    for dim, name in enumerate(DESCRIPTOR_FIELDS):
        assert spearmanr(measured[:, dim], truth[:, dim])[0] >= 0.95, name
    # Each dimension spreads real instances over about [0, 1], so none dominates a distance.
    assert np.all((measured.std(0) > 0.22) & (measured.std(0) < 0.36)), measured.std(0)
    assert np.all(np.percentile(measured, 2, axis=0) > -0.1) and np.all(np.percentile(measured, 98, axis=0) < 1.1)


def test_padding_and_missing_instances_are_nan_and_one_image_matches_its_batch_row(real_batch):
    _, batch = real_batch
    descriptors = instance_appearance(batch["image"][:4], batch["instance"][:4], batch["instance_classes"][:4])
    for row in range(4):
        count = batch["num_instances"][row]
        one = instance_appearance(batch["image"][row], batch["instance"][row], batch["instance_classes"][row, :count])
        assert one.shape == (count, len(DESCRIPTOR_FIELDS))
        np.testing.assert_allclose(one, descriptors[row, :count], rtol=0, atol=1e-12)
        assert np.isnan(descriptors[row, count:]).all()
    absent = instance_appearance(batch["image"][0], batch["instance"][0], np.append(batch["instance_classes"][0, :batch["num_instances"][0]], 2))
    assert np.isnan(absent[-1]).all() and np.isfinite(absent[:-1]).all()


def test_descriptor_of_an_instance_does_not_depend_on_its_neighbours():
    dataset = ProceduralDataset(num_samples=3, seed=7)
    a, b = dataset.generate(1, 0), dataset.generate(1, 1)
    thing = int(np.flatnonzero(a["instance_ids"] >= 1000)[0])
    mask = a["instance"][0] == thing
    # The same pixels among redrawn neighbours (and a redrawn sky and ground).
    mixed = b["image"].copy()
    mixed[:, mask] = a["image"][:, mask]
    da = instance_appearance(a["image"], a["instance"], a["instance_classes"])
    dm = instance_appearance(mixed, a["instance"], a["instance_classes"])
    np.testing.assert_allclose(da[thing], dm[thing], rtol=0, atol=1e-12)
    others = np.arange(len(a["instance_ids"])) != thing
    assert np.abs(da[others] - dm[others]).max() > 0.05


def test_descriptor_survives_8_bit_rounding(real_batch):
    _, batch = real_batch
    rounded = np.round((batch["image"] + 1.0) * 127.5) / 127.5 - 1.0
    exact = instance_appearance(batch["image"], batch["instance"], batch["instance_classes"])
    assert np.nanmax(np.abs(instance_appearance(rounded, batch["instance"], batch["instance_classes"]) - exact)) < 0.03


def test_miou_by_hand():
    target = np.array([[0, 0], [1, 1]])
    assert miou(np.array([[0, 0], [1, 1]]), target, 3) == 1.0
    assert miou(np.array([[0, 1], [1, 1]]), target, 3) == (0.5 + 2 / 3) / 2
    assert miou(np.array([[0, 0], [2, 2]]), target, 3) == (1.0 + 0.0 + 0.0) / 3  # a wrong class counts too


def _shared_within_class(appearances, classes):
    """Every thing of a class takes the appearance of the first one of that class."""
    first = {}
    return {raw: first.setdefault(cls, params) if cls not in STUFF_CLASSES else params
            for (raw, params), cls in zip(appearances.items(), classes)}


def test_style_statistics_on_real_and_doctored_images():
    dataset = ProceduralDataset(num_samples=24, seed=9)
    samples = 4
    independence, doctored, diversity, pool, pool_classes = [], [], [], [], []
    for index in range(24):
        _, raw_instance, _, classes = dataset.layout(index)
        item = dataset[index]
        real, shared = [], []
        for variant in range(samples):
            appearances = dataset.appearances(index, variant)
            real.append(dataset.render(raw_instance, appearances))
            shared.append(dataset.render(raw_instance, _shared_within_class(appearances, classes)))
        maps, cls = np.repeat(item["instance"], samples, 0), np.repeat(item["instance_classes"][None], samples, 0)
        real_d, shared_d = instance_appearance(np.stack(real), maps, cls), instance_appearance(np.stack(shared), maps, cls)
        diversity.append(appearance_diversity(real_d))
        pool.append(real_d[0])
        pool_classes.append(item["instance_classes"])
        score = instance_independence(real_d, item["instance_classes"])
        if np.isfinite(score):
            independence.append(score)
            doctored.append(instance_independence(shared_d, item["instance_classes"]))
        same = np.repeat(real_d[:1], samples, 0)
        assert appearance_diversity(same) == 0.0
    assert len(independence) >= 12
    assert 0.85 <= np.mean(independence) <= 1.2  # independent draws: within an image ~ across images
    assert np.mean(doctored) < 0.2 and max(doctored) < 0.3  # one style per class: ~0
    # Uniform draws on [0, 1]^4 lie about 0.78 apart.
    assert 0.6 < np.mean(diversity) < 0.95
    assert 0.6 < class_spread(np.concatenate(pool), np.concatenate(pool_classes)) < 0.95
