"""Checkpoint formats: the authors' PyTorch releases (reference), the PyTorch
file reader, and our own."""
from .reference import convert_reference_state, load_reference_checkpoint, reference_to_paddle_name
from .torch_pickle import read_torch_checkpoint

__all__ = ["convert_reference_state", "load_reference_checkpoint", "read_torch_checkpoint", "reference_to_paddle_name"]
