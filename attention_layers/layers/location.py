"""Location-based attention (Luong et al. 2015) and location-sensitive attention
(Chorowski et al. 2015)."""

import keras
from keras import ops

from attention_layers.layers.additive import additive_scores
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_positive_int
from attention_layers.utils.configs import attribute_config


@keras.saving.register_keras_serializable(package="attention_layers")
class LocationAttention(BaseAttention):
    """Location-based attention: the weights come from the query alone.

    Luong, Pham and Manning 2015, §3.1, eq. 9 ("location"): `a_t = softmax(W_a h_t)`. The
    decoder state predicts a distribution over source *positions* without looking at the
    source content; it then reads the values at those positions.

    1. `scores = query W_a`: `(batch, T_q, max_length)`, cut to the `T_k` source positions;
    2. mask (e.g. to the real source length), softmax in float32, dropout;
    3. `context = weights @ value`: `(batch, T_q, d_v)`.

    Args:
        max_length: the longest source this layer can attend over (`W_a` has this many
            outputs); a longer `value` is an error.
        dropout, sliding_window, seed: see `BaseAttention`.

    Call arguments:
        See `BaseAttention`; `key` is accepted for uniformity but not used by the score.

    Returns:
        `context (batch, T_q, d_v)`, or `(context, weights (batch, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> states = np.random.rand(2, 3, 16).astype("float32")
    >>> source = np.random.rand(2, 10, 8).astype("float32")
    >>> context, weights = LocationAttention(max_length=12)(
    ...     states, source, return_attention_scores=True)
    >>> tuple(weights.shape)
    (2, 3, 10)
    """

    _pairwise_score = False

    def __init__(self, max_length, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("max_length", max_length)
        self.max_length = max_length
        self.location_projection = keras.layers.Dense(
            max_length, name="W_a", dtype=self.dtype_policy
        )

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self._check_length(value_shape[1])
        self.location_projection.build(query_shape)

    def _check_length(self, length):
        if length is not None and length > self.max_length:
            raise ValueError(
                f"`value` has {length} positions, more than `max_length`={self.max_length} "
                "this LocationAttention was built for."
            )

    def _calculate_scores(self, query, key):
        self._check_length(key.shape[-2])
        scores = self.location_projection(query)  # (batch, T_q, max_length)
        return scores[..., : ops.shape(key)[-2]]  # (batch, T_q, T_k)

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length}


@keras.saving.register_keras_serializable(package="attention_layers")
class LocationSensitiveAttention(BaseAttention):
    """Location-sensitive attention: additive score plus features of the last alignment.

    Chorowski et al. 2015, "Attention-Based Models for Speech Recognition", eq. 8-9:
    `f_i = F * alpha_{i-1}` (a convolution of the previous alignment) and
    `e_ij = w^T tanh(W s_{i-1} + V h_j + U f_ij + b)`. Knowing where it looked last, the
    model can move forward monotonically and tell apart repeated source tokens. With
    `cumulative=True` the previous alignment is the running sum of all earlier ones
    (as in Tacotron 2).

    1. `features = conv1d(previous_alignment)`: `(batch, T_q, T_k, filters)`, projected by
       `U` to `(batch, T_q, T_k, units)`;
    2. `scores = w^T tanh(query W + key V + b + features U)`: `(batch, T_q, T_k)`;
    3. mask, softmax in float32, dropout (see `BaseAttention`);
    4. `context = weights @ value`: `(batch, T_q, d_v)`.

    A decoder runs it one step at a time, carrying the alignment:

        alignment = None  # zeros: nothing attended yet
        for step in range(steps):
            context, weights = layer(state, encoder_outputs,
                                     previous_alignment=alignment,
                                     return_attention_scores=True)
            alignment = layer.next_alignment(alignment, weights)

    Args:
        units: hidden size of the score.
        filters: number of convolution filters over the previous alignment.
        kernel_size: width of that convolution (odd, so it is centred).
        cumulative: whether the alignment carried between steps is cumulative.
        dropout, sliding_window, seed: see `BaseAttention`.

    Call arguments:
        previous_alignment: optional `(batch, T_k)` or `(batch, T_q, T_k)`; zeros if `None`.
        Others: see `BaseAttention`.

    Returns:
        `context (batch, T_q, d_v)`, or `(context, weights (batch, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> layer = LocationSensitiveAttention(units=16, filters=4, kernel_size=5)
    >>> state = np.random.rand(2, 1, 8).astype("float32")
    >>> memory = np.random.rand(2, 9, 12).astype("float32")
    >>> context, weights = layer(state, memory, return_attention_scores=True)
    >>> alignment = layer.next_alignment(None, weights[:, 0])
    >>> context, weights = layer(state, memory, previous_alignment=alignment,
    ...                          return_attention_scores=True)
    >>> tuple(weights.shape)
    (2, 1, 9)
    """

    def __init__(self, units, filters=32, kernel_size=31, cumulative=False, **kwargs):
        super().__init__(**kwargs)
        for name, size in (("units", units), ("filters", filters), ("kernel_size", kernel_size)):
            check_positive_int(name, size)
        self.units = units
        self.filters = filters
        self.kernel_size = kernel_size
        self.cumulative = cumulative
        policy = self.dtype_policy
        self.query_projection = keras.layers.Dense(
            units, use_bias=False, name="W", dtype=policy
        )
        self.key_projection = keras.layers.Dense(units, use_bias=True, name="V", dtype=policy)
        self.location_convolution = keras.layers.Conv1D(
            filters, kernel_size, padding="same", use_bias=False, name="F", dtype=policy
        )
        self.location_projection = keras.layers.Dense(
            units, use_bias=False, name="U", dtype=policy
        )
        self.score_vector = keras.layers.Dense(1, use_bias=False, name="w", dtype=policy)

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self.query_projection.build(query_shape)
        self.key_projection.build(value_shape if key_shape is None else key_shape)
        self.location_convolution.build((None, None, 1))
        self.location_projection.build((None, self.filters))
        self.score_vector.build((None, self.units))

    def _calculate_scores(self, query, key, previous_alignment=None):
        # No alignment means zeros, whose features are zeros (F and U have no bias): the
        # score is then additive, and pairwise.
        features = None
        if previous_alignment is not None:
            features = self._location_features(previous_alignment)  # (batch, T_q, T_k, units)
        return additive_scores(
            self.query_projection(query), self.key_projection(key), self.score_vector, features
        )  # (batch, T_q, T_k)

    def _location_features(self, alignment):
        """`U (F * alpha_{i-1})`: `(batch, T_q, T_k) -> (batch, T_q, T_k, units)`."""
        batch, query_length, key_length = (ops.shape(alignment)[axis] for axis in range(3))
        # Convolve each query's previous alignment over the source positions. An empty
        # batch or length makes TensorFlow's convolution return its input unchanged, so one
        # row and one position of zeros are added, and cut off again. The zero position
        # changes nothing: "same" padding reads zeros beyond the end anyway.
        flat = ops.reshape(alignment, (batch * query_length, key_length, 1))
        flat = ops.pad(flat, [(0, 1), (0, 1), (0, 0)])
        features = self.location_projection(self.location_convolution(flat))
        features = features[:-1, :-1]  # (batch * T_q, T_k, units)
        return ops.reshape(features, (batch, query_length, key_length, self.units))

    def next_alignment(self, previous_alignment, weights):
        """The alignment to feed to the next step: `weights`, or the running sum."""
        if self.cumulative and previous_alignment is not None:
            return previous_alignment + weights
        return weights

    def get_config(self):
        return {
            **super().get_config(),
            **attribute_config(self, "units", "filters", "kernel_size", "cumulative"),
        }
