"""Transformer encoder and decoder blocks (Vaswani et al. 2017, §3.1) from our layers."""

import keras
from keras import ops

from attention_layers.layers.multi_head import MultiHeadAttention
from attention_layers.utils.checks import (
    check_optional_positive_int,
    check_positive_ints,
    check_rate,
)
from attention_layers.utils.configs import attribute_config

# Names that `.keras` files written before the blocks took keras-hub's names hold in their
# configs; `from_config` reads them (docs/compatibility.md).
LEGACY_ARGUMENT_NAMES = {
    "feed_forward_dim": "intermediate_dim",
    "norm_first": "normalize_first",
    "epsilon": "layer_norm_epsilon",
}


def _serializable(initializer):
    """A config value for an initializer: names and configs as given, objects serialized."""
    if initializer is None or isinstance(initializer, (str, dict)):
        return initializer
    return keras.initializers.serialize(initializer)


def _fresh(initializer):
    """One initializer object per sub-layer, as keras-hub's `clone_initializer`: an unseeded
    Keras initializer draws its seed once, so layers sharing one object of the same shape
    would start equal. Names and configs are left to each layer to build."""
    if isinstance(initializer, keras.initializers.Initializer):
        return type(initializer).from_config(initializer.get_config())
    return initializer


class _TransformerBlock(keras.layers.Layer):
    """Shared parts: sizes, the feed-forward network and the residual sub-layer wiring.

    The argument names are keras-hub's (`TransformerEncoder`, `TransformerDecoder`); the
    positional order stays `(num_heads, intermediate_dim)`, as before the rename.
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        key_dim=None,
        dropout=0.1,
        activation="relu",
        normalize_first=False,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_ints(num_heads=num_heads, intermediate_dim=intermediate_dim)
        check_optional_positive_int("key_dim", key_dim)
        check_rate("dropout", dropout)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.key_dim = key_dim
        self.dropout = dropout
        self.activation = activation
        self.normalize_first = normalize_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.supports_masking = True

    @classmethod
    def from_config(cls, config):
        # Compatibility shim (docs/compatibility.md): configs written before the rename.
        config = dict(config)
        for old, new in LEGACY_ARGUMENT_NAMES.items():
            if old in config:
                config.setdefault(new, config.pop(old))
        return super().from_config(config)

    def _initializers(self):
        return {
            "kernel_initializer": _fresh(self.kernel_initializer),
            "bias_initializer": _fresh(self.bias_initializer),
        }

    def _make_attention(self, name, model_dim, **kwargs):
        key_dim = self.key_dim or max(1, model_dim // self.num_heads)
        return MultiHeadAttention(
            self.num_heads, key_dim, dropout=self.dropout, name=name,
            dtype=self.dtype_policy, **self._initializers(), **kwargs,
        )

    def _build_feed_forward(self, model_dim):
        policy = self.dtype_policy
        self.feed_forward = keras.Sequential(
            [
                keras.layers.Dense(
                    self.intermediate_dim, activation=self.activation, dtype=policy,
                    **self._initializers(),
                ),
                keras.layers.Dense(model_dim, dtype=policy, **self._initializers()),
            ],
            name="feed_forward",
        )
        self.feed_forward.build((None, None, model_dim))

    def _norm(self, name, model_dim):
        norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name=name, dtype=self.dtype_policy
        )
        norm.build((None, None, model_dim))
        return norm

    def _residual(self, inputs, norm, sublayer, training):
        """`x + dropout(f(norm(x)))` (pre-norm) or `norm(x + dropout(f(x)))` (post-norm).

        `sublayer` returns `(output, extra)`; `extra` (attention weights) is passed on.
        """
        if self.normalize_first:
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
            **attribute_config(
                self, "num_heads", "intermediate_dim", "key_dim", "dropout", "activation",
                "normalize_first", "layer_norm_epsilon",
            ),
            "kernel_initializer": _serializable(self.kernel_initializer),
            "bias_initializer": _serializable(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerEncoderBlock(_TransformerBlock):
    """A Transformer encoder layer: self-attention, then a feed-forward network.

    Vaswani et al. 2017, §3.1 and Figure 1 (left): each sub-layer is wrapped as
    `LayerNorm(x + Dropout(Sublayer(x)))` (post-norm, the paper), or
    `x + Dropout(Sublayer(LayerNorm(x)))` with `normalize_first=True` (pre-norm, Xiong et
    al. 2020, which trains more stably without warm-up). The arguments are named as in
    keras-hub's `TransformerEncoder`.

    1. `x = x + self_attention(x, x)`: `(batch, T, d)`, weights `(batch, heads, T, T)`;
    2. `x = x + feed_forward(x)`: `Dense(intermediate_dim) -> Dense(d)`.

    Args:
        num_heads: attention heads.
        intermediate_dim: hidden size of the feed-forward network.
        key_dim: size of each head; default `d // num_heads`.
        dropout: rate for the attention weights and the residual branches.
        activation: of the feed-forward hidden layer.
        normalize_first: pre-norm instead of the paper's post-norm.
        sliding_window: optional local self-attention window.
        layer_norm_epsilon: of the layer normalizations.
        kernel_initializer, bias_initializer: of the attention projections and the
            feed-forward layers (a name, a config or a `keras.initializers` object).

    `.keras` files saved before the rename, whose configs say `feed_forward_dim`,
    `norm_first` and `epsilon`, still load (`from_config`; docs/compatibility.md).

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
    >>> block = TransformerEncoderBlock(num_heads=2, intermediate_dim=32)
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> y, weights = block(x, return_attention_scores=True)
    >>> tuple(y.shape), tuple(weights.shape)
    ((2, 5, 16), (2, 2, 5, 5))
    """

    def __init__(self, num_heads, intermediate_dim, sliding_window=None, **kwargs):
        super().__init__(num_heads, intermediate_dim, **kwargs)
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
    (the paper) or pre-norm (`normalize_first=True`), as `TransformerEncoderBlock`; the
    arguments are named as in keras-hub's `TransformerDecoder`.

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
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=32)
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
