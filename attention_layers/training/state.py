"""The training state built before `fit`, so that TensorFlow traces the training step once.

Keras creates the optimizer's slots and the compiled loss' and metrics' variables lazily.
Under a `tf.distribute` strategy it builds them symbolically before `fit` traces its step;
without one (one device on the TensorFlow backend, the usual case) it builds them inside the
first trace, and a `tf.function` that creates variables while tracing is traced a second
time. On a tiny translator that second trace was a third of the run (benchmarks/RESULTS.md,
"Training state built before fit").
"""

import keras
import numpy as np


def build_training_state(model, data):
    """Builds `model`'s variables, its optimizer's and its compiled loss' and metrics'
    from the shapes of `data`'s batches, without reading a batch.

    It does what Keras does itself before `fit` under a distribution strategy
    (`Trainer._symbolic_build` on symbolic inputs: `backend.compute_output_spec` of the
    model, the loss and the metrics, then `optimizer.build`), for the parts not built yet
    (a resumed run's optimizer is built when its checkpoint is restored). Elsewhere (JAX,
    a strategy, a Keras without that method, a model whose symbolic call fails) it leaves
    the model as it is and `fit` builds the state as before.

    Args:
        model: a compiled `keras.Model`.
        data: the `tf.data.Dataset` that `fit` will read, of `(x, y)` or
            `(x, y, sample_weight)` batches; or, before a `fit` on arrays, those arrays
            as one tuple, `(x, y)` (`x` itself a tuple or dict for several inputs): only
            their shapes and dtypes are read.

    Returns:
        True if the state was built here, False if it was left to `fit`.

    Example:

    >>> model.compile(optimizer="adam", loss="mse")
    >>> build_training_state(model, train)   # model.optimizer.built is now True
    >>> model.fit(train, epochs=3)           # one trace of the training step
    >>> build_training_state(other, (x, y))  # before other.fit(x, y, batch_size=64)
    """
    if keras.backend.backend() != "tensorflow":
        return False  # the JAX and PyTorch trainers build symbolically in `fit` already
    if getattr(model, "_distribute_strategy", "absent") is not None:
        return False  # under a strategy Keras builds the state itself
    build = getattr(model, "_symbolic_build", None)
    spec = getattr(data, "element_spec", None)
    if spec is None and isinstance(data, tuple):  # arrays: their specs, no copy of them
        import tensorflow as tf

        spec = tf.nest.map_structure(
            lambda array: tf.TensorSpec(np.shape(array), np.asarray(array).dtype), data)
    if build is None or spec is None:
        return False
    try:
        build(data_batch=spec)
    except (RuntimeError, ValueError, TypeError):
        return False  # `fit` builds whatever is left when it traces the step
    return True
