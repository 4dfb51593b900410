"""A quiet, informative console for the training commands.

- `drop_start_up_noise()`: TensorFlow's start-up lines (absl's pre-initialization notice,
  the oneDNN and CPU-instruction notes, "Could not find cuda drivers", `cuInit` failures
  on a machine without a GPU) are dropped; every other line of standard error is shown;
- `known_steps(datasets)`: datasets that know their number of batches, so the progress bar
  counts `N/N` from the first epoch (not `N/Unknown`) and Keras does not warn that the
  input "ran out of data";
- `progress_verbosity()`: progress bars on a terminal, one line per epoch otherwise, so a
  log redirected to a file holds no bar-drawing escapes.
"""

import atexit
import dataclasses
import os
import re
import sys
import threading

# Lines that TensorFlow and XLA write while starting, whatever the machine: informational,
# or a missing GPU reported as an error. Real errors do not match them.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations|"
    r"cudart_stub\.cc|cuda_platform\.cc.*cuInit|cuda_executor|cpu_feature_guard\.cc|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler|"
    r"Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    r"TF-TRT Warning|This TensorFlow binary is optimized|"
    r"failed call to cuInit|Could not find cuda drivers|"
    r"oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512"
)


def drop_start_up_noise():
    """From now on, drops TensorFlow's start-up lines from this process's standard error.

    TensorFlow's C++ logging writes to file descriptor 2 while TensorFlow is imported,
    before `TF_CPP_MIN_LOG_LEVEL` can act, so the descriptor itself is routed through a
    thread that forwards every line except those matching `START_UP_NOISE`; tracebacks,
    warnings and real errors pass. Call it before importing Keras or TensorFlow (for the
    commands, `attention_layers/_start_up.py` loads this module from its file first). At
    exit the descriptor is restored and the last lines forwarded.
    """
    sys.stderr.flush()
    real = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_forward, args=(read_end, real), daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(real, 2)  # closes the pipe's write end: the thread reads to its end
        thread.join(timeout=10)

    atexit.register(restore)


def _forward(read_end, real):
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            if not START_UP_NOISE.search(line.decode("utf-8", "replace")):
                os.write(real, line)


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
