"""`BaseAttention`: the Keras layer around the one attention mechanism.

A new attention type subclasses `BaseAttention`, creates its weights in `build` and defines
its score in `_calculate_scores(query, key, **score_inputs)`; that is the one extension
point. Input checks, masking, the float32 softmax, dropout, the weighted sum, Keras masks and
serialization are inherited. Per-call inputs of a score (such as the previous alignment of
location-sensitive attention) are keyword arguments of the layer call, passed on to the
score.
"""

import inspect

import keras
from keras import ops

from attention_layers.layers import mechanism
from attention_layers.layers.masking import combine_masks
from attention_layers.utils.checks import (
    check_optional_positive_int,
    check_rank,
    check_rate,
    check_shape,
    check_size,
)


@keras.saving.register_keras_serializable(package="attention_layers")
class BaseAttention(keras.layers.Layer):
    """Base class of the attention family: score -> mask -> softmax -> dropout -> sum.

    Subclasses implement `_calculate_scores(query, key, **score_inputs)` (and create their
    weights in `build`, after `super().build(...)`). The computation, for
    `query (batch, T_q, d_q)`, `value (batch, T_k, d_v)` and `key (batch, T_k, d_k)`
    (default: `value`):

    1. check the inputs: ranks, batch sizes, lengths, masks and score inputs;
    2. `scores = _calculate_scores(query, key, **score_inputs)`: `(batch, [heads,] T_q, T_k)`;
    3. mask: padding of queries and keys (Keras masks or `query_mask`/`value_mask`),
       `attention_mask`, `use_causal_mask`, `sliding_window`;
    4. `weights = softmax(scores)` over the keys, in float32 whatever the compute dtype;
       masked keys get exactly 0 and a query whose keys are all masked gets all-zero weights
       (so a zero context), never NaN;
    5. dropout on the weights (training only);
    6. `context = weights @ value`: `(batch, [heads,] T_q, d_v)`.

    `MultiHeadAttention` alone also overrides `_project_inputs` and `_project_output` (into
    heads and back) and `_fused_scale` (its score is a scaled dot product, so the fused
    kernel may replace steps 2-6).

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
        **score_inputs: per-call inputs of the score, named as in `_calculate_scores`
            (e.g. `previous_alignment`), each `(batch, T_k)` or `(batch, T_q, T_k)`; they
            reach the score broadcast to `(batch, T_q, T_k)`. `None` means not given.

    Returns:
        `context` of shape `(batch, T_q, output_dim)`, or `(context, weights)` with weights
        `(batch, T_q, T_k)` (multi-head layers: `(batch, heads, T_q, T_k)`).
    """

    # Whether the score of query i and key j depends on those two alone, so the banded
    # sliding-window path may score blocks of them. A score from the query alone (location
    # attention) sets this False; per-call score inputs switch that path off too.
    _pairwise_score = True

    def __init__(self, dropout=0.0, sliding_window=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_rate("dropout", dropout)
        check_optional_positive_int("sliding_window", sliding_window)
        self.dropout = float(dropout)
        self.sliding_window = sliding_window
        self.seed = seed
        self.supports_masking = True
        self._dropout_layer = (
            keras.layers.Dropout(self.dropout, seed=seed) if self.dropout > 0 else None
        )

    def build(self, query_shape, value_shape, key_shape=None):
        _check_shapes(query_shape, value_shape, value_shape if key_shape is None else key_shape)

    def _calculate_scores(self, query, key, **score_inputs):
        """Attention logits `(..., T_q, T_k)` from `(..., T_q, d_q)` and `(..., T_k, d_k)`.

        It must accept any number of leading axes (the banded path calls it on blocks).
        Keyword arguments, if any, are the layer's per-call score inputs.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement `_calculate_scores`.")

    def _project_inputs(self, query, key, value):
        return query, key, value

    def _project_output(self, context, query):
        return context

    def _fused_scale(self, query):
        """The scale of a scaled dot-product score (enables the fused kernel), else `None`."""
        return None

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
        **score_inputs,
    ):
        key = value if key is None else key
        _check_shapes(query.shape, value.shape, key.shape)
        _check_masks(query, value, query_mask, value_mask, key_mask, attention_mask)
        score_inputs = self._check_score_inputs(query, value, score_inputs)
        inputs = query
        query, key, value = self._project_inputs(query, key, value)

        dropout_fn = None
        if self._dropout_layer is not None and training:
            dropout_fn = lambda weights: self._dropout_layer(weights, training=True)  # noqa: E731

        context, weights = mechanism.attend(
            query,
            key,
            value,
            lambda query, key: self._calculate_scores(query, key, **score_inputs),
            query_mask=query_mask,
            key_mask=combine_masks(value_mask, key_mask),
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            sliding_window=self.sliding_window,
            dropout_fn=dropout_fn,
            return_attention_scores=return_attention_scores,
            fused_scale=None if score_inputs else self._fused_scale(query),
            allow_banded=self._pairwise_score and not score_inputs,
        )
        output = self._project_output(context, inputs)
        return (output, weights) if return_attention_scores else output

    def _check_score_inputs(self, query, value, score_inputs):
        """Check the score's per-call inputs and broadcast them to `(batch, T_q, T_k)`."""
        if not score_inputs:
            return {}
        accepted = [
            name
            for name, parameter in inspect.signature(self._calculate_scores).parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            and name not in ("query", "key")
        ]
        checked = {}
        for name, tensor in score_inputs.items():
            if name not in accepted:
                raise ValueError(
                    f"`{name}` is not a call argument of {type(self).__name__}; its score "
                    f"takes {accepted or 'no extra inputs'}."
                )
            if tensor is None:
                continue
            tensor = ops.cast(tensor, self.compute_dtype)
            batch, query_length, key_length = query.shape[0], query.shape[1], value.shape[1]
            if len(tensor.shape) == 2:
                check_shape(name, tensor, (batch, key_length), "(batch, T_k)")
                tensor = ops.expand_dims(tensor, 1)  # the same for every query
            else:
                check_shape(
                    name, tensor, (batch, query_length, key_length), "(batch, T_q, T_k)"
                )
            checked[name] = ops.broadcast_to(
                tensor, (ops.shape(query)[0], ops.shape(query)[1], ops.shape(value)[1])
            )
        return checked

    # --- Keras plumbing ---------------------------------------------------------------

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        return (*query_shape[:-1], value_shape[-1])

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


def _check_shapes(query_shape, value_shape, key_shape):
    """Ranks, batch sizes and lengths of the inputs, checked at build and at every call."""
    check_rank("query", query_shape, 3, "(batch, T_q, dim)")
    check_rank("value", value_shape, 3, "(batch, T_k, dim)")
    check_rank("key", key_shape, 3, "(batch, T_k, dim)")
    check_size("value", value_shape, 0, query_shape[0], "the batch size of `query`")
    check_size("key", key_shape, 0, query_shape[0], "the batch size of `query`")
    check_size("key", key_shape, 1, value_shape[1], "the length of `value`")


def _check_masks(query, value, query_mask, value_mask, key_mask, attention_mask):
    batch, query_length, key_length = query.shape[0], query.shape[1], value.shape[1]
    check_shape("query_mask", query_mask, (batch, query_length), "(batch, T_q)")
    check_shape("value_mask", value_mask, (batch, key_length), "(batch, T_k)")
    check_shape("key_mask", key_mask, (batch, key_length), "(batch, T_k)")
    check_shape(
        "attention_mask", attention_mask, (batch, query_length, key_length), "(batch, T_q, T_k)"
    )
