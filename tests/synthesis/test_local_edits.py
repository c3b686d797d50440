"""Local edits stay local (API, command line, page), redraws never return their
input, and --whole-image re-renders as the paper does. On the shipped model,
whose images do move around a redrawn instance when the whole image is re-rendered."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from inade.app.session import Session
from inade.data.procedural import export_procedural
from inade.synthesis import Styles, Synthesizer
from inade.synthesis.local import EDIT_FEATHER, edit_alpha


@pytest.fixture(scope="module")
def shipped():
    return Synthesizer.from_pretrained("procedural")


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    folder = export_procedural(str(tmp_path_factory.mktemp("export") / "scenes"), 3)
    return [(os.path.join(folder, "labels", f"{i:06d}.png"), os.path.join(folder, "instances", f"{i:06d}.png"))
            for i in range(3)]


def _outside_band(scene, ids):
    return edit_alpha(scene, ids, EDIT_FEATHER) == 0


def _inside(scene, ids):
    return edit_alpha(scene, ids, 0) == 1


def _things(scene):
    return [int(i) for i, c in zip(scene.instance_ids, scene.instance_classes) if c >= 2]


def test_api_edits_change_only_the_edited_instances(shipped, maps):
    moved_outside = []
    for label, instance in maps:
        out = shipped(label, instance, seed=1, output_type="np")
        scene, before = out.scene, out.images[0]
        target = _things(scene)[0]
        cls = int(scene.instance_classes[list(scene.instance_ids).index(target)])
        edits = [(shipped.redraw_instances(label, instance, out.styles[0], [target], num=2, seed=5, output_type="np"),
                  [target]),
                 (shipped.redraw_class(label, instance, out.styles[0], cls, seed=6, output_type="np"),
                  scene.ids_of_class(cls))]
        photo = shipped(label, instance, seed=9, output_type="np").images[0]
        edits.append((shipped.copy_reference_style(label, instance, out.styles[0], photo, label, instance,
                                                   [(target, target)], output_type="np"), [target]))
        for result, ids in edits:
            for image in result.images:
                assert np.array_equal(image[_outside_band(scene, ids)], before[_outside_band(scene, ids)])
                assert np.abs(image.astype(int) - before)[_inside(scene, ids)].mean() > 2
        whole = shipped.redraw_instances(label, instance, out.styles[0], [target], seed=5, local=False, output_type="np")
        moved_outside.append((whole.images[0] != before)[_outside_band(scene, [target])].any())
    assert any(moved_outside)  # the paper's whole re-render does move pixels elsewhere


def test_command_line_redraws_are_local_differ_from_their_input_and_reproduce(shipped, maps, tmp_path):
    label, instance = maps[0]

    def sample(*args):
        done = subprocess.run([sys.executable, "-m", "inade", "sample", "--label", label, "--instance", instance, *args],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done

    sample("--num", "4", "--seed", "0", "--out", str(tmp_path / "out"))
    scene = shipped.scene(label, instance)
    target = _things(scene)[0]
    before = np.asarray(Image.open(tmp_path / "out" / "000000_3.png"))
    # the style file was drawn with seed 3, which is one of the redraws' seeds 0..3
    sample("--styles", str(tmp_path / "out" / "000000_3.json"), "--resample", str(target), "--num", "4",
           "--out", str(tmp_path / "redraw"))
    for k in range(4):
        image = np.asarray(Image.open(tmp_path / "redraw" / f"000000_{k}.png"))
        assert np.array_equal(image[_outside_band(scene, [target])], before[_outside_band(scene, [target])])
        assert (image != before)[_inside(scene, [target])].any(), k
    sample("--styles", str(tmp_path / "redraw" / "000000_2.json"), "--out", str(tmp_path / "again"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "again" / "000000_0.png")),
                                  np.asarray(Image.open(tmp_path / "redraw" / "000000_2.png")))
    sample("--styles", str(tmp_path / "out" / "000000_3.json"), "--resample", str(target), "--whole-image",
           "--out", str(tmp_path / "whole"))
    assert Styles.load(str(tmp_path / "whole" / "000000_0.json")).base is None


def test_page_session_edits_are_local_and_downloads_reproduce(shipped, maps, tmp_path):
    label, instance = maps[1]
    scene = shipped.scene(label, instance)
    session = Session(shipped, scene, seed=0)
    before = session.render().copy()
    for target in _things(scene)[:2]:
        shown = session.image.copy()
        session.redraw(target)
        after = session.render()
        assert np.array_equal(after[_outside_band(scene, [target])], shown[_outside_band(scene, [target])])
        assert (after != shown)[_inside(scene, [target])].any()
    assert not np.array_equal(before, session.image)
    session.styles.save(str(tmp_path / "page.json"))  # what the page's download writes
    rendered = shipped.render(scene, [Styles.load(str(tmp_path / "page.json"))])[0]
    np.testing.assert_array_equal(rendered, session.raw)  # the file's history renders the page's image


def test_the_pages_whole_image_box_re_renders_as_the_paper(shipped):
    from inade.app import Studio

    studio = Studio(shipped)
    view = studio.open("tab", studio.example_scene(0)[0])
    thing = next(raw for raw, cls, _ in view.instances if cls >= 2)
    studio.act("tab", Session.redraw, thing)
    assert studio.session("tab").styles.edited == (thing,)
    studio.act("tab", Session.redraw, thing, False)  # the page's "whole image" box
    assert studio.session("tab").styles.base is None


def test_an_edit_history_naming_absent_ids_is_one_error():
    from types import SimpleNamespace

    from inade.errors import DataError
    from inade.synthesis.local import edit_alpha

    scene = SimpleNamespace(instance_ids=[5, 7], instance=np.zeros((4, 4), dtype=np.int64))
    with pytest.raises(DataError, match=r"instance ids \[9\] that this instance map does not have \(its ids: \[5, 7\]\)"):
        edit_alpha(scene, [9])
    assert edit_alpha(scene, [5]).min() == 1.0  # instance index 0 covers the whole map
