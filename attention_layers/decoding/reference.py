"""The references the step-by-step decoders are checked against.

`greedy_decode_full_prefix` decodes the way the TensorFlow Transformer tutorial does,
re-running the decoder over the whole prefix at every step; the tests check that cached
decoding gives the same tokens, and `benchmarks/decoding.py` times both.
`sequence_log_probability` scores any output with one teacher-forced pass.
"""

import keras
from keras import ops

from attention_layers.decoding.compiled import run_compiled
from attention_layers.decoding.greedy import greedy_loop
from attention_layers.decoding.interface import check_translator, source_tensor
from attention_layers.utils.checks import check_positive_int
from attention_layers.utils.token_ids import START_ID, padding_mask


def _greedy_full_prefix(model, source_ids, max_length, return_attention, padded):
    source = source_tensor(source_ids)
    batch, source_length = ops.shape(source)[0], ops.shape(source)[1]
    context, _ = model.start_decoding(source, max_length)

    def step_fn(tokens, position, state):
        if padded:
            # The whole buffer (batch, max_length), read at `position`: one shape for
            # every step, which JAX's loop needs; [PAD]s after the prefix change nothing.
            logits, weights = model.decode_prefix(tokens[:, :-1], context, position)
        else:
            # The whole prefix, `[START] y_1 ... y_position`, through the whole decoder.
            logits, weights = model.decode_prefix(tokens[:, : position + 1], context)
        return logits, weights, state

    return greedy_loop(step_fn, (), batch, source_length, max_length, return_attention)


def greedy_decode_full_prefix(model, source_ids, max_length=64, return_attention=True):
    """Greedy decoding that re-runs the decoder over the whole prefix at every step.

    This is how the TensorFlow tutorials decode (their `Translator` even re-runs the
    encoder, which this does not): step `t` decodes `[START] y_1 ... y_t` from scratch
    (`model.decode_prefix`), so it costs `O(t)` positions (`O(t^2)` attention), against
    one position for `greedy_decode`. It is the reference that `greedy_decode` must agree
    with, and the baseline of `benchmarks/decoding.py`. On TensorFlow the prefix grows
    (shapes may change inside a `tf.while_loop`); JAX's loop needs one shape, so on the
    other backends each step runs the whole `(batch, max_length)` buffer, `[PAD]` after
    the prefix, and reads the step's position (the decoder is causal: same tokens).

    Args:
        model, source_ids, max_length, return_attention: as for `greedy_decode`.

    Returns:
        As for `greedy_decode`.
    """
    check_positive_int("max_length", max_length)
    check_translator(model)
    padded = keras.backend.backend() != "tensorflow"
    return run_compiled(
        model, _greedy_full_prefix, source_ids, max_length, bool(return_attention), padded
    )


def sequence_log_probability(model, source_ids, token_ids):
    """The model's log-probability of given outputs, from one teacher-forced pass.

    `log P(Y | X) = sum_t log p(y_t | y_<t, X)` over the tokens up to and including the
    first `[END]` (the `[PAD]`s after it do not count). Used to compare decoders: beam
    search should find outputs at least as probable as greedy decoding.

    Args:
        model: a translator called as `model((source_ids, target_in))` -> logits
            `(batch, T, V)` (`TransformerTranslator`, `RNNTranslator`).
        source_ids: int `(batch, S)`.
        token_ids: int `(batch, T)` outputs as the decoders return them (no `[START]`).

    Returns:
        float32 `(batch,)`.
    """
    source = source_tensor(source_ids)
    targets = ops.cast(ops.convert_to_tensor(token_ids), "int32")  # (batch, T)
    batch = ops.shape(targets)[0]
    target_in = ops.concatenate(
        [ops.full((batch, 1), START_ID, "int32"), targets[:, :-1]], axis=1
    )  # (batch, T)
    logits = model((source, target_in), training=False)  # (batch, T, V)
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    token_log_probs = ops.take_along_axis(log_probs, ops.expand_dims(targets, -1), axis=-1)
    real = padding_mask(targets)
    return ops.sum(ops.where(real, token_log_probs[..., 0], 0.0), axis=1)
