"""Turn a batch of integer maps into the networks' inputs (on any device)."""
from __future__ import annotations

import paddle
import paddle.nn.functional as F


def instance_edges(instance: paddle.Tensor) -> paddle.Tensor:
    """1 where a pixel's instance differs from its left/right/top/bottom
    neighbour, both sides of a border marked. instance [B, 1, H, W] -> float [B, 1, H, W]."""
    horizontal = instance[:, :, :, 1:] != instance[:, :, :, :-1]  # [B, 1, H, W-1]
    vertical = instance[:, :, 1:, :] != instance[:, :, :-1, :]  # [B, 1, H-1, W]
    horizontal = horizontal.astype("float32")
    vertical = vertical.astype("float32")
    edges = F.pad(horizontal, [1, 0, 0, 0]) + F.pad(horizontal, [0, 1, 0, 0])
    edges = edges + F.pad(vertical, [0, 0, 1, 0]) + F.pad(vertical, [0, 0, 0, 1])
    return (edges > 0).astype("float32")


def label_onehot(label: paddle.Tensor, num_classes: int) -> paddle.Tensor:
    """label [B, 1, H, W] int -> [B, num_classes, H, W] float."""
    return F.one_hot(label[:, 0].astype("int64"), num_classes).transpose([0, 3, 1, 2])


def class_channels(label_nc: int, contain_dontcare: bool) -> int:
    """The generator's class channels for a dataset: its labels, and one more
    for the don't-care class where the dataset has one (the instance edge
    channel comes on top, see semantic_input)."""
    return label_nc + (1 if contain_dontcare else 0)


def semantic_input(label: paddle.Tensor, instance: paddle.Tensor, label_nc: int, contain_dontcare: bool,
                   edges: bool = True) -> paddle.Tensor:
    """One-hot labels (+ the don't-care channel) with the instance edge map
    appended last: [B, label_nc (+1) + 1, H, W]; without ``edges`` (models
    trained with the reference's --no_instance) [B, label_nc (+1), H, W]."""
    onehot = label_onehot(label, class_channels(label_nc, contain_dontcare))
    return paddle.concat([onehot, instance_edges(instance)], axis=1) if edges else onehot


def instance_onehot(instance: paddle.Tensor, num_instances: int) -> paddle.Tensor:
    """instance [B, 1, H, W] with indices 0..K-1 -> [B, K, H, W] float. Padded
    slots of a batch (K larger than an image's count) stay all-zero."""
    return F.one_hot(instance[:, 0].astype("int64"), num_instances).transpose([0, 3, 1, 2])
