"""Masks and the masked softmax shared by every attention layer.

A mask is boolean and `True` where a query may attend to a key. Masks from different
sources (padding of the queries, padding of the keys, an explicit `attention_mask`, causality
and a sliding window) are combined with logical AND.
"""

from keras import ops

# Added to masked logits before the softmax. Finite (unlike -inf), so a row whose keys are all
# masked gives a uniform softmax instead of NaN; those rows are then zeroed explicitly.
_MASKED_LOGIT = -1e9
_FLOAT16_MAX = 65504.0


def position_mask(query_positions, key_positions, causal=False, sliding_window=None):
    """Which key positions each query position may see.

    Args:
        query_positions: integer tensor of query indices, broadcastable against
            `key_positions` (e.g. shape `(T_q, 1)`).
        key_positions: integer tensor of key indices (e.g. shape `(1, T_k)`).
        causal: if `True`, query `i` sees keys `j <= i` only.
        sliding_window: if set, query `i` sees keys with `|i - j| <= sliding_window` only.

    Returns:
        A boolean tensor of the broadcast shape, or `None` when nothing is masked.
    """
    mask = None
    if causal:
        mask = ops.greater_equal(query_positions, key_positions)
    if sliding_window is not None:
        window = ops.less_equal(ops.abs(query_positions - key_positions), sliding_window)
        mask = window if mask is None else ops.logical_and(mask, window)
    return mask


def combine_masks(*masks):
    """Logical AND of the masks that are not `None` (broadcasting), or `None`."""
    result = None
    for mask in masks:
        if mask is None:
            continue
        mask = ops.cast(mask, "bool")
        result = mask if result is None else ops.logical_and(result, mask)
    return result


def expand_mask_to(mask, rank):
    """Insert axes after the batch axis until `mask` has `rank` dimensions.

    Masks are built as `(batch, ..., T_q, T_k)`; scores of multi-head layers carry a head axis
    after the batch axis, `(batch, heads, ..., T_q, T_k)`, which the mask broadcasts over.
    """
    while len(mask.shape) < rank:
        mask = ops.expand_dims(mask, axis=1)
    return mask


def masked_softmax(scores, mask=None):
    """Softmax over the last axis in float32, with masked keys at exactly zero.

    A row whose keys are all masked gets all-zero weights (never NaN), so its context
    vector is zero.

    Args:
        scores: logits, `(..., T_q, T_k)`, any float dtype.
        mask: boolean, broadcastable to `scores`, `True` where attention is allowed.

    Returns:
        float32 weights of the shape of `scores`; each unmasked row sums to 1.
    """
    float16 = ops.dtype(scores) == "float16"
    scores = ops.cast(scores, "float32")
    if float16:
        # A float16 product that overflowed to +-inf would make the softmax NaN (inf - inf);
        # clipped, it ties with the largest finite logit instead. bfloat16 and float32 have
        # float32's range, so their scores skip this extra pass over `(T_q, T_k)`.
        scores = ops.clip(scores, -_FLOAT16_MAX, _FLOAT16_MAX)
    if scores.shape[-1] == 1:
        # One key takes all the weight (Keras warns about a softmax over one element).
        weights = ops.ones_like(scores)
    else:
        if mask is not None:
            scores = ops.where(expand_mask_to(mask, len(scores.shape)), scores, _MASKED_LOGIT)
        weights = ops.softmax(scores, axis=-1)
    if mask is None:
        return weights
    return ops.where(expand_mask_to(mask, len(scores.shape)), weights, 0.0)


def rows_with_any_key(mask):
    """`(..., T_q, 1)` float32: 1 where a query row may see at least one key, else 0."""
    return ops.cast(ops.any(mask, axis=-1, keepdims=True), "float32")
