"""Building blocks of the INADE networks."""
from .attentive_norm import AttentiveNorm, attentive_norm_regularization
from ..backends.conv import Conv2D, conv2d
from .instance_conv import InstanceAwareConv2d, instance_aware_conv2d
from .instance_pool import instance_average_pool
from .norms import InadeNorm, SpadeNorm, make_param_free_norm
from .resize import resize_nearest

__all__ = [
    "AttentiveNorm",
    "attentive_norm_regularization",
    "Conv2D",
    "conv2d",
    "InstanceAwareConv2d",
    "instance_aware_conv2d",
    "instance_average_pool",
    "InadeNorm",
    "SpadeNorm",
    "make_param_free_norm",
    "resize_nearest",
]
