"""The shipped model of the procedural data: it learned what INADE is for."""
import numpy as np
import pytest

from inade.data import oracle
from inade.data.procedural import ProceduralDataset
from inade.evaluation import evaluate_procedural
from inade.synthesis import Synthesizer


@pytest.fixture(scope="module")
def shipped():
    return Synthesizer.load()  # models/procedural


@pytest.fixture(scope="module")
def dataset(shipped):
    return ProceduralDataset(size=shipped.size[1], num_samples=40, seed=777)


@pytest.fixture(scope="module")
def evaluation(shipped):
    return evaluate_procedural(shipped, num_layouts=10, samples=3, seed=4321, refine_steps=150)


def test_shipped_model_meets_issue_6_thresholds(evaluation):
    # All four of issue #6's bounds (THRESHOLDS). Reconstruction is the tight one:
    # 0.487 of the real spread on these layouts, 0.491 on the README's and on 48
    # others (seed 7), 0.494 on 48 more (seed 99); the model shipped before stood
    # at 0.49-0.52, the reference recipe at 0.80 here.
    assert set(evaluation["passes"]) == {"semantic_miou", "instance_diversity", "instance_independence",
                                         "reconstruction_error"}
    assert all(evaluation["passes"].values()), evaluation["ratios"]


def test_refining_the_codes_reconstructs_within_the_bound(evaluation):
    # The generator renders a photo's hue from codes found by descent (0.38 on
    # these layouts): what the encoder misses, the refinement recovers.
    ratios = evaluation["ratios"]
    assert ratios["refined_reconstruction_error"] < 0.45, ratios
    assert ratios["refined_reconstruction_error"] < 0.85 * ratios["reconstruction_error"], ratios


def _thing_instances(scene):
    return [int(i) for i, c in zip(scene.instance_ids, scene.instance_classes) if c >= 2]


def test_resampling_an_instance_changes_the_image_mostly_inside_it(shipped, dataset):
    inside, outside = [], []
    for index in range(6):
        label, raw, _, _ = dataset.layout(index)
        scene = shipped.scene(label, raw)
        _, (styles,) = shipped.sample(scene, 1, seed=index)
        target = _thing_instances(scene)[0]
        before, after = shipped.render(scene, [styles, shipped.resample(scene, styles, [target], seed=99)])
        change = np.abs(after - before).mean(axis=0)
        mask = raw == target
        inside.append(change[mask].mean())
        outside.append(change[~mask].mean())
    assert np.mean(inside) > 4 * np.mean(outside), (np.mean(inside), np.mean(outside))


def test_copying_a_reference_style_moves_the_instance_toward_the_reference(shipped, dataset):
    gained = []
    for index in range(8):
        label, raw, _, _ = dataset.layout(index)
        scene = shipped.scene(label, raw)
        ref_label, ref_raw, _, _ = dataset.layout(index + 20)
        reference = shipped.scene(ref_label, ref_raw)
        photo_item = dataset.generate(index + 20)
        photo = ((photo_item["image"].transpose(1, 2, 0) + 1) * 127.5).round().astype(np.uint8)
        shared = sorted(set(scene.instance_classes.tolist()) & set(reference.instance_classes.tolist()) - {0, 1})
        if not shared:
            continue
        cls = shared[0]
        source, target = reference.ids_of_class(cls)[0], scene.ids_of_class(cls)[0]
        k_src = list(reference.instance_ids).index(source)
        reference_descriptor = oracle.instance_appearance(photo_item["image"], photo_item["instance"],
                                                          photo_item["instance_classes"][None])[0, k_src]
        _, (styles,) = shipped.sample(scene, 1, seed=index)
        copied = shipped.copy_style(scene, styles, reference, photo, [(source, target)])
        k_dst = list(scene.instance_ids).index(target)
        images = shipped.render(scene, [styles, copied])
        descriptors = oracle.instance_appearance(images, np.repeat(scene.instance[None], 2, 0),
                                                 np.repeat(scene.instance_classes[None], 2, 0))[:, k_dst]
        gained.append(np.linalg.norm(descriptors[0] - reference_descriptor) - np.linalg.norm(descriptors[1] - reference_descriptor))
    assert len(gained) >= 4 and np.mean(gained) > 0 and np.mean(np.array(gained) > 0) >= 0.6, gained
