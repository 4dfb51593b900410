"""A quiet, informative console for the training commands.

- `drop_start_up_noise()` (from `attention_layers.utils.console`): TensorFlow's start-up
  lines (absl's pre-initialization notice, the oneDNN and CPU-instruction notes, "Could not
  find cuda drivers", `cuInit` failures on a machine without a GPU) are dropped; every
  other line of standard error is shown;
- `known_steps(datasets)`: datasets that know their number of batches, so the progress bar
  counts `N/N` from the first epoch (not `N/Unknown`) and Keras does not warn that the
  input "ran out of data";
- `progress_verbosity()`: progress bars on a terminal, one line per epoch otherwise, so a
  log redirected to a file holds no bar-drawing escapes.
"""

import dataclasses
import sys

from attention_layers.utils.console import START_UP_NOISE, drop_start_up_noise

__all__ = ["START_UP_NOISE", "drop_start_up_noise", "known_steps", "progress_verbosity"]


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
