"""Training: the loop, checkpoints, data-parallel helpers."""
from .loop import RunResult, TrainingDiverged, train

__all__ = ["RunResult", "TrainingDiverged", "train"]
