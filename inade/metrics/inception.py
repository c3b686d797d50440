"""The FID Inception-v3 (the TensorFlow 2015 graph as ported by pytorch-fid),
in Paddle, returning the 2048-d pool features.

Weights cannot be downloaded here: ``load_fid_inception`` reads the file users
fetch themselves (``pt_inception-2015-12-05-6726825d.pth``, read without
PyTorch), a converted ``.pdparams`` or a ``.safetensors``. Layer names follow that file.
"""
from __future__ import annotations

import os

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..checkpoints.weights import read_weights
from ..errors import CheckpointError
from ..backends.conv import Conv2D


class BasicConv2d(nn.Layer):
    def __init__(self, fin, fout, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = Conv2D(fin, fout, kernel_size, stride=stride, padding=padding, bias_attr=False)
        self.bn = nn.BatchNorm2D(fout, epsilon=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg3(x):
    # The FID graph averages without counting the zero padding.
    return F.avg_pool2d(x, 3, stride=1, padding=1, exclusive=True)


class InceptionA(nn.Layer):
    def __init__(self, fin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(fin, 64, 1)
        self.branch5x5_1 = BasicConv2d(fin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(fin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(fin, pool_features, 1)

    def forward(self, x):
        return paddle.concat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg3(x)),
        ], axis=1)


class InceptionB(nn.Layer):
    def __init__(self, fin):
        super().__init__()
        self.branch3x3 = BasicConv2d(fin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(fin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x):
        return paddle.concat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], axis=1)


class InceptionC(nn.Layer):
    def __init__(self, fin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(fin, 192, 1)
        self.branch7x7_1 = BasicConv2d(fin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(fin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(fin, 192, 1)

    def forward(self, x):
        double = x
        for index in range(1, 6):
            double = getattr(self, f"branch7x7dbl_{index}")(double)
        return paddle.concat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            double,
            self.branch_pool(_avg3(x)),
        ], axis=1)


class InceptionD(nn.Layer):
    def __init__(self, fin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(fin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(fin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x):
        seven = x
        for index in range(1, 5):
            seven = getattr(self, f"branch7x7x3_{index}")(seven)
        return paddle.concat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], axis=1)


class InceptionE(nn.Layer):
    """``max_pool``: the last block of the FID graph pools its pool branch by max."""

    def __init__(self, fin, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(fin, 320, 1)
        self.branch3x3_1 = BasicConv2d(fin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(fin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(fin, 192, 1)

    def forward(self, x):
        three = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return paddle.concat([
            self.branch1x1(x),
            self.branch3x3_2a(three), self.branch3x3_2b(three),
            self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double),
            self.branch_pool(pooled),
        ], axis=1)


class FIDInceptionV3(nn.Layer):
    """images [B, 3, H, W] in [-1, 1] -> pool features [B, 2048]."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)

    def forward(self, images):
        x = F.interpolate(images, size=[299, 299], mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                     "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


def _paddle_name(name: str) -> str:
    return name.replace(".running_mean", "._mean").replace(".running_var", "._variance")


def load_fid_inception(path: str) -> FIDInceptionV3:
    """FIDInceptionV3 in eval mode with weights from pytorch-fid's .pth, a .pdparams or a .safetensors."""
    if not os.path.isfile(path):
        raise CheckpointError(f"Inception weights file not found: {path}")
    state = read_weights(path)
    if not path.endswith((".pdparams", ".safetensors")):  # PyTorch's names
        state = {_paddle_name(k): v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    network = FIDInceptionV3()
    wanted = network.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise CheckpointError(f"{path} is not an FID Inception checkpoint: missing {', '.join(missing[:3])}"
                              + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    wrong = [f"{k} {list(state[k].shape)} (expected {list(wanted[k].shape)})" for k in wanted
             if list(state[k].shape) != list(wanted[k].shape)]
    if wrong:
        raise CheckpointError(f"{path}: shape mismatch {', '.join(wrong[:3])}")
    network.set_state_dict({k: paddle.to_tensor(np.asarray(state[k], dtype=np.float32)) for k in wanted})
    network.eval()
    return network


def inception_features(network: FIDInceptionV3, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """[N, 3, H, W] in [-1, 1] -> [N, 2048]."""
    out = []
    with paddle.no_grad():
        for start in range(0, len(images), batch_size):
            out.append(network(paddle.to_tensor(np.asarray(images[start:start + batch_size], dtype=np.float32))).numpy())
    return np.concatenate(out).astype(np.float64)
