import numpy as np
import pytest

from inade.metrics import (
    appearance_diversity,
    class_spread,
    frechet_distance,
    instance_independence,
    kernel_inception_distance,
    mean_pairwise_l1,
    reconstruction_error,
    segmentation_scores,
    style_distribution_distance,
)


def test_frechet_distance_matches_an_eigenvalue_computation():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((200, 5)), rng.standard_normal((300, 5)) * 1.5 + 0.3
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    # Tr sqrt(S1 S2) = sum of square roots of the eigenvalues of S1 S2 (real, non-negative)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


def test_kid_matches_a_loop_over_pairs():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 4)) + 0.5

    def k(p, q):
        return (p @ q / 4 + 1) ** 3

    n = 30
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / (n * n)
    mean, std = kernel_inception_distance(x, y, subsets=1, subset_size=30)
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-9) and std == 0.0


def test_independence_is_one_for_independent_styles_and_zero_for_shared_ones():
    rng = np.random.default_rng(2)
    independent = rng.standard_normal((50, 3, 4))
    classes = np.array([2, 2, 2])
    assert instance_independence(independent, classes) == pytest.approx(1.0, abs=0.1)
    shared = np.repeat(rng.standard_normal((50, 1, 4)), 3, axis=1)
    assert instance_independence(shared, classes) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(instance_independence(independent, np.array([0, 1, 2])))


def test_diversity_spread_reconstruction_and_distribution_distance():
    rng = np.random.default_rng(3)
    constant = np.ones((4, 2, 3))
    assert appearance_diversity(constant) == 0.0
    varied = rng.standard_normal((200, 2, 3))
    # E|x - y| for independent N(0, I3) pairs is about 2.26
    assert appearance_diversity(varied) == pytest.approx(2.26, rel=0.1)
    pool = rng.standard_normal((400, 3))
    assert class_spread(pool, np.zeros(400, int)) == pytest.approx(2.26, rel=0.1)
    assert reconstruction_error(pool, pool) == 0.0
    assert reconstruction_error(pool + [3.0, 4.0, 0.0], pool) == pytest.approx(5.0)
    labels = np.zeros(400, int)
    assert style_distribution_distance(pool, labels, pool, labels) == pytest.approx(0.0, abs=1e-6)
    assert style_distribution_distance(pool + 1.0, labels, pool, labels) == pytest.approx(3.0, rel=1e-3)


def test_pixel_diversity_and_segmentation_scores():
    images = np.stack([np.zeros((3, 2, 2)), np.ones((3, 2, 2)), np.full((3, 2, 2), 3.0)])
    assert mean_pairwise_l1(images) == pytest.approx((1 + 3 + 2) / 3)
    scores = segmentation_scores([np.array([0, 1, 1, 2])], [np.array([0, 1, 2, 2])], num_classes=3)
    assert scores["pixel_accuracy"] == 0.75
    assert scores["miou"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    ignored = segmentation_scores([np.array([0, 1])], [np.array([0, 255])], num_classes=3, ignore_index=255)
    assert ignored == {"miou": 1.0, "pixel_accuracy": 1.0}


def test_fid_and_kid_of_feature_sets():
    from inade.evaluation.fid import fid_and_kid

    rng = np.random.default_rng(5)
    features = rng.standard_normal((64, 6))
    assert abs(fid_and_kid(features, features)["fid"]) < 1e-6
    same_distribution = fid_and_kid(rng.standard_normal((400, 6)), rng.standard_normal((400, 6)))
    shifted = fid_and_kid(rng.standard_normal((400, 6)) + 1.0, rng.standard_normal((400, 6)))
    assert abs(same_distribution["kid"]) < 0.1 < shifted["kid"]
    assert fid_and_kid(features + 2.0, features)["fid"] == pytest.approx(24.0, rel=1e-3)


def test_covariation_is_near_zero_for_independent_styles_and_one_for_a_shared_shift():
    from inade.metrics import instance_covariation

    rng = np.random.default_rng(4)
    classes = np.array([2, 2, 5])
    independent = rng.standard_normal((400, 3, 4))
    assert instance_covariation(independent, classes) < 0.1
    # an image-level code shifts both instances alike; their fixed difference does not matter
    shift = rng.standard_normal((400, 1, 4))
    together = np.concatenate([shift, shift + [1.0, -2.0, 0.5, 3.0], rng.standard_normal((400, 1, 4))], axis=1)
    assert instance_covariation(together, classes) == pytest.approx(1.0)
    assert np.isnan(instance_covariation(independent, np.array([0, 1, 2])))
    assert np.isnan(instance_covariation(np.ones((4, 3, 2)), classes))  # nothing varies


def test_instance_colour_statistics_and_self_reconstruction():
    from inade.metrics import instance_colour_statistics, reconstruction_error

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 3, 6, 8))
    instance = np.zeros((6, 8), dtype=np.int64)
    instance[:, 5:] = 1
    instance[0, 0] = -1  # outside every instance
    stats = instance_colour_statistics(images, instance, 3)
    assert stats.shape == (2, 3, 6)
    pixels = (images[1][:, instance == 1] + 1) / 2
    np.testing.assert_allclose(stats[1, 1, :3], pixels.mean(axis=1))
    np.testing.assert_allclose(stats[1, 1, 3:], pixels.std(axis=1), atol=1e-12)
    assert np.isnan(stats[:, 2]).all()  # an instance without pixels
    assert reconstruction_error(stats[0], stats[0]) == 0.0
    assert reconstruction_error(stats[0], stats[1]) > 0.0
