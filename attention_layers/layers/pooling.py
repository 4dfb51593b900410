"""Attention pooling: a learned query summarizes a sequence (Yang et al. 2016)."""

import keras
from keras import ops

from attention_layers.layers import mechanism
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_optional_positive_int, check_rank


@keras.saving.register_keras_serializable(package="attention_layers")
class AttentionPooling(BaseAttention):
    """Pools a sequence into one vector with a learned context query.

    Yang et al. 2016, "Hierarchical Attention Networks for Document Classification",
    eq. 5-7: `u_t = tanh(W h_t + b)`, `alpha_t = softmax_t(u_t^T u_w)`,
    `s = sum_t alpha_t h_t`. The weights say which tokens decided the pooled vector, which is
    what a classifier's word-importance view shows.

    It is `BaseAttention` with one learned query: the score is
    `_calculate_scores(u_w, inputs) = u_w . tanh(inputs W + b)`.

    1. `keys = tanh(inputs W + b)`: `(batch, T, units)`;
    2. `scores = u_w . keys`: `(batch, 1, T)`, with the learned query `u_w (units,)`;
    3. mask (padding), softmax in float32, dropout;
    4. `pooled = weights @ values`: `(batch, d_v)`; `values` default to `inputs` (eq. 7).

    Args:
        units: size of the hidden projection and of `u_w`; default the input width.
        dropout, seed: see `BaseAttention`.

    Call arguments:
        inputs: `(batch, T, d)`, what the scores are computed from.
        values: optional `(batch, T, d_v)`, what is averaged; default `inputs`.
        mask: optional boolean `(batch, T)`; filled from the Keras mask of `inputs` when it
            is the only tensor.
        return_attention_scores: if `True`, also return the weights `(batch, T)`.
        training: whether dropout is active.

    Returns:
        `pooled (batch, d_v)`, or `(pooled, weights (batch, T))`. A sequence of length 0
        (or one that is all padding) pools to zeros.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 6, 8).astype("float32")
    >>> pooled, weights = AttentionPooling(units=4)(x, return_attention_scores=True)
    >>> tuple(pooled.shape), tuple(weights.shape)
    ((2, 8), (2, 6))
    """

    def __init__(self, units=None, **kwargs):
        if kwargs.get("sliding_window") is not None:
            raise ValueError("`sliding_window` does not apply to pooling; use None.")
        super().__init__(**kwargs)
        check_optional_positive_int("units", units)
        self.units = units

    def build(self, inputs_shape, values_shape=None):
        check_rank("inputs", inputs_shape, 3, "(batch, T, dim)")
        units = self.units or inputs_shape[-1]
        self.key_projection = keras.layers.Dense(
            units, activation="tanh", name="W", dtype=self.dtype_policy
        )
        self.key_projection.build(inputs_shape)
        self.context_query = self.add_weight(
            name="u_w", shape=(units,), initializer="glorot_uniform"
        )

    def _calculate_scores(self, query, key):
        return mechanism.dot_product_scores(query, self.key_projection(key))  # (batch, 1, T)

    def call(self, inputs, values=None, mask=None, return_attention_scores=False,
             training=None):
        check_rank("inputs", inputs.shape, 3, "(batch, T, dim)")
        # (batch, 1, units), built from the batch size alone: the length of `inputs` may be
        # unknown (a serving signature) or 0.
        query = ops.broadcast_to(
            ops.cast(self.context_query, self.compute_dtype),
            (ops.shape(inputs)[0], 1, self.context_query.shape[0]),
        )
        pooled, weights = super().call(
            query, inputs if values is None else values, key=inputs, key_mask=mask,
            return_attention_scores=True, training=training,
        )  # (batch, 1, d_v), (batch, 1, T)
        pooled, weights = pooled[:, 0], weights[:, 0]
        return (pooled, weights) if return_attention_scores else pooled

    def compute_output_shape(self, inputs_shape, values_shape=None):
        return (inputs_shape[0], (values_shape or inputs_shape)[-1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units}
