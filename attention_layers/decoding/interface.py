"""The decoding interface that every translator implements, and the checks of its inputs.

Greedy decoding, beam search and the full-prefix reference (`attention_layers.decoding`)
are written once against these methods; they never look inside a model. A model
implements them with `keras.ops` only, so decoding runs on every backend.
"""

from typing import Protocol

from keras import ops

DECODING_METHODS = ("start_decoding", "decode_step", "decode_prefix")


class Translator(Protocol):
    """What decoding needs of a translator (`TransformerTranslator`, `RNNTranslator`).

    `context` and `state` are nested structures (tuples, lists) of tensors whose first
    axis is the batch, so that beam search can repeat them per beam and reorder the
    state after the surviving beams. The model decides what they hold: the Transformer's
    state is its self-attention key/value caches, the RNN's its recurrent state.

    `sequence_log_probability` also calls the model as `model((source_ids, target_in))`
    -> logits `(batch, T, V)`, and the export reads `source_vocab_size` and
    `target_vocab_size` to check the tokenizers.
    """

    @property
    def max_source_length(self):
        """The longest source, `[START]`/`[END]` included, that the model accepts, or
        `None` when any length works."""

    def start_decoding(self, source_ids, max_length):
        """Encodes int `(batch, S)` source ids (inference mode) -> `(context, state)`.

        `context` stays fixed while decoding; `state` is the state before the first step.
        `max_length` is the most steps that will follow (the size of any buffer).
        """

    def decode_step(self, token_ids, position, context, state):
        """One step: int `(batch,)` ids at int scalar `position` (`[START]` at 0) ->
        `(logits (batch, V) of the next token, next state, cross-attention weights
        (batch, S))`; the weights are those of one distribution over the source (heads
        averaged, the last layer's)."""

    def decode_prefix(self, prefix_ids, context, position=None):
        """The reference for `decode_step`: int `(batch, t)` ids `[START] y_1 ...
        y_{t-1}` run through the decoder again -> `(logits (batch, V), weights (batch,
        S))` of the last position, equal to what `decode_step` gives at position `t-1`.
        With an int scalar `position`, those of that position instead: the decoder is
        causal, so the ids after it (padding of a fixed-size buffer) do not change them."""


def outputs_at(logits, weights, position=None):
    """For `decode_prefix`: of a full-prefix pass's logits `(batch, t, V)` and weights
    `(batch, t, S)`, those of one position, `(batch, V)` and `(batch, S)`.

    `position` is `None` (the last position) or an int scalar (a tensor too).
    """
    if position is None:
        return logits[:, -1], weights[:, -1]
    return ops.take(logits, position, axis=1), ops.take(weights, position, axis=1)


def check_translator(model):
    """Raises `TypeError` unless `model` implements the decoding interface."""
    missing = [name for name in DECODING_METHODS if not callable(getattr(model, name, None))]
    if not hasattr(model, "max_source_length"):
        missing.append("max_source_length")
    if missing:
        raise TypeError(
            "`model` must implement the decoding interface (`start_decoding`, "
            "`decode_step`, `decode_prefix`, `max_source_length`), as "
            "`TransformerTranslator` and `RNNTranslator` do; received "
            f"{type(model).__name__}, which lacks "
            f"{', '.join(f'`{name}`' for name in missing)}."
        )


def check_length_penalty(length_penalty):
    """Raises `ValueError` unless `length_penalty` is a float (or int) >= 0 (not a bool)."""
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)):
        raise ValueError(f"`length_penalty` must be a float >= 0; received {length_penalty!r}.")
    if not length_penalty >= 0:
        raise ValueError(f"`length_penalty` must be a float >= 0; received {length_penalty!r}.")


def source_tensor(source_ids):
    """Source ids as an int32 `(batch, S)` tensor; `ValueError` unless they are 2-D."""
    source = ops.convert_to_tensor(source_ids)
    if len(source.shape) != 2:
        raise ValueError(
            "`source_ids` must be 2-D (batch, S) integer ids; received a tensor of shape "
            f"{tuple(source.shape)}."
        )
    return ops.cast(source, "int32")
