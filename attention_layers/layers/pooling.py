"""Attention pooling: a learned query summarizes a sequence (Yang et al. 2016)."""

import keras
from keras import ops

from attention_layers.layers import mechanism
from attention_layers.layers.base import BaseAttention, check_rank


@keras.saving.register_keras_serializable(package="attention_layers")
class AttentionPooling(BaseAttention):
    """Pools a sequence into one vector with a learned context query.

    Yang et al. 2016, "Hierarchical Attention Networks for Document Classification",
    eq. 5-7: `u_t = tanh(W h_t + b)`, `alpha_t = softmax_t(u_t^T u_w)`,
    `s = sum_t alpha_t h_t`. The weights say which tokens decided the pooled vector, which is
    what a classifier's word-importance view shows.

    1. `keys = tanh(inputs W + b)`: `(batch, T, units)`;
    2. `scores = keys @ u_w`: `(batch, 1, T)`, with the learned query `u_w (units,)`;
    3. mask (padding), softmax in float32, dropout;
    4. `pooled = weights @ inputs`: `(batch, d)`.

    Args:
        units: size of the hidden projection and of `u_w`; default the input width.
        dropout, seed: see `BaseAttention`.

    Call arguments:
        inputs: `(batch, T, d)`.
        mask: optional boolean `(batch, T)`; filled from the Keras mask of `inputs`.
        return_attention_scores: if `True`, also return the weights `(batch, T)`.
        training: whether dropout is active.

    Returns:
        `pooled (batch, d)`, or `(pooled, weights (batch, T))`.

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
        if units is not None and (isinstance(units, bool) or not isinstance(units, int) or units < 1):
            raise ValueError(f"`units` must be None or a positive int; received {units!r}.")
        self.units = units

    def build(self, input_shape):
        check_rank("inputs", input_shape, 3, "(batch, T, dim)")
        units = self.units or input_shape[-1]
        self.key_projection = keras.layers.Dense(
            units, activation="tanh", name="W", dtype=self.dtype_policy
        )
        self.key_projection.build(input_shape)
        self.context_query = self.add_weight(
            name="u_w", shape=(units,), initializer="glorot_uniform"
        )

    def call(self, inputs, mask=None, return_attention_scores=False, training=None):
        check_rank("inputs", inputs.shape, 3, "(batch, T, dim)")
        keys = self.key_projection(inputs)  # (batch, T, units)
        query = ops.ones_like(keys[:, :1, :1]) * ops.cast(self.context_query, keys.dtype)
        pooled, weights = self._attention(
            query, inputs, keys, value_mask=mask, return_attention_scores=True,
            training=training,
            score_fn=mechanism.dot_product_scores,
        )  # (batch, 1, d), (batch, 1, T)
        pooled, weights = ops.squeeze(pooled, 1), ops.squeeze(weights, 1)
        return (pooled, weights) if return_attention_scores else pooled

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units}
