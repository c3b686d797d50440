"""Metrics as pure functions of arrays."""
from .appearance import (
    appearance_diversity,
    class_spread,
    instance_covariation,
    instance_independence,
    reconstruction_error,
    style_distribution_distance,
)
from .colour import COLOUR_FIELDS, instance_colour_statistics
from .distances import frechet_distance, kernel_inception_distance, mean_pairwise_l1
from .segmentation import segmentation_scores

__all__ = [
    "COLOUR_FIELDS",
    "appearance_diversity",
    "class_spread",
    "frechet_distance",
    "instance_colour_statistics",
    "instance_covariation",
    "instance_independence",
    "kernel_inception_distance",
    "mean_pairwise_l1",
    "reconstruction_error",
    "segmentation_scores",
    "style_distribution_distance",
]
