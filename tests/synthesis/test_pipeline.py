"""The pipeline API: from_pretrained, the call, output types, style round trips, errors."""
import numpy as np
import paddle
import pytest
from PIL import Image

from inade.errors import InadeError
from inade.synthesis import Styles, Synthesizer


@pytest.fixture(scope="module")
def synth(tiny_run):
    return Synthesizer.from_pretrained(tiny_run, device="cpu")


def test_call_takes_paths_arrays_and_pil_images_and_gives_each_output_type(synth, scene_files):
    files = scene_files[0]
    out = synth(files["label"], files["instance"], num=2, seed=7)
    assert [image.size for image in out.images] == [(32, 32)] * 2 and [s.seed for s in out.styles] == [7, 8]
    label, instance = Image.open(files["label"]), Image.open(files["instance"])
    arrays = synth(np.asarray(label), np.asarray(instance), num=2, seed=7, output_type="np")
    assert arrays.images[0].dtype == np.uint8 and arrays.images[0].shape == (32, 32, 3)
    np.testing.assert_array_equal(arrays.images[1], np.asarray(out.images[1]))
    tensors = synth(label, instance, num=1, seed=7, output_type="pd")
    assert isinstance(tensors.images[0], paddle.Tensor) and tensors.images[0].shape == [3, 32, 32]
    np.testing.assert_array_equal(np.round(tensors.images[0].numpy().transpose(1, 2, 0) * 255), arrays.images[0])
    drawn = synth(files["label"], files["instance"], num=2, generator=np.random.default_rng(3), output_type="np")
    again = synth(files["label"], files["instance"], num=1, seed=drawn.styles[1].seed, output_type="np")
    np.testing.assert_array_equal(drawn.images[1], again.images[0])  # a generator's draws are reproducible by seed


def test_style_files_reproduce_images_bit_for_bit_through_local_edits(synth, scene_files, tmp_path):
    files = scene_files[0]
    out = synth(files["label"], files["instance"], num=1, seed=2, output_type="np")
    written = out.save(str(tmp_path / "out"))
    assert [p.rsplit("/", 1)[1] for p in written] == ["label1_0.png"]
    first = synth.redraw_instances(files["label"], files["instance"], str(tmp_path / "out" / "label1_0.json"),
                                   ids=[1], seed=3, output_type="np")
    second = synth.redraw_class(files["label"], files["instance"], first.styles[0], "sky", seed=4, output_type="np")
    path = str(tmp_path / "twice.json")
    second.styles[0].save(path)
    loaded = Styles.load(path, synth.class_names)
    assert [s.edited for s in loaded.chain()] == [(0,), (1,), ()]
    np.testing.assert_array_equal(synth.render(out.scene, [loaded])[0], second.raw[0])
    np.testing.assert_array_equal(synth.render(out.scene, [Styles.load(path)])[0], second.raw[0])


def test_user_mistakes_are_one_line_errors(synth, scene_files):
    files = scene_files[0]
    with pytest.raises(InadeError, match="output_type must be one of pil, np, pd, got 'jpg'"):
        synth(files["label"], files["instance"], output_type="jpg")
    with pytest.raises(InadeError, match="give a seed or a generator, not both"):
        synth(files["label"], seed=1, generator=np.random.default_rng(1))
    with pytest.raises(InadeError, match="temperature must be a number >= 0"):
        synth(files["label"], seed=1, temperature=-1)
    with pytest.raises(InadeError, match="unknown device 'tpu': use cpu, gpu or gpu:N"):
        Synthesizer.from_pretrained("procedural", device="tpu")
    with pytest.raises(InadeError, match="the label map is a colour \\(RGB\\) image"):
        synth(Image.new("RGB", (32, 32)))
    out = synth(files["label"], files["instance"], seed=0)
    with pytest.raises(InadeError, match="instance 55 is not in label1.png; valid instance ids: 0 \\(sky\\)"):
        synth.redraw_instances(files["label"], files["instance"], out.styles[0], ids=[55], seed=1)
    with pytest.raises(InadeError, match="style file not found"):
        synth.redraw_instances(files["label"], files["instance"], "missing.json", ids=[1], seed=1)


def test_temperature_scales_the_drawn_codes(synth, scene_files):
    scene = synth.scene(scene_files[0]["label"], scene_files[0]["instance"])
    full, half, zero = (synth.draw_styles(scene, 5, t) for t in (1.0, 0.5, 0.0))
    for raw_id in full.noise:
        np.testing.assert_array_equal(half.noise[raw_id], full.noise[raw_id] * np.float32(0.5))
        assert not zero.noise[raw_id].any()
    np.testing.assert_array_equal(full.noise[0], synth.random_styles(scene, 5).noise[0])  # the alias
