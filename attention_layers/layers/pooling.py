"""Attention pooling: a learned query summarizes a sequence (Yang et al. 2016)."""

import keras
from keras import ops

from attention_layers.layers import mechanism
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_optional_positive_int, check_rank


@keras.saving.register_keras_serializable(package="attention_layers")
class AttentionPooling(BaseAttention):
    """Pools a sequence into one vector (or one per head) with learned context queries.

    Yang et al. 2016, "Hierarchical Attention Networks for Document Classification",
    eq. 5-7: `u_t = tanh(W h_t + b)`, `alpha_t = softmax_t(u_t^T u_w)`,
    `s = sum_t alpha_t h_t`. The weights say which tokens decided the pooled vector, which is
    what a classifier's word-importance view shows.

    With `heads=r`, `r` learned queries share the projection and each takes its own
    weighted average: the `r` attention hops of Lin et al. 2017 ("A Structured
    Self-attentive Sentence Embedding", eq. 5-6: `A = softmax(W_s2 tanh(W_s1 H^T))`,
    `M = A H`). One softmax gives one average, and an average of "not" and "boring" is
    halfway between them; two hops can each take one word whole.

    It is `BaseAttention` with learned queries: the score is
    `_calculate_scores(u_w, inputs) = u_w . tanh(inputs W + b)`.

    1. `keys = tanh(inputs W + b)`: `(batch, T, units)`;
    2. `scores = u_w . keys`: `(batch, 1, T)`, with the learned query `u_w (units,)`, or
       `(batch, heads, T)` with `u_w (heads, units)`;
    3. mask (padding), softmax in float32 over `T`, dropout;
    4. `pooled = weights @ values`: `(batch, d_v)`, or `(batch, heads, d_v)`; `values`
       default to `inputs` (eq. 7).

    Args:
        units: size of the hidden projection and of `u_w`; default the input width.
        heads: `None` for Yang et al.'s single query, or the number `r` of queries (hops);
            the outputs then have a `heads` axis.
        dropout, seed: see `BaseAttention`.

    Call arguments:
        inputs: `(batch, T, d)`, what the scores are computed from.
        values: optional `(batch, T, d_v)`, what is averaged; default `inputs`.
        mask: optional boolean `(batch, T)`; filled from the Keras mask of `inputs` when it
            is the only tensor.
        return_attention_scores: if `True`, also return the weights `(batch, T)`.
        training: whether dropout is active.

    Returns:
        `pooled (batch, d_v)`, or `(pooled, weights (batch, T))`; with `heads`,
        `(batch, heads, d_v)` and `(batch, heads, T)`. A sequence of length 0 (or one that
        is all padding) pools to zeros.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 6, 8).astype("float32")
    >>> pooled, weights = AttentionPooling(units=4)(x, return_attention_scores=True)
    >>> tuple(pooled.shape), tuple(weights.shape)
    ((2, 8), (2, 6))
    >>> pooled, weights = AttentionPooling(units=4, heads=3)(x, return_attention_scores=True)
    >>> tuple(pooled.shape), tuple(weights.shape)
    ((2, 3, 8), (2, 3, 6))
    """

    def __init__(self, units=None, heads=None, **kwargs):
        if kwargs.get("sliding_window") is not None:
            raise ValueError("`sliding_window` does not apply to pooling; use None.")
        super().__init__(**kwargs)
        check_optional_positive_int("units", units)
        check_optional_positive_int("heads", heads)
        self.units = units
        self.heads = heads

    def build(self, inputs_shape, values_shape=None):
        check_rank("inputs", inputs_shape, 3, "(batch, T, dim)")
        units = self.units or inputs_shape[-1]
        self.key_projection = keras.layers.Dense(
            units, activation="tanh", name="W", dtype=self.dtype_policy
        )
        self.key_projection.build(inputs_shape)
        self.context_query = self.add_weight(
            name="u_w", shape=(units,) if self.heads is None else (self.heads, units),
            initializer="glorot_uniform",
        )

    def _calculate_scores(self, query, key):
        return mechanism.dot_product_scores(query, self.key_projection(key))  # (batch, 1, T)

    def call(self, inputs, values=None, mask=None, return_attention_scores=False,
             training=None):
        check_rank("inputs", inputs.shape, 3, "(batch, T, dim)")
        # (batch, heads or 1, units), built from the batch size alone: the length of
        # `inputs` may be unknown (a serving signature) or 0.
        queries = ops.reshape(
            ops.cast(self.context_query, self.compute_dtype), (-1, self.context_query.shape[-1])
        )
        query = ops.broadcast_to(queries, (ops.shape(inputs)[0], *queries.shape))
        pooled, weights = super().call(
            query, inputs if values is None else values, key=inputs, key_mask=mask,
            return_attention_scores=True, training=training,
        )  # (batch, heads or 1, d_v), (batch, heads or 1, T)
        if self.heads is None:
            pooled, weights = pooled[:, 0], weights[:, 0]
        return (pooled, weights) if return_attention_scores else pooled

    def compute_output_shape(self, inputs_shape, values_shape=None):
        heads = () if self.heads is None else (self.heads,)
        return (inputs_shape[0], *heads, (values_shape or inputs_shape)[-1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "heads": self.heads}
