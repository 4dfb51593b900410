"""attention-layers: attention for Keras 3, taught and put to work.

The layers (`attention_layers.layers`) are re-exported here and use `keras.ops` only, so
they run on the TensorFlow, JAX and PyTorch backends. The sub-packages that need TensorFlow
(`text`, `data`, `export`, ...) are imported on first use, so `import attention_layers` stays
cheap and backend-neutral.
"""

import importlib

from attention_layers.layers import *  # noqa: F401,F403
from attention_layers.layers import __all__ as _layer_names

__version__ = "0.1.0"

_SUBPACKAGES = (
    "layers",
    "text",
    "data",
    "models",
    "decoding",
    "training",
    "export",
    "visualization",
    "experiments",
)

__all__ = list(_layer_names) + list(_SUBPACKAGES)


def __getattr__(name):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"attention_layers.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'attention_layers' has no attribute {name!r}")
