import paddle

from .resize import resize_nearest


def instance_average_pool(features: paddle.Tensor, instances: paddle.Tensor) -> paddle.Tensor:
    """Mean of ``features`` [B, C, H, W] over each instance of the one-hot
    ``instances`` [B, K, h, w] (resized nearest to H, W). Returns [B, K, C];
    an instance with no pixel gets zeros."""
    batch, channels, height, width = features.shape
    masks = resize_nearest(instances.astype(features.dtype), (height, width))
    num_instances = masks.shape[1]
    masks = masks.reshape([batch, num_instances, height * width])  # [B, K, HW]
    flat = features.reshape([batch, channels, height * width])  # [B, C, HW]
    sums = paddle.matmul(masks, flat, transpose_y=True)  # [B, K, C]
    counts = paddle.clip(masks.sum(axis=-1, keepdim=True), min=1.0)  # [B, K, 1]
    return sums / counts
