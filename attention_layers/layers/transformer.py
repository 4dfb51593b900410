"""Transformer encoder and decoder blocks (Vaswani et al. 2017, §3.1) from our layers."""

import keras
from keras import ops

from attention_layers.layers.multi_head import MultiHeadAttention
from attention_layers.utils.checks import (
    check_optional_positive_int,
    check_positive_ints,
    check_rate,
)


class _TransformerBlock(keras.layers.Layer):
    """Shared parts: sizes, the feed-forward network and the residual sub-layer wiring."""

    def __init__(
        self,
        num_heads,
        feed_forward_dim,
        key_dim=None,
        dropout=0.1,
        activation="relu",
        norm_first=False,
        epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_ints(num_heads=num_heads, feed_forward_dim=feed_forward_dim)
        check_optional_positive_int("key_dim", key_dim)
        check_rate("dropout", dropout)
        self.num_heads = num_heads
        self.feed_forward_dim = feed_forward_dim
        self.key_dim = key_dim
        self.dropout = dropout
        self.activation = activation
        self.norm_first = norm_first
        self.epsilon = epsilon
        self.supports_masking = True

    def _make_attention(self, name, model_dim, **kwargs):
        key_dim = self.key_dim or max(1, model_dim // self.num_heads)
        return MultiHeadAttention(
            self.num_heads, key_dim, dropout=self.dropout, name=name,
            dtype=self.dtype_policy, **kwargs,
        )

    def _build_feed_forward(self, model_dim):
        policy = self.dtype_policy
        self.feed_forward = keras.Sequential(
            [
                keras.layers.Dense(
                    self.feed_forward_dim, activation=self.activation, dtype=policy
                ),
                keras.layers.Dense(model_dim, dtype=policy),
            ],
            name="feed_forward",
        )
        self.feed_forward.build((None, None, model_dim))

    def _norm(self, name, model_dim):
        norm = keras.layers.LayerNormalization(
            epsilon=self.epsilon, name=name, dtype=self.dtype_policy
        )
        norm.build((None, None, model_dim))
        return norm

    def _residual(self, inputs, norm, sublayer, training):
        """`x + dropout(f(norm(x)))` (pre-norm) or `norm(x + dropout(f(x)))` (post-norm).

        `sublayer` returns `(output, extra)`; `extra` (attention weights) is passed on.
        """
        if self.norm_first:
            output, extra = sublayer(norm(inputs))
            return inputs + self._dropout_layer(output, training=training), extra
        output, extra = sublayer(inputs)
        return norm(inputs + self._dropout_layer(output, training=training)), extra

    def build_common(self, model_dim):
        self._dropout_layer = keras.layers.Dropout(self.dropout)
        self._build_feed_forward(model_dim)
        self.feed_forward_norm = self._norm("feed_forward_norm", model_dim)

    def _feed_forward(self, inputs, training):
        return self._residual(
            inputs, self.feed_forward_norm,
            lambda x: (self.feed_forward(x, training=training), None), training,
        )[0]

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return input_shape

    def compute_output_spec(self, *args, **kwargs):
        return keras.Operation.compute_output_spec(self, *args, **kwargs)

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "feed_forward_dim": self.feed_forward_dim,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "epsilon": self.epsilon,
        }


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerEncoderBlock(_TransformerBlock):
    """A Transformer encoder layer: self-attention, then a feed-forward network.

    Vaswani et al. 2017, §3.1 and Figure 1 (left): each sub-layer is wrapped as
    `LayerNorm(x + Dropout(Sublayer(x)))` (post-norm, the paper), or
    `x + Dropout(Sublayer(LayerNorm(x)))` with `norm_first=True` (pre-norm, Xiong et al.
    2020, which trains more stably without warm-up).

    1. `x = x + self_attention(x, x)`: `(batch, T, d)`, weights `(batch, heads, T, T)`;
    2. `x = x + feed_forward(x)`: `Dense(feed_forward_dim) -> Dense(d)`.

    Args:
        num_heads: attention heads.
        feed_forward_dim: hidden size of the feed-forward network.
        key_dim: size of each head; default `d // num_heads`.
        dropout: rate for the attention weights and the residual branches.
        activation: of the feed-forward hidden layer.
        norm_first: pre-norm instead of the paper's post-norm.
        sliding_window: optional local self-attention window.
        epsilon: of the layer normalizations.

    Call arguments:
        inputs: `(batch, T, d)`.
        mask: optional boolean `(batch, T)` padding mask; filled from a Keras mask.
        attention_mask: optional boolean `(batch, T, T)`.
        use_causal_mask: for a decoder-only stack.
        return_attention_scores: also return the self-attention weights.
        training: whether dropout is active.

    Returns:
        `(batch, T, d)`, or `(outputs, weights (batch, heads, T, T))`.

    Example:

    >>> import numpy as np
    >>> block = TransformerEncoderBlock(num_heads=2, feed_forward_dim=32)
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> y, weights = block(x, return_attention_scores=True)
    >>> tuple(y.shape), tuple(weights.shape)
    ((2, 5, 16), (2, 2, 5, 5))
    """

    def __init__(self, num_heads, feed_forward_dim, sliding_window=None, **kwargs):
        super().__init__(num_heads, feed_forward_dim, **kwargs)
        self.sliding_window = sliding_window

    def build(self, input_shape):
        model_dim = input_shape[-1]
        self.self_attention = self._make_attention(
            "self_attention", model_dim, sliding_window=self.sliding_window
        )
        self.self_attention.build(input_shape, input_shape)
        self.self_attention_norm = self._norm("self_attention_norm", model_dim)
        self.build_common(model_dim)

    def call(
        self,
        inputs,
        mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
    ):
        def attend(x):
            return self.self_attention(
                x, x, query_mask=mask, value_mask=mask, attention_mask=attention_mask,
                use_causal_mask=use_causal_mask, return_attention_scores=True,
                training=training,
            )

        x, weights = self._residual(inputs, self.self_attention_norm, attend, training)
        x = self._feed_forward(x, training)
        return (x, weights) if return_attention_scores else x

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "sliding_window": self.sliding_window}


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerDecoderBlock(_TransformerBlock):
    """A Transformer decoder layer: causal self-attention, cross-attention, feed-forward.

    Vaswani et al. 2017, §3.1 and Figure 1 (right). Each sub-layer is residual, post-norm
    (the paper) or pre-norm (`norm_first=True`), as `TransformerEncoderBlock`.

    1. `x = x + self_attention(x, x, causal)`: weights `(batch, heads, T, T)`;
    2. `x = x + cross_attention(x, context)`: weights `(batch, heads, T, S)`;
    3. `x = x + feed_forward(x)`.

    Args:
        As `TransformerEncoderBlock` (without `sliding_window`).

    Call arguments:
        inputs: `(batch, T, d)`, the target sequence so far.
        context: `(batch, S, d_c)`, the encoder output.
        inputs_mask: optional boolean `(batch, T)`; filled from a Keras mask.
        context_mask: optional boolean `(batch, S)`; filled from a Keras mask.
        use_causal_mask: default `True` (teacher forcing); `False` when `inputs` is one
            new position attending to cached keys.
        return_attention_scores: also return
            `{"self_attention": (batch, heads, T, T), "cross_attention": (batch, heads, T, S)}`.
        training: whether dropout is active.

    Returns:
        `(batch, T, d)`, or `(outputs, weights_dict)`.

    Example:

    >>> import numpy as np
    >>> block = TransformerDecoderBlock(num_heads=2, feed_forward_dim=32)
    >>> target = np.random.rand(2, 4, 16).astype("float32")
    >>> source = np.random.rand(2, 6, 16).astype("float32")
    >>> y, weights = block(target, source, return_attention_scores=True)
    >>> tuple(weights["cross_attention"].shape)
    (2, 2, 4, 6)
    """

    def build(self, inputs_shape, context_shape):
        model_dim = inputs_shape[-1]
        self.self_attention = self._make_attention("self_attention", model_dim)
        self.self_attention.build(inputs_shape, inputs_shape)
        self.self_attention_norm = self._norm("self_attention_norm", model_dim)
        self.cross_attention = self._make_attention("cross_attention", model_dim)
        self.cross_attention.build(inputs_shape, context_shape)
        self.cross_attention_norm = self._norm("cross_attention_norm", model_dim)
        self.build_common(model_dim)

    def call(
        self,
        inputs,
        context,
        inputs_mask=None,
        context_mask=None,
        use_causal_mask=True,
        return_attention_scores=False,
        training=None,
    ):
        def attend_self(x):
            return self.self_attention(
                x, x, query_mask=inputs_mask, value_mask=inputs_mask,
                use_causal_mask=use_causal_mask, return_attention_scores=True,
                training=training,
            )

        def attend_context(x):
            return self.cross_attention(
                x, context, query_mask=inputs_mask, value_mask=context_mask,
                return_attention_scores=True, training=training,
            )

        x, self_weights = self._residual(inputs, self.self_attention_norm, attend_self, training)
        x, cross_weights = self._residual(x, self.cross_attention_norm, attend_context, training)
        x = self._feed_forward(x, training)
        if return_attention_scores:
            return x, {"self_attention": self_weights, "cross_attention": cross_weights}
        return x

    def compute_mask(self, inputs, mask=None):
        return mask

    # --- cached decoding ---------------------------------------------------------------

    def cross_attention_cache(self, context):
        """Project the encoder output once: `(key, value)`, each `(batch, heads, S, depth)`."""
        return self.cross_attention.project_key_value(context)

    def empty_self_attention_cache(self, batch_size, max_length, dtype="float32"):
        """Zeroed `(key, value)` caches `(batch, heads, max_length, depth)` for decoding."""
        attention = self.self_attention
        key = ops.zeros((batch_size, attention.num_heads, max_length, attention.key_dim), dtype)
        value = ops.zeros(
            (batch_size, attention.num_heads, max_length, attention.value_dim), dtype
        )
        return key, value

    def decode_step(self, inputs, step, self_cache, cross_cache, context_mask=None):
        """One new target position, attending to cached keys and values.

        Args:
            inputs: `(batch, 1, d)`, the new position's input.
            step: int scalar, the index of this position.
            self_cache: `(key, value)` `(batch, heads, max_length, depth)`; entries before
                `step` are filled.
            cross_cache: `(key, value)` from `cross_attention_cache`.
            context_mask: optional boolean `(batch, S)`.

        Returns:
            `(outputs (batch, 1, d), updated self_cache, cross weights (batch, heads, 1, S))`.
        """
        key_cache, value_cache = self_cache
        max_length = key_cache.shape[2]
        batch = ops.shape(inputs)[0]
        filled = ops.expand_dims(ops.arange(max_length) <= step, 0)
        filled = ops.broadcast_to(filled, (batch, max_length))  # (batch, max_length)
        new_cache = []

        def attend_self(x):
            key, value = self.self_attention.project_key_value(x)  # (batch, heads, 1, depth)
            start = (0, 0, step, 0)
            updated = (
                ops.slice_update(key_cache, start, ops.cast(key, key_cache.dtype)),
                ops.slice_update(value_cache, start, ops.cast(value, value_cache.dtype)),
            )
            new_cache.append(updated)
            return self.self_attention.call_with_cache(x, *updated, key_mask=filled), None

        def attend_context(x):
            return self.cross_attention.call_with_cache(
                x, *cross_cache, key_mask=context_mask, return_attention_scores=True
            )

        x, _ = self._residual(inputs, self.self_attention_norm, attend_self, False)
        x, cross_weights = self._residual(x, self.cross_attention_norm, attend_context, False)
        x = self._feed_forward(x, False)
        return x, new_cache[0], cross_weights
