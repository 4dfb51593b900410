"""attention-layers: attention for Keras 3, taught and put to work.

The layers (`attention_layers.layers`) are re-exported here and use `keras.ops` only, so
they run on the TensorFlow, JAX and PyTorch backends. Importing the package also registers
every object the project saves in `.keras` files (layers, models, the learning-rate
schedule, metrics), so `keras.saving.load_model` (or `attention_layers.load_model`) loads
them after a plain `import attention_layers`. Those modules need Keras only; the
sub-packages that need TensorFlow (`text`, `data`, `export`, ...) are imported on first
use, so `import attention_layers` stays backend-neutral.

Importing the package is quiet: TensorFlow's start-up lines (absl's notice, oneDNN and
CPU-instruction notes, "Could not find cuda drivers", the `cuInit` error of a machine
without a GPU) are dropped from standard error while Keras imports TensorFlow and
TensorFlow looks for devices; every other line passes, and afterwards standard error and
TensorFlow's logging are left as they were. (A program that imports Keras or TensorFlow
first gets the lines from that import.) Set the environment variable
`ATTENTION_LAYERS_QUIET_START=0` before importing to see TensorFlow's lines as it writes
them by default (`attention_layers/_start_up.py`).
"""

# First, before Keras imports TensorFlow: a start without TensorFlow's start-up lines
# (`attention_layers/_start_up.py`; ATTENTION_LAYERS_QUIET_START=0 keeps them).
from attention_layers._start_up import quiet_start as _quiet_start  # isort: skip

import importlib

with _quiet_start():
    import keras

    # Imported for their registrations (`register_keras_serializable`): a `.keras` file
    # names these classes, and Keras finds them only once their modules have run.
    import attention_layers.models  # noqa: F401
    import attention_layers.training.metrics  # noqa: F401
    import attention_layers.training.schedules  # noqa: F401
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

__all__ = [*_layer_names, "load_model", "load_run", *_SUBPACKAGES]  # noqa: F405 (load_run: __getattr__)


def load_model(path, **kwargs):
    """Loads a `.keras` file saved by this project (or any model using its layers).

    A thin wrapper of `keras.saving.load_model` that exists so that loading needs no
    knowledge of which module defines which class: every class the project saves is
    registered when `attention_layers` is imported. Safe mode stays on (the default of
    Keras; a file cannot run arbitrary code while loading) unless `safe_mode=False` is
    passed explicitly.

    Args:
        path: the `.keras` file, e.g. `"runs/translator/translator.keras"`.
        **kwargs: passed to `keras.saving.load_model` (`compile`, `custom_objects`, ...).

    Returns:
        The model, e.g. a `TransformerTranslator` or a `BiGRUClassifier`.

    Raises:
        ModelFileError: (a `ValueError`) the file cannot be loaded, in one line that names
            it and says why: no such file, a folder, an empty, truncated or non-zip file,
            or what went wrong while rebuilding the model (e.g. a size above the limits
            of `attention_layers.utils.checks`).

    Example:

    ```python
    import attention_layers as al

    translator = al.load_model("runs/translator/translator.keras")
    ```
    """
    import zipfile

    from attention_layers.utils.keras_files import (
        ModelFileError,
        check_keras_file,
        load_error_summary,
    )

    kwargs.setdefault("safe_mode", True)
    check_keras_file(path)
    try:
        return keras.saving.load_model(path, **kwargs)
    except (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ModelFileError(
            f"{path}: cannot load the model: {load_error_summary(error)}"
        ) from error


def __getattr__(name):
    if name == "load_run":  # `attention_layers.apps.run` needs TensorFlow: loaded on first use
        from attention_layers.apps.run import load_run

        globals()[name] = load_run
        return load_run
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"attention_layers.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'attention_layers' has no attribute {name!r}")
