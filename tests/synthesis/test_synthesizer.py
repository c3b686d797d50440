import numpy as np
import pytest

from inade.errors import InadeError
from inade.synthesis import Styles, Synthesizer


@pytest.fixture(scope="module")
def synth(tiny_run):
    return Synthesizer.load(tiny_run)


@pytest.fixture(scope="module")
def scene(synth, scene_files):
    return synth.scene(scene_files[0]["label"], scene_files[0]["instance"])


def test_same_seed_same_image_bit_for_bit_and_other_seeds_differ(synth, scene):
    images, styles = synth.sample(scene, num=3, seed=4)
    again, _ = synth.sample(scene, num=1, seed=4)
    np.testing.assert_array_equal(images[0], again[0])
    np.testing.assert_array_equal(synth.render(scene, [styles[2]])[0], images[2])
    assert np.abs(images[0] - images[1]).max() > 0


def test_style_file_round_trip_reproduces_the_image(synth, scene, tmp_path):
    images, styles = synth.sample(scene, num=1, seed=2)
    path = str(tmp_path / "styles.json")
    styles[0].save(path)
    loaded = Styles.load(path)
    assert sorted(loaded.noise) == sorted(int(i) for i in scene.instance_ids) and loaded.seed == 2
    np.testing.assert_array_equal(synth.render(scene, [loaded])[0], images[0])


def test_resampling_one_instance_keeps_every_other_code(synth, scene):
    _, (styles,) = synth.sample(scene, num=1, seed=0)
    target = int(scene.instance_ids[-1])
    changed = synth.resample(scene, styles, [target], seed=9)
    for raw_id, code in styles.noise.items():
        if raw_id == target:
            assert not np.array_equal(code, changed.noise[raw_id])
        else:
            np.testing.assert_array_equal(code, changed.noise[raw_id])
    np.testing.assert_array_equal(styles.z, changed.z)


def test_resample_class_changes_exactly_that_class(synth, scene):
    _, (styles,) = synth.sample(scene, num=1, seed=0)
    changed = synth.resample_class(scene, styles, "ground", seed=3)
    moved = {i for i in styles.noise if not np.array_equal(styles.noise[i], changed.noise[i])}
    assert moved == set(scene.ids_of_class("ground"))


def test_wrong_ids_and_classes_list_the_valid_ones(synth, scene):
    _, (styles,) = synth.sample(scene, num=1, seed=0)
    with pytest.raises(InadeError, match=r"instance 777 is not in label1.png; valid instance ids: 0 \(sky\), 1 \(ground\)"):
        synth.resample(scene, styles, [777], seed=1)
    with pytest.raises(InadeError, match="unknown class 'tree'; class names: sky, ground"):
        synth.resample_class(scene, styles, "tree", seed=1)


def test_copy_and_reconstruct_use_the_encoder(synth, scene, scene_files):
    reference = synth.scene(scene_files[1]["label"], scene_files[1]["instance"])
    _, (styles,) = synth.sample(scene, num=1, seed=0)
    encoded = synth.encode(reference, scene_files[1]["photo"])
    ground_ref, ground_dst = reference.ids_of_class("ground")[0], scene.ids_of_class("ground")[0]
    copied = synth.copy_style(scene, styles, reference, scene_files[1]["photo"], [(ground_ref, ground_dst)])
    np.testing.assert_allclose(copied.noise[ground_dst], encoded[ground_ref][0], rtol=1e-6)
    others = [i for i in styles.noise if i != ground_dst]
    assert all(np.array_equal(copied.noise[i], styles.noise[i]) for i in others)
    sky_ref = reference.ids_of_class("sky")[0]
    with pytest.raises(InadeError, match="the classes differ"):
        synth.copy_style(scene, styles, reference, scene_files[1]["photo"], [(sky_ref, ground_dst)])
    own = synth.reconstruct(scene, scene_files[0]["photo"])
    mine = synth.encode(scene, scene_files[0]["photo"])
    for raw_id, (mu, _) in mine.items():
        np.testing.assert_allclose(own.noise[raw_id], mu, rtol=1e-6)


def test_refinement_moves_the_codes_toward_the_photo_and_leaves_the_weights(synth, scene, scene_files):
    from inade.losses.reconstruction import pooled_l1_loss
    from inade.synthesis.refine import REFINE_CHROMATICITY_WEIGHT, REFINE_POOL
    from inade.synthesis.scene import load_image
    import paddle

    photo = scene_files[0]["photo"]
    target = paddle.to_tensor(load_image(photo, synth.size)[None])
    weights = {name: p.numpy().copy() for name, p in synth.generator.named_parameters()}
    flags = [p.stop_gradient for p in synth.generator.parameters()]

    def loss(styles):
        fake = paddle.to_tensor(synth.render(scene, [styles]))
        return float(pooled_l1_loss(fake, target, REFINE_POOL, REFINE_CHROMATICITY_WEIGHT))

    encoded = synth.reconstruct(scene, photo)
    assert synth.reconstruct(scene, photo, refine_steps=0).noise.keys() == encoded.noise.keys()
    refined = synth.reconstruct(scene, photo, refine_steps=20)
    # this untrained model's codes barely move its image; the shipped model's test asserts the size of the gain
    assert loss(refined) < loss(encoded), (loss(refined), loss(encoded))
    again = synth.reconstruct(scene, photo, refine_steps=20)
    assert all(np.array_equal(again.noise[i], refined.noise[i]) for i in refined.noise)  # deterministic
    assert all(np.array_equal(p.numpy(), weights[name]) for name, p in synth.generator.named_parameters())
    assert [p.stop_gradient for p in synth.generator.parameters()] == flags  # restored as found
    with pytest.raises(InadeError, match="refinement steps must be >= 0, got -1"):
        synth.reconstruct(scene, photo, refine_steps=-1)


def test_interpolation_runs_from_a_to_b(synth, scene):
    _, (a, b) = synth.sample(scene, num=2, seed=0)
    path = synth.interpolate(a, b, steps=3)
    for raw_id in a.noise:
        np.testing.assert_allclose(path[0].noise[raw_id], a.noise[raw_id])
        np.testing.assert_allclose(path[-1].noise[raw_id], b.noise[raw_id], rtol=1e-6)
        np.testing.assert_allclose(path[1].noise[raw_id], (a.noise[raw_id] + b.noise[raw_id]) / 2, rtol=1e-5, atol=1e-6)
    only = int(scene.instance_ids[0])
    partial = synth.interpolate(a, b, steps=2, ids=[only])
    np.testing.assert_array_equal(partial[-1].z, a.z)
    assert all(np.array_equal(partial[-1].noise[i], a.noise[i]) for i in a.noise if i != only)


def test_maps_of_another_size_are_resized_with_a_note(synth, scene_files):
    from PIL import Image

    label = np.array(Image.open(scene_files[0]["label"]))
    big = np.kron(label, np.ones((2, 2), dtype=label.dtype))
    with pytest.warns(UserWarning, match="resized \\(nearest\\) to the model's 32x32"):
        scene = synth.scene(big)
    np.testing.assert_array_equal(scene.label, label)
