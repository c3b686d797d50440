import paddle
import paddle.nn.functional as F


def resize_nearest(x: paddle.Tensor, size) -> paddle.Tensor:
    """Nearest-neighbour resize of a label-like map to ``size`` (H, W).

    Uses the floor rule (source index = floor(dst * in / out)), the rule of the
    reference release, so maps shrink by picking the top-left pixel of each cell.
    """
    size = [int(size[0]), int(size[1])]
    if list(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="nearest")
