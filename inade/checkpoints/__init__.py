"""Checkpoint formats: the authors' PyTorch releases (reference) and our own."""
from .reference import convert_reference_state, load_reference_checkpoint, reference_to_paddle_name

__all__ = ["convert_reference_state", "load_reference_checkpoint", "reference_to_paddle_name"]
