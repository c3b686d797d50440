import numpy as np

from inade.data.positional import class_positional_map, positional_maps


def test_offsets_from_each_region_centroid_scaled_to_unit_reach():
    label = np.zeros((6, 9), np.int64)
    label[1:4, 1:6] = 1  # a 3x5 block of class 1
    label[5, 8] = 1  # a second, one-pixel region of class 1
    rows, cols = class_positional_map(label)
    # the block: centroid (2, 3); row reach 1, column reach 2
    np.testing.assert_allclose(rows[1:4, 3], [-1, 0, 1], atol=1e-4)
    np.testing.assert_allclose(cols[2, 1:6], [-1, -0.5, 0, 0.5, 1], atol=1e-4)
    assert rows[5, 8] == 0 and cols[5, 8] == 0  # a single pixel is its own centroid
    assert np.abs(rows).max() <= 1 and np.abs(cols).max() <= 1
    # class 0 surrounds the block as one region: its farthest pixels reach exactly 1
    for axis in (rows, cols):
        assert abs(np.abs(axis[label == 0]).max() - 1) < 1e-4


def test_diagonal_neighbours_are_one_region_and_ignored_class_stays_zero():
    label = np.full((4, 4), 2, np.int64)
    label[0, 0] = label[1, 1] = 1  # touching at a corner: one region (8-connectivity)
    rows, cols = class_positional_map(label, ignore=2)
    np.testing.assert_allclose([rows[0, 0], rows[1, 1], cols[0, 0], cols[1, 1]], [-1, 1, -1, 1], atol=1e-4)
    assert not rows[label == 2].any() and not cols[label == 2].any()


def test_batches_and_translation_invariance():
    label = np.zeros((1, 1, 8, 8), np.int64)
    label[0, 0, 1:4, 1:3] = 1
    shifted = np.roll(label, (3, 4), axis=(2, 3))
    a, b = positional_maps(label), positional_maps(shifted)
    assert a.shape == (1, 2, 8, 8) and a.dtype == np.float32
    np.testing.assert_allclose(a[0][:, label[0, 0] == 1], b[0][:, shifted[0, 0] == 1], atol=1e-6)


def test_the_class_left_out_is_the_raw_label_zero_of_each_format():
    from inade.data.config import DataConfig
    from inade.data.positional import unmapped_class

    assert unmapped_class(DataConfig(type="cityscapes"), 35, False) == 0
    assert unmapped_class(DataConfig(type="coco"), 182, True) == 0  # raw 0 is "person" there
    assert unmapped_class(DataConfig(type="ade20k"), 150, True) == 150  # raw 0 maps to don't care
