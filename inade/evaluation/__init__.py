"""Evaluation drivers that run a model over data and compute metrics."""
from .dataset import evaluate_dataset, validation_maps
from .procedural import THRESHOLDS, evaluate_procedural

__all__ = ["THRESHOLDS", "evaluate_dataset", "evaluate_procedural", "validation_maps"]
