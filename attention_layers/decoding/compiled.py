"""Runs a decoder eagerly or in a graph, compiled once per model on TensorFlow."""

import functools
import weakref

import keras

from attention_layers.decoding.interface import source_tensor

# Compiled decoders per model, so eager callers (BLEU, sample translations) trace once.
_COMPILED = weakref.WeakKeyDictionary()


def run_compiled(model, decode, source_ids, *options, jit_compile=False):
    """Runs `decode(model, source, *options)`, compiled once per model and options.

    On the TensorFlow backend, eager calls go through one `tf.function` (any batch and
    source length), compiled with XLA if `jit_compile`; inside a graph (`tf.function`,
    an export) and on the other backends the decoder runs as it is.
    """
    source = source_tensor(source_ids)
    if keras.backend.backend() != "tensorflow":
        return decode(model, source, *options)
    import tensorflow as tf

    if not tf.executing_eagerly():
        return decode(model, source, *options)
    compiled = _COMPILED.setdefault(model, {})
    key = (decode.__name__, *options, jit_compile)
    if key not in compiled:
        # A weak reference, so that the cache does not keep the model alive. A partial,
        # not a lambda: TensorFlow counts traces per function code, and every decoder
        # made from one lambda would be logged as that function "retracing".
        compiled[key] = tf.function(
            functools.partial(_decode_with, weakref.ref(model), decode, options),
            input_signature=[tf.TensorSpec([None, None], tf.int32)],
            autograph=False,
            jit_compile=jit_compile,
        )
    return compiled[key](source)


def _decode_with(model_ref, decode, options, source):
    return decode(model_ref(), source, *options)
