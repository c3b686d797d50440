"""Evaluation drivers that run a model over data and compute metrics."""
from .procedural import THRESHOLDS, evaluate_procedural

__all__ = ["THRESHOLDS", "evaluate_procedural"]
