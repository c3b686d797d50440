"""INADE: diverse semantic image synthesis with instance-adaptive normalization, in PaddlePaddle."""
import warnings

from .runtime import configure_cpu_environment as _configure_cpu_environment
from .runtime import import_paddle_quietly as _import_paddle_quietly
from .runtime import threads_are_ours as _threads_are_ours

__version__ = "0.1.0"

# Paddle warns on every import about a C++ extension compiler cache that this
# library never uses.
warnings.filterwarnings("ignore", message="No ccache found")
# Paddle's BatchNorm repeats this on every training forward; it describes its default.
warnings.filterwarnings("ignore", message="When training, we now always track global mean and variance")

# Must run before the first `import paddle` anywhere in the process (after the filters above).
_configure_cpu_environment()
if _threads_are_ours():
    _import_paddle_quietly()
