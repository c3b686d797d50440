"""Datasets and the tensors the networks take from them."""
from .base import collate
from .config import DataConfig
from .datasets import PairedDataset, build_dataset
from .procedural import ProceduralDataset
from .semantics import class_channels, instance_edges, instance_onehot, label_onehot, semantic_input

__all__ = [
    "DataConfig",
    "PairedDataset",
    "ProceduralDataset",
    "build_dataset",
    "class_channels",
    "collate",
    "instance_edges",
    "instance_onehot",
    "label_onehot",
    "semantic_input",
]
