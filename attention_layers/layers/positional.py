"""Positional encodings: fixed sinusoids (Vaswani et al. 2017, §3.5) and learned embeddings."""

import keras
from keras import ops

from attention_layers.utils.checks import check_positive_int


def sinusoidal_encoding(positions, depth, max_wavelength=10000.0):
    """The encoding of the given positions: `(T,)` -> `(T, depth)` float32 (§3.5)."""
    positions = ops.expand_dims(ops.cast(positions, "float32"), 1)  # (T, 1)
    dims = ops.arange(depth)
    pair_index = ops.cast(dims // 2 * 2, "float32")  # 2i for both members of a pair
    angles = positions / ops.power(max_wavelength, pair_index / depth)  # (T, d)
    return ops.where(dims % 2 == 0, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="attention_layers")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Adds the fixed sinusoidal position encoding to a sequence.

    Vaswani et al. 2017, §3.5: `PE(pos, 2i) = sin(pos / 10000^(2i / d))`,
    `PE(pos, 2i + 1) = cos(pos / 10000^(2i / d))`. Self-attention is permutation-equivariant;
    adding these makes it see order. Any length works (nothing is learned).

    1. `encoding`: `(T, d)` from the formula above;
    2. `output = inputs + encoding`: `(batch, T, d)`.

    Args:
        max_wavelength: the `10000` of the formula.

    Call arguments:
        inputs: `(batch, T, d)`. A Keras mask passes through.

    Returns:
        `(batch, T, d)`.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((1, 4, 6), "float32")
    >>> out = SinusoidalPositionalEncoding()(x)
    >>> float(out[0, 0, 1])  # cos(0)
    1.0
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 1:
            raise ValueError(f"`max_wavelength` must be > 1; received {max_wavelength!r}.")
        self.max_wavelength = float(max_wavelength)
        self.supports_masking = True

    def call(self, inputs):
        if len(inputs.shape) != 3:
            raise ValueError(
                "`inputs` must be 3-D (batch, T, dim); received a tensor of shape "
                f"{tuple(inputs.shape)}."
            )
        positions = ops.arange(ops.shape(inputs)[1])
        encoding = sinusoidal_encoding(positions, inputs.shape[-1], self.max_wavelength)
        return inputs + ops.cast(encoding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


@keras.saving.register_keras_serializable(package="attention_layers")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned embedding of each position (as in BERT and GPT) to a sequence.

    1. `embedding[:T]`: `(T, d)`, one learned vector per position;
    2. `output = inputs + embedding[:T]`: `(batch, T, d)`.

    Args:
        max_length: the number of positions that have an embedding; longer inputs are an
            error (truncate the text first).
        initializer: for the embedding table.

    Call arguments:
        inputs: `(batch, T, d)` with `T <= max_length`. A Keras mask passes through.

    Returns:
        `(batch, T, d)`.

    Example:

    >>> import numpy as np
    >>> layer = PositionEmbedding(max_length=16)
    >>> tuple(layer(np.zeros((2, 5, 8), "float32")).shape)
    (2, 5, 8)
    """

    def __init__(self, max_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check_positive_int("max_length", max_length)
        self.max_length = max_length
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs):
        if len(inputs.shape) != 3:
            raise ValueError(
                "`inputs` must be 3-D (batch, T, dim); received a tensor of shape "
                f"{tuple(inputs.shape)}."
            )
        length = inputs.shape[1]
        if length is not None and length > self.max_length:
            raise ValueError(
                f"`inputs` has {length} positions (shape {tuple(inputs.shape)}), more than "
                f"`max_length`={self.max_length}; truncate the sequence."
            )
        positions = self.embeddings[: ops.shape(inputs)[1]]
        return inputs + ops.cast(positions, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_length": self.max_length,
            "initializer": keras.initializers.serialize(self.initializer),
        }
