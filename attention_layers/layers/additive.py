"""Additive attention with learned projections (Bahdanau, Cho and Bengio 2015)."""

import keras
from keras import ops

from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_positive_int


def additive_scores(projected_query, projected_key, score_vector, pair_features=None):
    """`v^T tanh(q' + k' [+ f])` for every query-key pair: `(..., T_q, T_k)`.

    Args:
        projected_query: `(..., T_q, units)`, the query after `W_q`.
        projected_key: `(..., T_k, units)`, the key after `W_k`.
        score_vector: a `Dense(1)` layer, the `v` of the papers.
        pair_features: optional `(..., T_q, T_k, units)` added inside the tanh, e.g. the
            location features of Chorowski et al. 2015, eq. 9.
    """
    hidden = (
        ops.expand_dims(projected_query, -2) + ops.expand_dims(projected_key, -3)
    )  # (..., T_q, T_k, units)
    if pair_features is not None:
        hidden = hidden + pair_features
    return ops.squeeze(score_vector(ops.tanh(hidden)), -1)  # (..., T_q, T_k)


@keras.saving.register_keras_serializable(package="attention_layers")
class AdditiveAttention(BaseAttention):
    """Additive (Bahdanau) attention with learned `W_q`, `W_k` and `v`.

    Bahdanau et al. 2015, "Neural Machine Translation by Jointly Learning to Align and
    Translate", eq. 6 and appendix A.1.2: `e_ij = v^T tanh(W s_{i-1} + U h_j)`,
    `alpha_ij = softmax_j(e_ij)`, `c_i = sum_j alpha_ij h_j`. Keras' own
    `AdditiveAttention` has no learned projections; this layer has them.

    1. `query' = query W_q`: `(batch, T_q, units)`; `key' = key W_k + b`: `(batch, T_k, units)`;
    2. `scores = v^T tanh(query'_i + key'_j)`: `(batch, T_q, T_k)`;
    3. mask, softmax in float32, dropout (see `BaseAttention`);
    4. `context = weights @ value`: `(batch, T_q, d_v)`.

    Args:
        units: size of the hidden layer of the score (the papers' alignment model).
        dropout, sliding_window, seed: see `BaseAttention`.

    Call arguments:
        See `BaseAttention`.

    Returns:
        `context (batch, T_q, d_v)`, or `(context, weights (batch, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> decoder_state = np.random.rand(2, 1, 32).astype("float32")
    >>> annotations = np.random.rand(2, 7, 64).astype("float32")
    >>> context, weights = AdditiveAttention(units=16)(
    ...     decoder_state, annotations, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 1, 64), (2, 1, 7))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("units", units)
        self.units = units
        self.query_projection = keras.layers.Dense(
            units, use_bias=False, name="query_projection", dtype=self.dtype_policy
        )
        self.key_projection = keras.layers.Dense(
            units, use_bias=True, name="key_projection", dtype=self.dtype_policy
        )
        self.score_vector = keras.layers.Dense(
            1, use_bias=False, name="score_vector", dtype=self.dtype_policy
        )

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self.query_projection.build(query_shape)
        self.key_projection.build(value_shape if key_shape is None else key_shape)
        self.score_vector.build((None, self.units))

    def _calculate_scores(self, query, key):
        return additive_scores(
            self.query_projection(query), self.key_projection(key), self.score_vector
        )

    def get_config(self):
        return {**super().get_config(), "units": self.units}
