"""Small folder datasets with one bad file of each kind, for the tests of the
dataset check and of data errors through the command-line tools."""
import os
import struct
import zlib

import numpy as np
from PIL import Image

SIZE = 32
LABEL_NC = 3
MAX_INSTANCES = 8


def huge_png(path: str, side: int = 12000) -> None:
    """A grey PNG of side x side pixels that is ~140 KB on disk (all zeros),
    written row by row so the test itself never holds the pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one byte per pixel
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", body))
        f.write(chunk(b"IEND", b""))


def _save(path: str, array: np.ndarray, **options) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, **options)


def good_sample(root: str, name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    label = np.zeros((SIZE, SIZE), np.uint8)
    label[:, SIZE // 2:] = 1
    label[SIZE // 2:, :] = 2
    instance = label.astype(np.uint16) * 1000 + (np.arange(SIZE)[None, :] >= 3 * SIZE // 4)
    _save(f"{root}/images/{name}.png", rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8))
    _save(f"{root}/labels/{name}.png", label)
    _save(f"{root}/instances/{name}.png", instance)


def break_sample(root: str, name: str, kind: str) -> str:
    """Make sample ``name`` bad in the way ``kind`` says; returns the bad file."""
    good_sample(root, name, seed=len(kind))
    if kind == "rgb_label":
        path = f"{root}/labels/{name}.png"
        _save(path, np.random.default_rng(1).integers(0, LABEL_NC, (SIZE, SIZE, 3), dtype=np.uint8))
    elif kind == "label_range":
        path = f"{root}/labels/{name}.png"
        _save(path, np.full((SIZE, SIZE), LABEL_NC + 4, np.uint8))
    elif kind == "truncated":
        path = f"{root}/images/{name}.png"
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    elif kind == "instance_size":
        path = f"{root}/instances/{name}.png"
        _save(path, np.zeros((SIZE // 2, SIZE), np.uint16))
    elif kind == "jpeg_label":
        os.remove(f"{root}/labels/{name}.png")
        path = f"{root}/labels/{name}.jpg"
        _save(path, np.zeros((SIZE, SIZE), np.uint8), quality=95)
    elif kind == "many_instances":
        path = f"{root}/instances/{name}.png"
        _save(path, (np.arange(SIZE * SIZE).reshape(SIZE, SIZE) // (SIZE * 2)).astype(np.uint16))  # 16 stripes
    elif kind == "huge":
        path = f"{root}/images/{name}.png"
        huge_png(path)
    else:
        raise ValueError(kind)
    return path


BAD_KINDS = ("rgb_label", "label_range", "truncated", "instance_size", "jpeg_label", "many_instances", "huge")


def make_dataset(root: str, good: int = 4, bad=BAD_KINDS) -> dict:
    """``good`` good samples g0.., one bad sample per kind; returns kind -> bad file."""
    for k in range(good):
        good_sample(root, f"g{k}", seed=k)
    return {kind: break_sample(root, f"bad_{kind}", kind) for kind in bad}


def data_section(root: str, **extra) -> dict:
    return {"type": "folder", "image_dir": f"{root}/images", "label_dir": f"{root}/labels",
            "instance_dir": f"{root}/instances", "label_nc": LABEL_NC, "crop_size": SIZE,
            "preprocess_mode": "fixed", "max_instances": MAX_INSTANCES, "batch_size": 2, **extra}
