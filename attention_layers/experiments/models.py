"""The sequence models the experiments compare, sized to the same parameter count.

Each model is `tokens -> Embedding -> body -> logits at the last answer_length positions`.
The body takes the embedded sequence `(batch, T, EMBEDDING_DIM)`, so the gradient-flow
experiment can differentiate the loss with respect to each embedded token `x_t`.

- `simple_rnn`, `lstm`, `gru`: one recurrent layer (Elman 1990; Hochreiter and
  Schmidhuber 1997; Cho et al. 2014); the answer is read from the states at the last
  positions.
- `gru_attention`: a GRU whose last states attend over all its states with our
  `AdditiveAttention` (Bahdanau et al. 2015, eq. 6); `[state; context]` is read out,
  as in Luong et al. 2015, eq. 5.
- `transformer`: our `SinusoidalPositionalEncoding` and two pre-norm
  `TransformerEncoderBlock`s (Vaswani et al. 2017, §3.1), read out at the last positions.

`build_matched(kind, parameters, ...)` picks the width that brings a model closest to
`parameters` weights, so the comparison is at equal capacity.
"""

import functools

import keras

from attention_layers.layers import (
    AdditiveAttention,
    SinusoidalPositionalEncoding,
    TransformerEncoderBlock,
)

MODEL_NAMES = ("simple_rnn", "lstm", "gru", "gru_attention", "transformer")
DISPLAY_NAMES = {
    "simple_rnn": "SimpleRNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "gru_attention": "GRU + attention",
    "transformer": "Transformer (self-attention)",
}
EMBEDDING_DIM = 32
TRANSFORMER_LAYERS = 2
TRANSFORMER_HEADS = 2


def _recurrent(kind, width):
    layer = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
             "gru": keras.layers.GRU}[kind]
    return layer(width, return_sequences=True, name=kind)


def _body(kind, width, answer_length, num_classes):
    """`(batch, T, EMBEDDING_DIM) -> (batch, answer_length, num_classes)` logits."""
    features = keras.Input((None, EMBEDDING_DIM), name="embedded_tokens")
    if kind in ("simple_rnn", "lstm", "gru"):
        states = _recurrent(kind, width)(features)  # (batch, T, width)
        readout = states[:, -answer_length:]
    elif kind == "gru_attention":
        states = keras.layers.GRU(width, return_sequences=True, name="gru")(features)
        query = states[:, -answer_length:]  # (batch, answer_length, width)
        context = AdditiveAttention(units=width, name="attention")(query, states)
        readout = keras.layers.Concatenate()([query, context])  # (batch, answer_length, 2w)
    elif kind == "transformer":
        hidden = keras.layers.Dense(width, name="input_projection")(features)
        hidden = SinusoidalPositionalEncoding()(hidden)  # (batch, T, width)
        for index in range(TRANSFORMER_LAYERS):
            hidden = TransformerEncoderBlock(
                num_heads=TRANSFORMER_HEADS, intermediate_dim=2 * width, dropout=0.0,
                normalize_first=True, name=f"encoder_{index}",
            )(hidden)
        hidden = keras.layers.LayerNormalization(name="final_norm")(hidden)
        readout = hidden[:, -answer_length:]
    else:
        raise ValueError(f"Unknown model {kind!r}; choose one of {MODEL_NAMES}.")
    logits = keras.layers.Dense(num_classes, name="logits")(readout)
    return keras.Model(features, logits, name=f"{kind}_body")


def build_model(kind, width, vocabulary_size, answer_length, num_classes):
    """`tokens (batch, T) -> logits (batch, answer_length, num_classes)`.

    The model is `Sequential([Embedding, body])`; `model.layers[-1]` is the body, which
    takes embedded tokens.
    """
    embedding = keras.layers.Embedding(
        vocabulary_size, EMBEDDING_DIM, name="embedding",
        # Unit-scale embeddings, so the positional encoding does not drown the tokens.
        embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0),
    )
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32", name="tokens"),
            embedding,
            _body(kind, width, answer_length, num_classes),
        ],
        name=kind,
    )


@functools.cache
def width_for(kind, parameters, vocabulary_size, answer_length, num_classes):
    """The width (units, or model dimension) whose model has closest to `parameters` weights."""
    step = 2 if kind == "transformer" else 1  # the heads split the model dimension

    @functools.cache
    def count(width):
        return build_model(
            kind, width, vocabulary_size, answer_length, num_classes
        ).count_params()

    low, high = 1, 8  # in units of `step`; the count grows with the width
    while count(high * step) < parameters:
        low, high = high + 1, high * 2
    while low < high:
        middle = (low + high) // 2
        if count(middle * step) < parameters:
            low = middle + 1
        else:
            high = middle
    candidates = [width * step for width in (max(1, low - 1), low)]
    return min(candidates, key=lambda width: abs(count(width) - parameters))


def build_matched(kind, parameters, vocabulary_size, answer_length, num_classes, seed=None):
    """`build_model` at the width that gives about `parameters` weights.

    With `seed`, the weights are drawn after seeding, which happens after the width search:
    that search builds trial models only when its cache misses, so seeding before it would
    make the weights depend on what the process built earlier.
    """
    width = width_for(kind, parameters, vocabulary_size, answer_length, num_classes)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return build_model(kind, width, vocabulary_size, answer_length, num_classes)
