"""Luong's global attention scores: dot, general and concat (Luong et al. 2015, §3.1)."""

import keras

from attention_layers.layers import mechanism
from attention_layers.layers.additive import additive_scores
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_one_of, check_positive_int, check_size

SCORES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="attention_layers")
class LuongAttention(BaseAttention):
    """Luong global attention with the `dot`, `general` or `concat` score.

    Luong, Pham and Manning 2015, "Effective Approaches to Attention-based Neural Machine
    Translation", §3.1, eq. 8, for a decoder state `h_t` and source states `h_s`:

    - `dot`: `score = h_t^T h_s` (query and key of equal depth);
    - `general`: `score = h_t^T W_a h_s` (a learned `W_a`; any depths);
    - `concat`: `score = v_a^T tanh(W_a [h_t; h_s])`, computed as
      `v_a^T tanh(W_1 h_t + W_2 h_s)` (the same map, with `W_a = [W_1 W_2]`).

    1. (general) `key' = key W_a^T`: `(batch, T_k, d_q)`; (concat) project both to `units`;
    2. `scores`: `(batch, T_q, T_k)`;
    3. mask, softmax in float32, dropout (see `BaseAttention`);
    4. `context = weights @ value`: `(batch, T_q, d_v)`.

    Args:
        score: `"dot"`, `"general"` or `"concat"`.
        units: hidden size of the `concat` score (required for it, unused otherwise).
        dropout, sliding_window, seed: see `BaseAttention`.

    Call arguments:
        See `BaseAttention`.

    Returns:
        `context (batch, T_q, d_v)`, or `(context, weights (batch, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> decoder_states = np.random.rand(2, 3, 32).astype("float32")
    >>> encoder_states = np.random.rand(2, 7, 64).astype("float32")
    >>> context, weights = LuongAttention(score="general")(
    ...     decoder_states, encoder_states, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3, 64), (2, 3, 7))
    """

    def __init__(self, score="general", units=None, **kwargs):
        super().__init__(**kwargs)
        check_one_of("score", score, SCORES)
        if score == "concat":
            check_positive_int("units", units)
        self.score = score
        self.units = units

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        key_shape = value_shape if key_shape is None else key_shape
        if self.score == "general":
            self.key_projection = keras.layers.Dense(
                query_shape[-1], use_bias=False, name="W_a", dtype=self.dtype_policy
            )
            self.key_projection.build(key_shape)
        elif self.score == "concat":
            self.query_projection = keras.layers.Dense(
                self.units, use_bias=False, name="W_a_query", dtype=self.dtype_policy
            )
            self.query_projection.build(query_shape)
            self.key_projection = keras.layers.Dense(
                self.units, use_bias=False, name="W_a_key", dtype=self.dtype_policy
            )
            self.key_projection.build(key_shape)
            self.score_vector = keras.layers.Dense(
                1, use_bias=False, name="v_a", dtype=self.dtype_policy
            )
            self.score_vector.build((None, self.units))

    def _calculate_scores(self, query, key):
        if self.score == "general":
            return mechanism.dot_product_scores(query, self.key_projection(key))
        if self.score == "concat":
            return additive_scores(
                self.query_projection(query), self.key_projection(key), self.score_vector
            )
        check_size("key", key.shape, -1, query.shape[-1], "the depth of `query` for 'dot'")
        return mechanism.dot_product_scores(query, key)

    def get_config(self):
        return {**super().get_config(), "score": self.score, "units": self.units}
