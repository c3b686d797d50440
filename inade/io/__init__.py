"""Reading files written by other frameworks, without those frameworks."""
from .torch_pickle import read_torch_checkpoint

__all__ = ["read_torch_checkpoint"]
