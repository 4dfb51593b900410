"""`BaseAttention`: the Keras layer around the one attention mechanism.

A new attention type subclasses `BaseAttention` and supplies its score in
`_calculate_scores`; masking, the float32 softmax, dropout, the weighted sum, Keras masks,
serialization and input checks are inherited.
"""

import keras

from attention_layers.layers import mechanism
from attention_layers.layers.masking import combine_masks


def check_rank(name, shape, rank, layout):
    """Raise a `ValueError` naming `name` unless `shape` has `rank` dimensions."""
    shape = tuple(shape)
    if len(shape) != rank:
        raise ValueError(
            f"`{name}` must be {rank}-D with shape {layout}; received a tensor of shape {shape}."
        )


def check_size(name, shape, axis, expected, expected_what):
    """Raise a `ValueError` when a static size differs from the one expected."""
    size = shape[axis]
    if size is not None and expected is not None and size != expected:
        raise ValueError(
            f"`{name}` has shape {tuple(shape)}, but its axis {axis} must equal "
            f"{expected_what} ({expected})."
        )


def check_mask(name, mask, expected_shape, layout):
    """Raise a `ValueError` unless `mask` has the rank and (known) sizes of `expected_shape`."""
    if mask is None:
        return
    shape = tuple(mask.shape)
    compatible = len(shape) == len(expected_shape) and all(
        got is None or want is None or got == want for got, want in zip(shape, expected_shape, strict=True)
    )
    if not compatible:
        raise ValueError(
            f"`{name}` must have shape {layout} = {tuple(expected_shape)}; "
            f"received shape {shape}."
        )


@keras.saving.register_keras_serializable(package="attention_layers")
class BaseAttention(keras.layers.Layer):
    """Base class of the attention family: score -> mask -> softmax -> dropout -> sum.

    Subclasses implement `_calculate_scores(query, key)`, and may override
    `_project_inputs` (learned projections before scoring) and `_project_output`.

    The computation, for `query (batch, T_q, d_q)`, `value (batch, T_k, d_v)` and
    `key (batch, T_k, d_k)` (default: `value`):

    1. project the inputs (`_project_inputs`; identity by default);
    2. `scores = score(query, key)`: `(batch, [heads,] T_q, T_k)`;
    3. mask: padding of queries and keys (Keras masks or `query_mask`/`value_mask`),
       `attention_mask`, `use_causal_mask`, `sliding_window`;
    4. `weights = softmax(scores)` over the keys, in float32 whatever the compute dtype;
       masked keys get exactly 0 and a query whose keys are all masked gets all-zero weights
       (so a zero context), never NaN;
    5. dropout on the weights (training only);
    6. `context = weights @ value`: `(batch, [heads,] T_q, d_v)`, then `_project_output`.

    Args:
        dropout: float in `[0, 1)`, dropout rate on the attention weights.
        sliding_window: optional positive int; query `i` attends only to keys `j` with
            `|i - j| <= sliding_window` (Beltagy et al. 2020, "Longformer"). Self-attention
            longer than `3 * sliding_window` runs in blocks, in `O(T * window)` memory.
        seed: optional int seed for dropout.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(batch, T_q, d_q)`.
        value: `(batch, T_k, d_v)`.
        key: optional `(batch, T_k, d_k)`; defaults to `value`.
        query_mask: optional boolean `(batch, T_q)`; filled from a Keras mask on `query`.
        value_mask: optional boolean `(batch, T_k)`; filled from a Keras mask on `value`.
        key_mask: optional boolean `(batch, T_k)`; filled from a Keras mask on `key`.
        attention_mask: optional boolean `(batch, T_q, T_k)`, `True` where attention is
            allowed.
        return_attention_scores: if `True`, return `(context, weights)`.
        training: whether dropout is active.
        use_causal_mask: if `True`, query `i` attends to keys `j <= i` only.

    Returns:
        `context` of shape `(batch, T_q, output_dim)`, or `(context, weights)` with weights
        `(batch, T_q, T_k)` (multi-head layers: `(batch, heads, T_q, T_k)`).
    """

    # Whether the score is pairwise (query i, key j), so the banded sliding-window path
    # applies. A score that looks at all keys at once (location attention) sets this False.
    _pairwise_score = True

    def __init__(self, dropout=0.0, sliding_window=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be a float in [0, 1); received {dropout!r}.")
        if sliding_window is not None and (
            isinstance(sliding_window, bool)
            or not isinstance(sliding_window, int)
            or sliding_window < 1
        ):
            raise ValueError(
                f"`sliding_window` must be None or a positive int; received {sliding_window!r}."
            )
        self.dropout = float(dropout)
        self.sliding_window = sliding_window
        self.seed = seed
        self.supports_masking = True
        self._dropout_layer = (
            keras.layers.Dropout(self.dropout, seed=seed) if self.dropout > 0 else None
        )

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        self._check_shapes(query_shape, value_shape, key_shape)
        self._build_weights(query_shape, value_shape, key_shape)

    # --- hooks for subclasses -------------------------------------------------------------

    def _build_weights(self, query_shape, value_shape, key_shape):
        """Create the layer's weights (none by default)."""

    def _calculate_scores(self, query, key):
        """Attention logits `(..., T_q, T_k)` from `(..., T_q, d)` and `(..., T_k, d)`."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_calculate_scores`.")

    def _project_inputs(self, query, key, value):
        return query, key, value

    def _project_output(self, context):
        return context

    def _fused_scale(self, query):
        """The scale of a scaled dot-product score (enables the fused kernel), else `None`."""
        return None

    def _output_dim(self, query_shape, value_shape):
        return value_shape[-1]

    # --- the mechanism ----------------------------------------------------------------

    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        return self._attention(
            query, value, key, query_mask=query_mask, value_mask=value_mask,
            key_mask=key_mask, attention_mask=attention_mask,
            return_attention_scores=return_attention_scores, training=training,
            use_causal_mask=use_causal_mask,
        )

    def _attention(
        self,
        query,
        value,
        key=None,
        *,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
        score_fn=None,
    ):
        """Validate, project, attend and project back. `score_fn` overrides the score."""
        key = value if key is None else key
        self._check_inputs(query, value, key, query_mask, value_mask, key_mask, attention_mask)
        key_padding = combine_masks(value_mask, key_mask)
        query, key, value = self._project_inputs(query, key, value)

        dropout_fn = None
        if self._dropout_layer is not None and training:
            dropout_fn = lambda weights: self._dropout_layer(weights, training=True)  # noqa: E731

        context, weights = mechanism.attend(
            query,
            key,
            value,
            score_fn or self._calculate_scores,
            query_mask=query_mask,
            key_mask=key_padding,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            sliding_window=self.sliding_window,
            dropout_fn=dropout_fn,
            return_attention_scores=return_attention_scores,
            fused_scale=self._fused_scale(query),
            allow_banded=self._pairwise_score and score_fn is None,
        )
        output = self._project_output(context)
        if return_attention_scores:
            return output, weights
        return output

    def _check_shapes(self, query_shape, value_shape, key_shape):
        """Ranks and sizes of the inputs, checked at build and at every call."""
        check_rank("query", query_shape, 3, "(batch, T_q, dim)")
        check_rank("value", value_shape, 3, "(batch, T_k, dim)")
        check_rank("key", key_shape, 3, "(batch, T_k, dim)")
        check_size("key", key_shape, 1, value_shape[1], "the length of `value`")

    def _check_inputs(self, query, value, key, query_mask, value_mask, key_mask, attention_mask):
        self._check_shapes(query.shape, value.shape, key.shape)
        batch, query_length = query.shape[0], query.shape[1]
        key_length = value.shape[1]
        check_mask("query_mask", query_mask, (batch, query_length), "(batch, T_q)")
        check_mask("value_mask", value_mask, (batch, key_length), "(batch, T_k)")
        check_mask("key_mask", key_mask, (batch, key_length), "(batch, T_k)")
        check_mask(
            "attention_mask", attention_mask, (batch, query_length, key_length),
            "(batch, T_q, T_k)",
        )

    # --- Keras plumbing ---------------------------------------------------------------

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return (*query_shape[:-1], self._output_dim(query_shape, value_shape))

    def compute_output_spec(self, *args, **kwargs):
        # Trace the real call: unlike `compute_output_shape`, it knows whether
        # `return_attention_scores` adds the weights to the outputs.
        return keras.Operation.compute_output_spec(self, *args, **kwargs)

    def compute_mask(self, query, mask=None):
        # The output has one vector per query, so it keeps the query's padding mask.
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {"dropout": self.dropout, "sliding_window": self.sliding_window, "seed": self.seed}
        )
        return config

