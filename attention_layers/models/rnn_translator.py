"""An RNN encoder-decoder translator with a choice of attention (Bahdanau 2015; Luong 2015)."""

import keras
from keras import ops

from attention_layers.decoding.interface import outputs_at
from attention_layers.layers import (
    AdditiveAttention,
    LocationAttention,
    LocationSensitiveAttention,
    LuongAttention,
)
from attention_layers.models.recurrent import bidirectional
from attention_layers.utils.checks import check_one_of, check_positive_ints, check_table_sizes
from attention_layers.utils.configs import attribute_config
from attention_layers.utils.token_ids import padding_mask

ATTENTIONS = (
    "bahdanau",
    "luong-dot",
    "luong-general",
    "luong-concat",
    "location",
    "location-sensitive",
)
CELLS = ("gru", "lstm")


def make_attention(kind, units, max_source_length):
    """The attention layer for `RNNTranslator(attention=kind)`."""
    if kind == "bahdanau":
        return AdditiveAttention(units, name="attention")
    if kind.startswith("luong-"):
        score = kind.split("-", 1)[1]
        return LuongAttention(score, units=units if score == "concat" else None, name="attention")
    if kind == "location":
        return LocationAttention(max_source_length, name="attention")
    if kind == "location-sensitive":
        return LocationSensitiveAttention(units, filters=16, kernel_size=7, name="attention")
    raise ValueError(f"`attention` must be one of {ATTENTIONS}; received {kind!r}.")


@keras.saving.register_keras_serializable(package="attention_layers")
class RNNTranslator(keras.Model):
    """A recurrent encoder-decoder with attention, trained with teacher forcing.

    Encoder: embedding -> bidirectional GRU/LSTM (directions summed), Bahdanau et al. 2015
    §3.2. Decoder: embedding -> GRU/LSTM, started from a projection of the encoder's final
    states; at every target step the decoder state `h_t` queries the encoder outputs with
    the chosen attention, and the attentional vector `h~_t = tanh(W_c [c_t; h_t])`
    (Luong et al. 2015, eq. 5) predicts the next word (eq. 6).

    Two decoders share these weights:

    - *parallel* (the default): the decoder RNN runs over the whole target at once, then
      attends for all steps together; fast with `model.fit`;
    - *step by step* (`keras.ops.scan`): needed when a step depends on the last one, i.e.
      Luong's input feeding (eq. 5 fed into the next input, §3.3) or location-sensitive
      attention (the previous alignment, Chorowski et al. 2015).

    For greedy and beam search (`attention_layers.decoding`) it implements the decoding
    interface of the translators: `start_decoding`, `decode_step` (one target step of the
    step-by-step decoder, with the same weights), `decode_prefix` and
    `max_source_length`.

    Args:
        source_vocab_size: size of the source vocabulary (id 0 is padding).
        target_vocab_size: size of the target vocabulary (id 0 is padding).
        embedding_dim: width of the word embeddings.
        units: width of the RNN states and of the attention.
        cell: `"gru"` or `"lstm"`.
        attention: one of `"bahdanau"`, `"luong-dot"`, `"luong-general"`, `"luong-concat"`,
            `"location"`, `"location-sensitive"`.
        input_feeding: feed `h~_{t-1}` into step `t` (Luong et al. 2015, §3.3).
        max_source_length: the longest source (needed by `"location"` attention, whose
            model then accepts no longer one; the other attentions take any length).
        dropout: on embeddings and the attentional vector.

    Call arguments and returns: as `TransformerTranslator`, for which this model can stand
    in: `inputs = (source_ids (batch, S), target_in_ids (batch, T))` and `training` ->
    logits `(batch, T, target_vocab_size)`.

    Example:

    >>> import numpy as np
    >>> model = RNNTranslator(50, 40, embedding_dim=8, units=16, attention="luong-general")
    >>> source = np.array([[5, 6, 7, 0]]); target_in = np.array([[1, 8, 9]])
    >>> tuple(model((source, target_in)).shape)
    (1, 3, 40)
    >>> tuple(model.get_attention_weights((source, target_in))["cross_attention"].shape)
    (1, 3, 4)
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        embedding_dim=128,
        units=256,
        cell="gru",
        attention="bahdanau",
        input_feeding=False,
        max_source_length=64,
        dropout=0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_one_of("cell", cell, CELLS)
        check_positive_ints(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
            embedding_dim=embedding_dim, units=units,
        )
        tables = {
            "source_vocab_size x embedding_dim": (source_vocab_size, embedding_dim),
            "target_vocab_size x embedding_dim": (target_vocab_size, embedding_dim),
            "units x target_vocab_size": (units, target_vocab_size),
            "embedding_dim x units": (embedding_dim, 4 * units),  # an LSTM's four gates
            "units x units": (units, 4 * units),
        }
        if isinstance(max_source_length, int):  # location attention: one score per position
            tables["units x max_source_length"] = (units, max_source_length)
        check_table_sizes(tables)
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.cell = cell
        self.attention_kind = attention
        self.input_feeding = input_feeding
        # The constructor argument; `max_source_length` is the limit the model enforces.
        self._max_source_length = max_source_length
        self.dropout = dropout
        self.step_by_step = input_feeding or attention == "location-sensitive"

        rnn = keras.layers.GRU if cell == "gru" else keras.layers.LSTM
        self.source_embedding = keras.layers.Embedding(
            source_vocab_size, embedding_dim, name="source_embedding"
        )
        self.encoder_rnn = bidirectional(
            rnn(units, return_sequences=True, return_state=True),
            merge_mode="sum",
            name="encoder",
        )
        self.bridge = keras.layers.Dense(units, activation="tanh", name="bridge")
        self.target_embedding = keras.layers.Embedding(
            target_vocab_size, embedding_dim, name="target_embedding"
        )
        self.decoder_rnn = rnn(units, return_sequences=True, return_state=True, name="decoder")
        self.attention = make_attention(attention, units, max_source_length)
        self.attentional = keras.layers.Dense(units, activation="tanh", name="attentional")
        self.dropout_layer = keras.layers.Dropout(dropout)
        self.output_projection = keras.layers.Dense(target_vocab_size, name="logits")

    def build(self, input_shape=None):
        # Built explicitly (not by tracing `call`), so that `encode`, `decode_step` and
        # `get_attention_weights` work on a fresh model and a loaded file gets its weights.
        units, embedding_dim = self.units, self.embedding_dim
        self.source_embedding.build((None, None))
        self.encoder_rnn.build((None, None, embedding_dim))
        self.bridge.build((None, 2 * units))
        self.target_embedding.build((None, None))
        self.decoder_rnn.build(
            (None, None, embedding_dim + (units if self.input_feeding else 0))
        )
        self.attention.build((None, None, units), (None, None, units))
        self.attentional.build((None, None, 2 * units))
        self.output_projection.build((None, None, units))

    def _ensure_built(self):
        if not self.built:
            self.build()

    # --- encoder ------------------------------------------------------------------------

    def encode(self, source, training=None):
        """Source ids `(batch, S)` -> `(encoder_outputs (batch, S, units), source_mask,
        initial decoder states)`."""
        self._ensure_built()
        source_mask = padding_mask(source)
        embedded = self.dropout_layer(self.source_embedding(source), training=training)
        outputs, *final_states = self.encoder_rnn(embedded, mask=source_mask, training=training)
        # final_states: forward then backward states (h, or h and c for an LSTM).
        half = len(final_states) // 2
        initial = [
            self.bridge(ops.concatenate([forward, backward], -1))
            for forward, backward in zip(final_states[:half], final_states[half:], strict=True)
        ]
        return outputs, source_mask, initial

    # --- decoder ------------------------------------------------------------------------

    def _attend(self, decoder_outputs, encoder_outputs, source_mask, previous_alignment=None):
        kwargs = {"value_mask": source_mask, "return_attention_scores": True}
        if self.attention_kind == "location-sensitive":
            kwargs["previous_alignment"] = previous_alignment
        return self.attention(decoder_outputs, encoder_outputs, **kwargs)

    def _attentional_vector(self, context, decoder_outputs, training):
        hidden = self.attentional(ops.concatenate([context, decoder_outputs], -1))
        return self.dropout_layer(hidden, training=training)

    def initial_step_state(self, encoder_outputs, initial_states):
        """The state before the first target step: `(*rnn_states, attentional, weights,
        alignment)`, the last three `(batch, units)`, `(batch, S)`, `(batch, S)`."""
        batch = ops.shape(encoder_outputs)[0]
        feed = ops.zeros((batch, self.units), encoder_outputs.dtype)
        weights = ops.zeros(ops.shape(encoder_outputs)[:2], encoder_outputs.dtype)
        return (*initial_states, feed, weights, weights)

    def _decoder_step(self, token_embedding, step_state, encoder_outputs, source_mask, training):
        """One target step: `(batch, E)` embedding -> `(attentional (batch, units),
        weights (batch, S), next step_state)`."""
        *rnn_states, feed, _, alignment = step_state
        step_input = token_embedding
        if self.input_feeding:
            step_input = ops.concatenate([token_embedding, feed], -1)
        hidden, rnn_states = self.decoder_rnn.cell(step_input, list(rnn_states), training=training)
        context, weights = self._attend(
            ops.expand_dims(hidden, 1), encoder_outputs, source_mask, alignment
        )  # (batch, 1, units), (batch, 1, S)
        weights = ops.cast(weights[:, 0], alignment.dtype)
        attentional = self._attentional_vector(context[:, 0], hidden, training)
        if self.attention_kind == "location-sensitive":
            alignment = self.attention.next_alignment(alignment, weights)
        return attentional, weights, (*rnn_states, attentional, weights, alignment)

    def decode(self, target_in, encoder_outputs, source_mask, initial_states, training=None):
        """Teacher-forced decoding: `(logits (batch, T, V), weights (batch, T, S))`."""
        embedded = self.dropout_layer(self.target_embedding(target_in), training=training)
        if not self.step_by_step:
            decoder_outputs, *_ = self.decoder_rnn(
                embedded, initial_state=initial_states, training=training
            )  # (batch, T, units)
            context, weights = self._attend(decoder_outputs, encoder_outputs, source_mask)
            attentional = self._attentional_vector(context, decoder_outputs, training)
        else:
            def step(state, token_embedding):
                *_, state = self._decoder_step(
                    token_embedding, state, encoder_outputs, source_mask, training
                )
                # Keras' TensorFlow scan needs per-step outputs shaped like the carry,
                # which holds the attentional vector and the weights.
                return state, state

            time_major = ops.transpose(embedded, (1, 0, 2))  # (T, batch, E)
            _, states = ops.scan(
                step, self.initial_step_state(encoder_outputs, initial_states), time_major
            )
            attentional, weights = states[-3], states[-2]  # (T, batch, units), (T, batch, S)
            attentional = ops.transpose(attentional, (1, 0, 2))  # (batch, T, units)
            weights = ops.transpose(weights, (1, 0, 2))  # (batch, T, S)
        return self.output_projection(attentional), weights

    def call(self, inputs, training=None):
        source, target_in = inputs
        encoder_outputs, source_mask, initial_states = self.encode(source, training)
        logits, _ = self.decode(target_in, encoder_outputs, source_mask, initial_states, training)
        return logits

    def get_attention_weights(self, inputs):
        """`{"cross_attention": (batch, T, S)}` for teacher-forced `(source, target_in)`."""
        source, target_in = inputs
        encoder_outputs, source_mask, initial_states = self.encode(source)
        _, weights = self.decode(target_in, encoder_outputs, source_mask, initial_states)
        return {"cross_attention": weights}

    # --- the decoding interface (`attention_layers.decoding`) ---------------------------

    @property
    def max_source_length(self):
        """The longest source, `[START]`/`[END]` included, the model accepts: the
        constructor's `max_source_length` with `"location"` attention (it scores a fixed
        number of positions), else `None` (any length)."""
        return self._max_source_length if self.attention_kind == "location" else None

    def start_decoding(self, source_ids, max_length):
        """Encodes the source for step-by-step decoding.

        Args:
            source_ids: int `(batch, S)`, padded with 0.
            max_length: the most steps that will follow (the recurrent state needs no
                buffer, so it only keeps the interface of `TransformerTranslator`).

        Returns:
            `(context, state)`: the context, fixed while decoding, is
            `(encoder_outputs (batch, S, units), source_mask (batch, S), initial decoder
            states)`; the state is `initial_step_state` (recurrent states, attentional
            vector, weights, alignment), every tensor with the batch first.
        """
        encoder_outputs, source_mask, initial_states = self.encode(source_ids, training=False)
        state = self.initial_step_state(encoder_outputs, initial_states)
        return (encoder_outputs, source_mask, initial_states), tuple(state)

    def decode_step(self, token_ids, position, context, state):
        """The next token's logits after `token_ids`, one step of the recurrent decoder.

        Arguments and result as `attention_layers.decoding.Translator.decode_step`;
        `position` is not read (the state carries what it needs of it).
        """
        encoder_outputs, source_mask, _ = context
        attentional, weights, state = self._decoder_step(
            self.target_embedding(token_ids), state, encoder_outputs, source_mask, False
        )  # (batch, units), (batch, S)
        return self.output_projection(attentional), tuple(state), weights

    def decode_prefix(self, prefix_ids, context, position=None):
        """The reference for `decode_step`: the whole prefix through the decoder again.

        Arguments and result as `attention_layers.decoding.Translator.decode_prefix`; the
        decoder is recurrent, so the ids after `position` change nothing.
        """
        encoder_outputs, source_mask, initial_states = context
        logits, weights = self.decode(
            prefix_ids, encoder_outputs, source_mask, initial_states, training=False
        )  # (batch, t, V), (batch, t, S)
        return outputs_at(logits, weights, position)

    def get_config(self):
        return {
            **super().get_config(),
            **attribute_config(
                self, "source_vocab_size", "target_vocab_size", "embedding_dim", "units", "cell"
            ),
            "attention": self.attention_kind,  # `self.attention` is the layer
            "input_feeding": self.input_feeding,
            "max_source_length": self._max_source_length,
            "dropout": self.dropout,
        }
