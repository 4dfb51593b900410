"""Scaled dot-product attention (Vaswani et al. 2017, §3.2.1, eq. 1)."""

import keras

from attention_layers.layers import mechanism
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import check_rank, check_size


def scaled_dot_product_attention(
    query,
    key,
    value,
    attention_mask=None,
    query_mask=None,
    key_mask=None,
    use_causal_mask=False,
    sliding_window=None,
    scale=None,
    return_attention_scores=False,
):
    """Scaled dot-product attention as a function: `softmax(Q K^T / sqrt(d_k)) V`.

    Vaswani et al. 2017, "Attention Is All You Need", §3.2.1, eq. 1. No weights of its own.

    1. `scores = scale * query @ key^T`: `(..., T_q, T_k)`, `scale = 1 / sqrt(d_k)`;
    2. mask (padding, `attention_mask`, causal, sliding window);
    3. `weights = softmax(scores)` in float32; fully masked rows give zeros;
    4. `context = weights @ value`: `(..., T_q, d_v)`.

    Args:
        query: `(batch, [heads,] T_q, d_k)`.
        key: `(batch, [heads,] T_k, d_k)`.
        value: `(batch, [heads,] T_k, d_v)`.
        attention_mask: optional boolean `(batch, T_q, T_k)`, `True` where allowed.
        query_mask: optional boolean `(batch, T_q)`.
        key_mask: optional boolean `(batch, T_k)`.
        use_causal_mask: query `i` sees keys `j <= i` only.
        sliding_window: query `i` sees keys with `|i - j| <= sliding_window` only.
        scale: the factor on the logits; default `1 / sqrt(d_k)`.
        return_attention_scores: also return the weights.

    Returns:
        `context`, or `(context, weights)` with weights `(batch, [heads,] T_q, T_k)`.

    Example:

    >>> import numpy as np
    >>> query = np.random.rand(2, 4, 8).astype("float32")
    >>> values = np.random.rand(2, 6, 8).astype("float32")
    >>> context, weights = scaled_dot_product_attention(
    ...     query, values, values, return_attention_scores=True)
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 4, 8), (2, 4, 6))
    """
    query, key, value = (keras.ops.convert_to_tensor(t) for t in (query, key, value))
    if len(query.shape) < 3:
        check_rank("query", query.shape, 3, "(batch, [heads,] T_q, d_k)")
    check_size("key", key.shape, -1, query.shape[-1], "the depth of `query`")
    check_size("key", key.shape, -2, value.shape[-2], "the length of `value`")
    scale = mechanism.default_scale(query.shape[-1]) if scale is None else scale
    context, weights = mechanism.attend(
        query,
        key,
        value,
        lambda q, k: mechanism.dot_product_scores(q, k, scale),
        query_mask=query_mask,
        key_mask=key_mask,
        attention_mask=attention_mask,
        use_causal_mask=use_causal_mask,
        sliding_window=sliding_window,
        return_attention_scores=return_attention_scores,
        fused_scale=scale,
    )
    return (context, weights) if return_attention_scores else context


@keras.saving.register_keras_serializable(package="attention_layers")
class ScaledDotProductAttention(BaseAttention):
    """Scaled dot-product attention layer (Vaswani et al. 2017, §3.2.1, eq. 1).

    Has no weights of its own: `softmax(query key^T / sqrt(d_k)) value`.

    1. `scores = query @ key^T * scale`: `(batch, T_q, T_k)`;
    2. mask, softmax in float32, dropout (see `BaseAttention`);
    3. `context = weights @ value`: `(batch, T_q, d_v)`.

    Args:
        scale: optional float; default `1 / sqrt(d_k)`.
        dropout, sliding_window, seed: see `BaseAttention`.

    Call arguments:
        query, value, key, masks, `return_attention_scores`, `training`,
        `use_causal_mask`: see `BaseAttention`. `query` and `key` need the same depth.

    Returns:
        `context (batch, T_q, d_v)`, or `(context, weights (batch, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> layer = ScaledDotProductAttention()
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> context, weights = layer(x, x, return_attention_scores=True)
    >>> tuple(weights.shape)
    (2, 5, 5)
    """

    def __init__(self, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def _scale(self, depth):
        return mechanism.default_scale(depth) if self.scale is None else self.scale

    def _calculate_scores(self, query, key):
        check_size("key", key.shape, -1, query.shape[-1], "the depth of `query`")
        return mechanism.dot_product_scores(query, key, self._scale(query.shape[-1]))

    def _fused_scale(self, query):
        return self._scale(query.shape[-1])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
