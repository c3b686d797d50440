"""The networks: generator, instance-adaptive encoder, multi-scale discriminator."""
from .discriminator import MultiscaleDiscriminator
from .encoder import InstanceAdaptiveEncoder
from .generator import Generator, latent_size
from .init import count_parameters, init_weights
from .noise import remap_noise, sample_instance_noise

__all__ = [
    "Generator",
    "InstanceAdaptiveEncoder",
    "MultiscaleDiscriminator",
    "count_parameters",
    "init_weights",
    "latent_size",
    "remap_noise",
    "sample_instance_noise",
]
