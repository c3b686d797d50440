"""The demo's operations as plain functions (what the page's events call)."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inade.app import Session, Studio
from inade.app import painting
from inade.errors import InadeError
from inade.synthesis import Styles

from .conftest import SIZE, example, near


@pytest.fixture()
def studio(synth):
    return Studio(synth)


def _thing(view):
    return next((raw, cls) for raw, cls, _ in view.instances if cls >= 2)


def _mask(studio, key, raw_id):
    scene = studio.session(key).scene
    return scene.instance == list(scene.instance_ids).index(raw_id)


def test_palette_names_colours_and_a_canvas_of_no_class_colour(studio):
    palette = studio.palette()
    assert [name for _, name, _ in palette][:2] == ["sky", "ground"] and len(palette) == 6
    colours = {colour for _, _, colour in palette}
    assert len(colours) == 6 and painting.hex_colour(painting.CANVAS) not in colours
    assert not (painting.class_colours(184) == painting.CANVAS).all(axis=1).any()  # COCO's classes neither
    assert [e[0] for e in studio.examples] == [f"procedural scene {i}" for i in range(6)]


def test_a_click_redraws_only_that_instance_and_says_which(studio):
    before = studio.open("tab", studio.example_scene(1)[0], seed=0)
    again = Studio(studio.synth).open("other", Studio(studio.synth).example_scene(1)[0], seed=0)
    np.testing.assert_array_equal(again.image, before.image)  # same map, same seed: same image
    raw_id, _ = _thing(before)
    mask = _mask(studio, "tab", raw_id)
    y, x = np.argwhere(mask)[len(np.argwhere(mask)) // 2]
    after = studio.click_image("tab", x, y)
    assert after.changed == (raw_id,)
    change = np.abs(after.image.astype(int) - before.image).sum(axis=2)
    assert change[mask].mean() > 1 and not change[~near(mask)].any()  # a local edit: nothing beyond 2 pixels
    outlined = after.highlighted(studio.session("tab").scene)
    assert (outlined != after.image).any(axis=2)[near(mask, 1)].any()
    assert not (outlined != after.image).any(axis=2)[~near(mask, 1)].any()
    whole = studio.click_image("tab", x, y, local=False)  # the paper's way: everything may move
    assert np.abs(whole.image.astype(int) - after.image).sum(axis=2)[~near(mask)].any()


def test_class_redraw_noise_and_copying_a_reference_instance(studio):
    shown, _, notes = studio.example_scene(2)
    view = studio.open("tab", shown, notes)
    label, raw_instance, photo = example(2)
    cls = _thing(view)[1]
    by_class = studio.act("tab", Session.redraw_class, cls)
    change = np.abs(by_class.image.astype(int) - view.image).sum(axis=2)
    assert change[label == cls].mean() > 1 and not change[~near(label == cls)].any()
    studio.act("tab", Session.new_image_noise)
    reference = studio.set_reference("tab", *studio.reference_scene(example=2))
    np.testing.assert_array_equal(reference.reference, photo)
    target = int(raw_instance[30, 16])
    waiting = studio.click_reference("tab", 16, 30)
    assert "now click the instance of the image" in waiting.notes[0] and waiting.changed == ()
    before = studio.session("tab").styles
    copied = studio.click_image("tab", 16, 30)
    styles = studio.session("tab").styles
    scene = studio.session("tab").scene
    np.testing.assert_allclose(styles.noise[target], studio.synth.encode(scene, photo)[target][0], rtol=1e-6, atol=1e-6)
    assert copied.changed == (target,) and all(np.array_equal(styles.noise[i], before.noise[i])
                                               for i in styles.noise if i != target)
    image, style_file, _, _ = studio.download_files("tab")
    np.testing.assert_array_equal(np.asarray(Image.open(image)), copied.image)
    assert len(Styles.load(style_file).chain()) == 2  # new noise re-rendered whole; the copy is a local edit of it


def test_the_downloads_are_reproduced_by_the_sampling_command_bit_for_bit(run_folder, tmp_path):
    from inade.synthesis import Synthesizer

    studio = Studio(Synthesizer.load(run_folder))  # the model as the command loads it
    studio.open("tab", studio.example_scene(4)[0], seed=3)
    studio.act("tab", Session.redraw_class, 0)
    studio.set_reference("tab", *studio.reference_scene(example=4))
    studio.click_reference("tab", 16, 30)
    shown = studio.click_image("tab", 16, 30)
    studio.act("tab", Session.redraw_class, 1)
    shown = studio.click_image("tab", 2, 2)
    image, style_file, label_file, instance_file = studio.download_files("tab")
    assert len(Styles.load(style_file).chain()) == 5  # the first image and four local edits
    done = subprocess.run([sys.executable, "-m", "inade", "sample", "--checkpoint", run_folder, "--label", label_file,
                           "--instance", instance_file, "--styles", style_file, "--num", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.glob("*.png")
    np.testing.assert_array_equal(np.asarray(Image.open(written).convert("RGB")), shown.image)
    np.testing.assert_array_equal(np.asarray(Image.open(image)), shown.image)


def test_interpolating_between_two_kept_styles(studio):
    opened = studio.open("tab", studio.example_scene(0)[0]).image
    with pytest.raises(InadeError, match="keep two styles first"):
        studio.act("tab", Session.interpolate, 0.5)
    studio.act("tab", Session.keep, "A", render=False)
    with pytest.raises(InadeError, match="keep two styles first"):  # A alone is not enough
        studio.act("tab", Session.interpolate, 0.5)
    a = studio.session("tab").styles
    studio.act("tab", Session.redraw_class, 0, False)
    studio.act("tab", Session.keep, "B", render=False)
    b = studio.session("tab").styles
    ends = [studio.act("tab", Session.interpolate, t).image for t in (0.0, 1.0)]
    middle = studio.act("tab", Session.interpolate, 0.5)
    np.testing.assert_array_equal(ends[0], opened)
    halfway = studio.session("tab").styles
    np.testing.assert_allclose(halfway.noise[0], (a.noise[0] + b.noise[0]) / 2, rtol=1e-6)
    assert not np.array_equal(middle.image, ends[0]) and not np.array_equal(middle.image, ends[1])
    for bad in (1.5, -0.2, float("nan"), "x"):
        with pytest.raises(InadeError, match="interpolation position"):
            studio.act("tab", Session.interpolate, bad)


def _editor(background, *layers):
    return {"background": background, "layers": list(layers), "composite": background}


def test_painted_blobs_are_instances_and_unpainted_pixels_take_the_chosen_class(studio):
    canvas = np.full((SIZE * 2, SIZE * 2, 3), 255, np.uint8)  # painted at twice the model's size
    layer = np.zeros((SIZE * 2, SIZE * 2, 4), np.uint8)
    box = studio.colours[3]
    layer[40:56, 8:24, :3], layer[40:56, 8:24, 3] = box, 255
    layer[40:56, 40:56, :3], layer[40:56, 40:56, 3] = box, 255
    layer[38:40, 8:24, :3], layer[38:40, 8:24, 3] = box, 60  # a stroke's half-transparent edge is not paint
    layer[32:, 0:4, :3], layer[32:, 0:4, 3] = studio.colours[1], 255
    shown, notes = studio.painted_scene(_editor(canvas, layer), fill_class=0)
    view = studio.open("tab", shown, notes)
    assert sorted(cls for _, cls, _ in view.instances) == [0, 1, 3, 3] and notes == []  # two boxes: two instances
    classes = painting.painted_classes(_editor(canvas, layer), studio.colours, 0)
    assert classes[39, 10] == 0 and classes[41, 10] == 3
    np.testing.assert_array_equal(view.label, painting.class_colours(7)[classes[::2, ::2]])
    # painting over the current map: its colours are classes, not the empty canvas
    over = painting.painted_classes(_editor(view.label), studio.colours, 5)
    np.testing.assert_array_equal(over, classes[::2, ::2])
    with pytest.raises(InadeError, match="nothing is painted"):
        studio.painted_scene(None)
    with pytest.raises(InadeError, match="unpainted class 9"):
        studio.painted_scene(_editor(canvas), 9)


def test_painted_class_ids_become_the_datasets_raw_values(synth):
    # an ADE20K-style model counts raw labels from 1 with 0 = don't care: the
    # palette's class ids must come back as the same classes, don't care included
    import copy
    import dataclasses

    model = copy.copy(synth)
    model.config = dataclasses.replace(synth.config, data=dataclasses.replace(synth.config.data, type="ade20k"))
    model.contain_dontcare = True
    studio = Studio(model, examples=[])
    assert studio.palette()[-1][1] == "don't care"
    classes = np.zeros((SIZE, SIZE), np.int64)
    classes[:, 16:] = model.label_nc
    classes[4:10, 4:10] = 2
    classes[20:26, 4:10] = 2
    background = studio.colours[classes]
    shown, _ = studio.painted_scene(_editor(background))
    np.testing.assert_array_equal(shown.scene.label, classes)
    assert sorted(int(c) for c in shown.scene.instance_classes) == [0, 2, 2, model.label_nc]
    np.testing.assert_array_equal(shown.raw_label, np.where(classes == model.label_nc, 0, classes + 1))


def test_sessions_and_edit_histories_are_bounded(synth, monkeypatch):
    import inade.app.session as session_module

    studio = Studio(synth, max_sessions=2)
    for key in ("a", "b", "c"):
        studio.open(key, studio.example_scene(0)[0])
    assert list(studio.sessions) == ["b", "c"]
    with pytest.raises(InadeError, match="session has expired"):
        studio.act("a", Session.new_image_noise)
    monkeypatch.setattr(session_module, "MAX_EDITS", 3)
    for _ in range(3):
        studio.act("b", Session.redraw_class, 0)
    assert len(studio.session("b").styles.chain()) == 4
    capped = studio.act("b", Session.redraw_class, 0)
    assert len(studio.session("b").styles.chain()) == 1 and "reached 3 edits" in capped.notes[0]
    studio.close("b")
    assert list(studio.sessions) == ["c"]


def test_clicks_outside_the_map_and_unknown_ids_are_messages(studio):
    studio.open("tab", studio.example_scene(3)[0])
    for x, y, message in ((40, 3, "outside the 32x32 map"), (-1, 0, "outside"), (float("inf"), 0, "not a pixel"),
                          (None, 0, "not a pixel")):
        with pytest.raises(InadeError, match=message):
            studio.click_image("tab", x, y)
    with pytest.raises(InadeError, match="instance 987654 is not in"):
        studio.act("tab", Session.redraw, 987654)
    with pytest.raises(InadeError, match="choose a reference photo first"):
        studio.click_reference("tab", 1, 1)
    with pytest.raises(InadeError, match="has no instance of class 77"):
        studio.act("tab", Session.redraw_class, 77)
    for index in (9, -1, "x", None):
        with pytest.raises(InadeError, match="built-in label map"):
            studio.example_scene(index)
    for seed in (-1, 2**40, "x"):
        with pytest.raises(InadeError, match="seed"):
            studio.open("tab", studio.example_scene(0)[0], seed=seed)


def test_image_level_models_copy_a_whole_photo_and_explain_per_instance_clicks(tmp_path):
    # CLADE with GauGAN's encoder: one style per image, so a click on the
    # reference copies the whole photo's style, and a click on an instance says why it cannot redraw it
    from inade.config import load_config
    from inade.synthesis import Synthesizer
    from inade.training import train

    from ..training.tiny import write_config

    train(load_config(write_config(tmp_path, tmp_path / "clade", optim={"iterations": 1},
                                   model={"norm_mode": "clade", "use_encoder": True},
                                   logging={"image_every": 0, "checkpoint_every": 100})))
    studio = Studio(Synthesizer.load(str(tmp_path / "clade")))
    assert not studio.per_instance and studio.image_encoder
    first = studio.open("tab", studio.example_scene(0)[0])
    z = studio.session("tab").styles.z
    noised = studio.act("tab", Session.new_image_noise)
    assert not np.array_equal(studio.session("tab").styles.z, z) and noised.changed == ()
    studio.set_reference("tab", *studio.reference_scene(example=1))
    copied = studio.click_reference("tab", 3, 3)
    mu, _ = studio.synth.encode_image(example(1)[2])
    np.testing.assert_array_equal(studio.session("tab").styles.z, mu)
    assert copied.notes == ["copied the reference photo's style"] and first.image.shape == copied.image.shape
    with pytest.raises(InadeError, match="needs per-instance styles, which this CLADE model does not have"):
        studio.click_image("tab", 3, 3)
