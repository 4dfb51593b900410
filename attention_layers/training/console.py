"""A quiet, informative console for the training commands.

- `quiet_start_up()`: TensorFlow's start-up lines (absl's pre-initialization notice, the
  oneDNN and CPU-instruction notes, "Could not find cuda drivers", `cuInit` failures on a
  machine without a GPU) are dropped; every other line written meanwhile is shown;
- `known_steps(datasets)`: datasets that know their number of batches, so the progress bar
  counts `N/N` from the first epoch (not `N/Unknown`) and Keras does not warn that the
  input "ran out of data";
- `progress_verbosity()`: progress bars on a terminal, one line per epoch otherwise, so a
  log redirected to a file holds no bar-drawing escapes.
"""

import contextlib
import dataclasses
import os
import re
import sys
import tempfile

# Lines that TensorFlow and XLA write while starting, whatever the machine: informational,
# or a missing GPU reported as an error. Real errors do not match them.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations|"
    r"cudart_stub\.cc|cuda_platform\.cc.*cuInit|cuda_executor|cpu_feature_guard\.cc|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|This TensorFlow binary is optimized|"
    r"failed call to cuInit|Could not find cuda drivers"
)


@contextlib.contextmanager
def quiet_start_up():
    """Runs the enclosed start-up (importing and initializing TensorFlow) without its noise.

    TensorFlow's C++ logging writes to file descriptor 2 before `TF_CPP_MIN_LOG_LEVEL` can
    act, so the descriptor itself is captured; afterwards every captured line that is not
    start-up noise (`START_UP_NOISE`) is written to `sys.stderr`. Python exceptions pass
    through unchanged.

    Example:

    >>> with quiet_start_up():
    ...     import tensorflow as tf
    ...     tf.config.list_logical_devices()
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not START_UP_NOISE.search(line):
                    print(line, file=sys.stderr)


def start_tensorflow():
    """Imports TensorFlow and Keras and finds the devices, quietly (`quiet_start_up`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with quiet_start_up():
        import keras
        import tensorflow as tf

        tf.config.list_logical_devices()
        keras.backend.backend()


def _count_batches(dataset):
    return int(dataset.reduce(0, lambda count, _: count + 1))


def known_steps(datasets):
    """A copy of a `DatasetSplits` whose datasets state their number of batches.

    Batching by length gives `tf.data` an unknown cardinality; the number of batches is
    the same every epoch (each length bucket holds the same sentences, only their order
    changes), so one pass counts it and `assert_cardinality` records it.
    """
    import tensorflow as tf

    counted = {}
    for field in dataclasses.fields(datasets):
        dataset = getattr(datasets, field.name)
        if dataset.cardinality() < 0:
            count = _count_batches(dataset)
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
        counted[field.name] = dataset
    return dataclasses.replace(datasets, **counted)


def progress_verbosity():
    """`verbose` for `fit`: 1 (a progress bar) on a terminal, 2 (a line per epoch) else."""
    return 1 if sys.stdout.isatty() else 2
