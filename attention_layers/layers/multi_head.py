"""Multi-head attention (Vaswani et al. 2017, §3.2.2) and single-head self-attention."""

import keras
from keras import ops

from attention_layers.layers import mechanism
from attention_layers.layers.base import BaseAttention
from attention_layers.utils.checks import (
    check_one_of,
    check_optional_positive_int,
    check_positive_int,
)


@keras.saving.register_keras_serializable(package="attention_layers")
class MultiHeadAttention(BaseAttention):
    """Multi-head attention, a drop-in for `keras.layers.MultiHeadAttention`.

    Vaswani et al. 2017, §3.2.2: `MultiHead(Q, K, V) = Concat(head_1..head_h) W^O` with
    `head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)` (eq. 1 for each head).

    1. project: `query (batch, T_q, d) -> (batch, heads, T_q, key_dim)`, likewise key and
       value (`value_dim`);
    2. `scores = query @ key^T / sqrt(key_dim)`: `(batch, heads, T_q, T_k)`;
    3. mask, softmax in float32, dropout (see `BaseAttention`);
    4. `context = weights @ value`: `(batch, heads, T_q, value_dim)`;
    5. concatenate the heads and project: `(batch, T_q, output_dim)`.

    Weights are laid out as in Keras (`query`, `key`, `value`, `attention_output` einsum
    kernels), so `set_weights(keras_layer.get_weights())` copies a Keras layer exactly.
    When weights are not requested and no dropout applies, step 2-4 run in
    `keras.ops.dot_product_attention` (a fused kernel on JAX and PyTorch GPUs); the result
    equals the explicit path. Unlike Keras, a query whose keys are all masked (a padded
    query) gets zero weights, not a uniform spread.

    Args:
        num_heads: number of heads, a positive int.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value; default `key_dim`.
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        output_shape: the last dimension of the output (int or 1-tuple); default the
            query's last dimension.
        attention_axes: only `None` (attention over the time axis) is supported.
        sliding_window: optional local attention window (see `BaseAttention`).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: for the projections, as in Keras.
        seed: optional seed for dropout.

    Call arguments:
        query, value, key, query_mask, value_mask, key_mask, attention_mask,
        return_attention_scores, training, use_causal_mask: see `BaseAttention`.

    Returns:
        `output (batch, T_q, output_dim)`, or `(output, weights (batch, heads, T_q, T_k))`.

    Example:

    >>> import numpy as np
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=8)
    >>> x = np.random.rand(3, 5, 16).astype("float32")
    >>> output, weights = layer(x, x, return_attention_scores=True)
    >>> tuple(output.shape), tuple(weights.shape)
    ((3, 5, 16), (3, 2, 5, 5))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            dropout=dropout, sliding_window=sliding_window, seed=seed,
            activity_regularizer=activity_regularizer, **kwargs,
        )
        check_positive_int("num_heads", num_heads)
        check_positive_int("key_dim", key_dim)
        check_optional_positive_int("value_dim", value_dim)
        if attention_axes is not None:
            # Keras' other axes attend over images or videos; ours over a time axis only.
            raise ValueError(
                "`attention_axes` must be None (attention over the time axis of "
                f"(batch, T, dim) inputs); received {attention_axes!r}."
            )
        check_one_of("flash_attention", flash_attention, (None, True, False))
        if flash_attention and dropout > 0:
            raise ValueError(
                "`flash_attention=True` cannot apply `dropout` (the fused kernel has none); "
                f"received dropout={dropout!r}."
            )
        if isinstance(output_shape, (tuple, list)):
            if len(output_shape) != 1:
                raise ValueError(
                    f"`output_shape` must be an int or a 1-tuple; received {output_shape!r}."
                )
            output_shape = output_shape[0]
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.use_bias = use_bias
        self.use_gate = bool(use_gate)
        self.flash_attention = flash_attention
        self._output_size = output_shape
        self._dense_arguments = {
            "kernel_initializer": keras.initializers.get(kernel_initializer),
            "bias_initializer": keras.initializers.get(bias_initializer),
            "kernel_regularizer": keras.regularizers.get(kernel_regularizer),
            "bias_regularizer": keras.regularizers.get(bias_regularizer),
            "kernel_constraint": keras.constraints.get(kernel_constraint),
            "bias_constraint": keras.constraints.get(bias_constraint),
        }

    def _projection(self, name, heads_and_depth, activation=None):
        projection = keras.layers.EinsumDense(
            "abc,cde->abde",
            output_shape=(None, *heads_and_depth),
            bias_axes="de" if self.use_bias else None,
            activation=activation,
            name=name,
            dtype=self.dtype_policy,
            **self._dense_arguments,
        )
        # The attention applies the padding masks itself; let them pass without a warning.
        projection.supports_masking = True
        return projection

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        # Same names and creation order as keras.layers.MultiHeadAttention.
        self._query_dense = self._projection("query", (self.num_heads, self.key_dim))
        self._query_dense.build(query_shape)
        self._key_dense = self._projection("key", (self.num_heads, self.key_dim))
        self._key_dense.build(value_shape if key_shape is None else key_shape)
        if self.use_gate:
            self._gate_dense = self._projection(
                "gate", (self.num_heads, self.value_dim), activation="sigmoid"
            )
            self._gate_dense.build(query_shape)
        self._value_dense = self._projection("value", (self.num_heads, self.value_dim))
        self._value_dense.build(value_shape)
        self._output_dense = keras.layers.EinsumDense(
            "abcd,cde->abe",
            output_shape=(None, self._output_size or query_shape[-1]),
            bias_axes="e" if self.use_bias else None,
            name="attention_output",
            dtype=self.dtype_policy,
            **self._dense_arguments,
        )
        self._output_dense.build((None, None, self.num_heads, self.value_dim))

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return (*query_shape[:-1], self._output_size or query_shape[-1])

    @staticmethod
    def _split_heads(projection, tensor):
        # (batch, T, d) -> (batch, T, heads, depth) -> (batch, heads, T, depth)
        return ops.transpose(projection(tensor), (0, 2, 1, 3))

    def _project_inputs(self, query, key, value):
        return (
            self._split_heads(self._query_dense, query),
            self._split_heads(self._key_dense, key),
            self._split_heads(self._value_dense, value),
        )

    def _calculate_scores(self, query, key):
        return mechanism.dot_product_scores(query, key, mechanism.default_scale(self.key_dim))

    def _fused_scale(self, query):
        if self.flash_attention is False:
            return None
        return mechanism.default_scale(self.key_dim)

    def _project_output(self, context, query):
        # (batch, heads, T_q, value_dim) -> (batch, T_q, heads, value_dim) -> (batch, T_q, out)
        context = ops.transpose(context, (0, 2, 1, 3))
        if self.use_gate:
            # Gated attention (Qiu et al. 2025): a sigmoid gate from the query per head.
            context = context * self._gate_dense(query)  # (batch, T_q, heads, value_dim)
        return self._output_dense(context)

    # --- cached decoding ---------------------------------------------------------------

    def project_key_value(self, value, key=None):
        """Project keys and values once, to cache them while decoding.

        Returns:
            `(key (batch, heads, T_k, key_dim), value (batch, heads, T_k, value_dim))`.
        """
        key = value if key is None else key
        return self._split_heads(self._key_dense, key), self._split_heads(self._value_dense, value)

    def call_with_cache(
        self, query, cached_key, cached_value, key_mask=None, return_attention_scores=False
    ):
        """Attend from new queries to already projected keys and values.

        A decoder step costs `O(T_k)` this way: the keys and values of earlier positions
        are not projected again.

        Args:
            query: `(batch, T_q, d)`, typically the one new position.
            cached_key: `(batch, heads, T_k, key_dim)` from `project_key_value`.
            cached_value: `(batch, heads, T_k, value_dim)`.
            key_mask: optional boolean `(batch, T_k)`, e.g. the filled part of the cache.
            return_attention_scores: also return `(batch, heads, T_q, T_k)` weights.

        Returns:
            `output (batch, T_q, output_dim)`, or `(output, weights)`.
        """
        projected_query = self._split_heads(self._query_dense, query)
        context, weights = mechanism.attend(
            projected_query,
            cached_key,
            cached_value,
            self._calculate_scores,
            key_mask=key_mask,
            return_attention_scores=return_attention_scores,
            fused_scale=self._fused_scale(projected_query),
            allow_banded=False,
        )
        output = self._project_output(context, query)
        return (output, weights) if return_attention_scores else output

    def _shape_config(self):
        """The constructor arguments that size the heads and the output."""
        return {
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "output_shape": self._output_size,
        }

    def get_config(self):
        return {
            **super().get_config(),
            **self._shape_config(),
            "use_bias": self.use_bias,
            "attention_axes": None,
            "flash_attention": self.flash_attention,
            "use_gate": self.use_gate,
            **{
                name: keras.saving.serialize_keras_object(value)
                for name, value in self._dense_arguments.items()
            },
        }


@keras.saving.register_keras_serializable(package="attention_layers")
class SelfAttention(MultiHeadAttention):
    """Single-head self-attention with learned query, key, value and output projections.

    The building block of the Transformer before it is split into heads (Vaswani et al.
    2017, §3.2.1, eq. 1, with `Q = X W^Q`, `K = X W^K`, `V = X W^V`). By default it attends
    over its own input; pass `value` (and `key`) to attend over another sequence.

    1. `query = x W^Q`, `key = x W^K`, `value = x W^V`: `(batch, T, units)`;
    2. `scores = query @ key^T / sqrt(units)`: `(batch, T, T)`;
    3. mask, softmax in float32, dropout (see `BaseAttention`);
    4. `context = weights @ value`, then `output = context W^O`: `(batch, T, output_dim)`.

    Args:
        units: size of the query, key and value projections.
        output_dim: last dimension of the output; default the input's.
        use_bias, dropout, sliding_window, seed, initializers...: as `MultiHeadAttention`.

    Call arguments:
        query: `(batch, T, dim)`.
        value: optional; defaults to `query` (self-attention).
        key, masks, return_attention_scores, training, use_causal_mask: see
        `BaseAttention`. `mask` is the Keras mask of `query` when it is the only input.

    Returns:
        `output (batch, T, output_dim)`, or `(output, weights (batch, T, T))`.

    Example:

    >>> import numpy as np
    >>> layer = SelfAttention(units=8)
    >>> x = np.random.rand(2, 5, 12).astype("float32")
    >>> output, weights = layer(x, return_attention_scores=True)
    >>> tuple(output.shape), tuple(weights.shape)
    ((2, 5, 12), (2, 5, 5))
    """

    def __init__(self, units, output_dim=None, **kwargs):
        super().__init__(num_heads=1, key_dim=units, output_shape=output_dim, **kwargs)
        self.units = units

    def build(self, query_shape, value_shape=None, key_shape=None):
        super().build(query_shape, value_shape or query_shape, key_shape)

    def call(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        return_attention_scores=False,
        training=None,
        mask=None,
        **kwargs,
    ):
        # The masks and `training` are named here because Keras fills only named arguments.
        if value is None:
            # Keras fills `mask` (not `query_mask`) when the query is the only tensor.
            query_mask = mask if query_mask is None else query_mask
            value, value_mask = query, query_mask
        result = super().call(
            query, value, key, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            return_attention_scores=return_attention_scores, training=training, **kwargs,
        )
        if return_attention_scores:
            output, weights = result
            return output, ops.squeeze(weights, 1)  # (batch, T_q, T_k): one head
        return result

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return super().compute_output_shape(query_shape, value_shape or query_shape)

    def _shape_config(self):
        return {"units": self.units, "output_dim": self._output_size}
