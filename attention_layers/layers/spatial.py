"""Spatial attention over an image's grid of regions (Xu et al. 2015, "Show, Attend and Tell")."""

import keras
from keras import ops

from attention_layers.layers.additive import AdditiveAttention
from attention_layers.utils.checks import check_non_negative_float, check_rank


@keras.saving.register_keras_serializable(package="attention_layers")
class SpatialAttention(AdditiveAttention):
    """Soft attention of a query over the `H x W` regions of a feature map.

    Xu et al. 2015, "Show, Attend and Tell", §4.2 (soft attention): the annotation vectors
    `a_i` are the `H * W` region features of a CNN; `e_ti = f_att(a_i, h_{t-1})` (eq. 4, an
    additive MLP), `alpha_ti = softmax_i(e_ti)` (eq. 5), `z_t = sum_i alpha_ti a_i` (eq. 13).
    With `penalty_weight > 0` the layer adds the doubly stochastic penalty of eq. 14,
    `lambda * sum_i (1 - sum_t alpha_ti)^2`, which pushes every region to receive attention
    over the `T_q` steps.

    1. flatten `value (batch, H, W, C)` to `(batch, H * W, C)` regions;
    2. additive scores as `AdditiveAttention`: `(batch, T_q, H * W)`;
    3. mask (optional `value_mask (batch, H, W)`), softmax in float32, dropout;
    4. `context = weights @ regions`: `(batch, T_q, C)`; weights reshaped to
       `(batch, T_q, H, W)`.

    Args:
        units: hidden size of the additive score.
        penalty_weight: `lambda` of the doubly stochastic penalty (0 disables it).
        dropout, seed: see `BaseAttention`.

    Call arguments:
        query: `(batch, d_q)` (one step) or `(batch, T_q, d_q)`.
        value: `(batch, H, W, C)` feature map.
        key: optional `(batch, H, W, C_k)`; defaults to `value`.
        value_mask: optional boolean `(batch, H, W)`; `False` regions get no attention.
        query_mask: optional boolean `(batch, T_q)`.
        return_attention_scores, training: see `BaseAttention`.

    Returns:
        `context (batch, [T_q,] C)`, or `(context, weights (batch, [T_q,] H, W))`; the
        `T_q` axis is present when the query has it.

    Example:

    >>> import numpy as np
    >>> features = np.random.rand(2, 7, 7, 32).astype("float32")
    >>> state = np.random.rand(2, 16).astype("float32")
    >>> context, weights = SpatialAttention(units=8)(
    ...     state, features, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 32), (2, 7, 7))
    """

    def __init__(self, units, penalty_weight=0.0, **kwargs):
        if kwargs.get("sliding_window") is not None:
            raise ValueError("`sliding_window` is not defined over image regions; use None.")
        super().__init__(units, **kwargs)
        check_non_negative_float("penalty_weight", penalty_weight)
        self.penalty_weight = float(penalty_weight)

    def build(self, query_shape, value_shape, key_shape=None):
        self._check_spatial_shapes(query_shape, value_shape, key_shape)
        flat = lambda shape: (shape[0], None, shape[-1])  # noqa: E731
        super().build(
            (query_shape[0], None, query_shape[-1]),
            flat(value_shape),
            None if key_shape is None else flat(key_shape),
        )

    def call(
        self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
        return_attention_scores=False, training=None, use_causal_mask=False, **kwargs,
    ):
        # BaseAttention's arguments, named because Keras fills only named masks.
        if use_causal_mask:
            raise ValueError("`use_causal_mask` has no meaning over image regions.")
        self._check_spatial_shapes(query.shape, value.shape, None if key is None else key.shape)
        height, width = value.shape[1], value.shape[2]
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)  # (batch, 1, d_q)

        batch = ops.shape(value)[0]  # not -1 in the reshapes: a batch may be empty

        def regions(tensor):
            return None if tensor is None else ops.reshape(tensor, (batch, height * width, tensor.shape[-1]))

        def region_mask(mask):
            return None if mask is None else ops.reshape(mask, (batch, height * width))

        context, weights = super().call(
            query, regions(value), regions(key), query_mask=query_mask,
            value_mask=region_mask(value_mask), key_mask=region_mask(key_mask),
            return_attention_scores=True, training=training, **kwargs,
        )  # (batch, T_q, C), (batch, T_q, H * W)
        if self.penalty_weight > 0:
            coverage = ops.sum(ops.cast(weights, "float32"), axis=1)  # (batch, H * W)
            penalty = ops.mean(ops.sum(ops.square(1.0 - coverage), axis=-1))
            self.add_loss(self.penalty_weight * penalty)
        weights = ops.reshape(weights, (batch, ops.shape(weights)[1], height, width))
        if single_step:
            context, weights = ops.squeeze(context, 1), ops.squeeze(weights, 1)
        if return_attention_scores:
            return context, weights
        return context

    def _check_spatial_shapes(self, query_shape, value_shape, key_shape):
        if len(query_shape) not in (2, 3):
            raise ValueError(
                "`query` must be 2-D (batch, dim) or 3-D (batch, T_q, dim); received a "
                f"tensor of shape {tuple(query_shape)}."
            )
        check_rank("value", value_shape, 4, "(batch, H, W, channels)")
        if key_shape is not None:
            check_rank("key", key_shape, 4, "(batch, H, W, channels)")

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return (*query_shape[:-1], value_shape[-1])

    def compute_mask(self, query, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "penalty_weight": self.penalty_weight}
