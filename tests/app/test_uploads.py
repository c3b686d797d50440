"""Hostile and mistaken uploads: each one a message, refused before it costs memory."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from inade.app import Studio
from inade.errors import InadeError

from .conftest import SIZE, example, write_png


@pytest.fixture(scope="module")
def studio(synth):
    return Studio(synth)


def png_claiming(path, width, height):
    """A PNG of a few bytes whose header claims width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return str(path)


@pytest.mark.parametrize("width,height", [(12000, 12000), (20000, 20000), (100000, 100000), (2001, 2000)])
def test_huge_dimensions_are_refused_from_the_header(studio, tmp_path, width, height):
    path = png_claiming(tmp_path / "huge.png", width, height)
    with pytest.raises(InadeError, match=r"huge.png: .*over the limit of 4.0 megapixels \(the page's limit\)$"):
        studio.uploaded_scene(path)


def test_a_decompression_bomb_is_refused_before_it_is_decoded(studio, tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("L", (4000, 3000)).save(path, optimize=True)  # 12 megapixels in a few kilobytes
    assert path.stat().st_size < 50_000
    with pytest.raises(InadeError, match="bomb.png: 4000x3000 pixels .* over the limit"):
        studio.uploaded_scene(str(path))
    with pytest.raises(InadeError, match="bomb.png: 4000x3000"):
        studio.reference_scene(photo_path=str(path), label_path=str(path))


def test_a_large_map_under_the_limit_is_reduced_to_the_models_size(studio, tmp_path):
    label = np.zeros((1000, 1500), np.uint8)
    label[500:] = 1
    shown, notes = studio.uploaded_scene(write_png(tmp_path / "wide.png", label))
    assert shown.scene.label.shape == (SIZE, SIZE) and shown.raw_label.shape == (SIZE, SIZE)
    assert "resized (nearest) to the model's 32x32" in notes[0]
    photo = np.zeros((900, 900, 3), np.uint8)
    view_scene, picture, _ = studio.reference_scene(photo_path=write_png(tmp_path / "photo.png", photo),
                                                    label_path=str(tmp_path / "wide.png"))
    studio.open("tab", shown)
    assert studio.set_reference("tab", view_scene, picture, []).reference.shape == (SIZE, SIZE, 3)


def test_files_over_the_byte_limit_are_refused_before_they_are_read(synth, tmp_path):
    small = Studio(synth, examples=[], max_upload_bytes=1000)
    path = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 6, (64, 64), dtype=np.uint8)).save(path)
    assert path.stat().st_size > 1000
    with pytest.raises(InadeError, match=r"noise.png is 0.0 MB; the limit is 0 MB"):
        small.uploaded_scene(str(path))


def test_wrong_files_and_maps_each_get_a_message(studio, tmp_path):
    label, raw_instance, photo = example(0)
    label_path = write_png(tmp_path / "label.png", label.astype(np.uint8))
    (tmp_path / "notes.png").write_bytes(b"these are not the pixels you are looking for" * 20)
    Image.fromarray(label.astype(np.uint8)).save(tmp_path / "label.jpg")
    (tmp_path / "cut.png").write_bytes((tmp_path / "label.png").read_bytes()[:60])
    each_pixel = np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE)
    cases = [
        ((str(tmp_path / "notes.png"),), "notes.png: not an image file"),
        ((str(tmp_path / "label.jpg"),), "label.jpg: a JPEG file"),
        ((str(tmp_path / "cut.png"),), "cut.png: cannot read the image"),
        ((write_png(tmp_path / "rgb.png", photo),), r"rgb.png: a colour \(RGB\) image"),
        ((write_png(tmp_path / "nine.png", np.full((SIZE, SIZE), 9, np.uint8)),), "9"),
        ((label_path, write_png(tmp_path / "half.png", np.zeros((16, 16), np.uint8))), "16x16, its label map 32x32"),
        ((label_path, write_png(tmp_path / "many.png", each_pixel)), "1024 instances at the model's size; .* at most 256"),
        ((None,), "no label file was sent"),
        ((str(tmp_path / "gone.png"),), "gone.png: the upload did not arrive"),
    ]
    for args, message in cases:
        with pytest.raises(InadeError, match=message):
            studio.uploaded_scene(*args)
    with pytest.raises(InadeError, match="no photo file was sent"):
        studio.reference_scene(label_path=label_path)
    with pytest.raises(InadeError, match="notes.png: not an image file"):
        studio.reference_scene(photo_path=str(tmp_path / "notes.png"), label_path=label_path)


def test_out_of_range_labels_name_the_file_and_the_classes(studio, tmp_path):
    with pytest.raises(InadeError) as caught:
        studio.uploaded_scene(write_png(tmp_path / "big.png", np.full((SIZE, SIZE), 9, np.uint8)))
    assert "big.png" in str(caught.value) and "9" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)  # the server's folders stay out of the page
