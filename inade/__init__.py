"""INADE: diverse semantic image synthesis with instance-adaptive normalization, in PaddlePaddle."""
import warnings

from .runtime import configure_cpu_environment as _configure_cpu_environment

# Must run before the first `import paddle` anywhere in the process.
_configure_cpu_environment()

__version__ = "0.1.0"

# Paddle warns on every import about a C++ extension compiler cache that this
# library never uses.
warnings.filterwarnings("ignore", message="No ccache found")
# Paddle's BatchNorm repeats this on every training forward; it describes its default.
warnings.filterwarnings("ignore", message="When training, we now always track global mean and variance")
