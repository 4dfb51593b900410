"""The attention mechanism, written once: score -> mask -> softmax -> dropout -> weighted sum.

Every layer of the family calls `attend` with its own score function. Tensors are laid out
`(batch, [heads,] T, dim)`: any axes between the batch axis and the time axis (such as heads)
are carried through, and masks broadcast over them.

`attend` picks one of three equivalent computations:

- **explicit**: the full `(T_q, T_k)` score matrix, used whenever weights are requested;
- **fused**: `keras.ops.dot_product_attention` (a fused kernel on JAX and PyTorch GPUs), for
  scaled dot-product scores when weights are not requested, no dropout applies and the
  inputs are not float16 (whose softmax must run in float32 to stay finite);
- **banded**: for `sliding_window` self-attention, queries are cut into blocks of
  `sliding_window` positions, and each block scores only the three key blocks around it, so
  time and memory grow as `O(T * window)` instead of `O(T^2)`.
"""

import math

from keras import ops

from attention_layers.layers.masking import (
    combine_masks,
    expand_mask_to,
    masked_softmax,
    position_mask,
    rows_with_any_key,
)


def attend(
    query,
    key,
    value,
    score_fn,
    *,
    query_mask=None,
    key_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    sliding_window=None,
    dropout_fn=None,
    return_attention_scores=False,
    fused_scale=None,
    allow_banded=True,
):
    """Attention over `(batch, [heads,] T, dim)` tensors with a given score function.

    Args:
        query: `(batch, [heads,] T_q, d_q)`.
        key: `(batch, [heads,] T_k, d_k)`.
        value: `(batch, [heads,] T_k, d_v)`.
        score_fn: `score_fn(query, key) -> (..., T_q, T_k)` logits. It must accept any
            number of leading axes (the banded path calls it on blocks).
        query_mask: boolean `(batch, T_q)`; `False` rows get zero weights.
        key_mask: boolean `(batch, T_k)`; `False` keys get zero weight.
        attention_mask: boolean `(batch, T_q, T_k)`.
        use_causal_mask: query `i` attends to keys `j <= i` only.
        sliding_window: query `i` attends to keys with `|i - j| <= sliding_window` only.
        dropout_fn: applied to the weights before the weighted sum (`None`: no dropout).
        return_attention_scores: also return the weights.
        fused_scale: set when `score_fn` is `scale * query . key`; allows the fused kernel.
        allow_banded: whether `score_fn` is pairwise, so the banded path may be used.

    Returns:
        `(context, weights)`: context `(batch, [heads,] T_q, d_v)`; weights
        `(batch, [heads,] T_q, T_k)` or `None` when not requested.
    """
    query_length, key_length = query.shape[-2], key.shape[-2]
    if (
        allow_banded
        and sliding_window is not None
        and attention_mask is None
        and not return_attention_scores
        and isinstance(query_length, int)
        and query_length == key_length
        and query_length > 3 * sliding_window
    ):
        context = _banded_attention(
            query, key, value, score_fn, query_mask, key_mask, use_causal_mask,
            sliding_window, dropout_fn,
        )
        return context, None

    mask = _dense_mask(
        query_length, key_length, query_mask, key_mask, attention_mask,
        use_causal_mask, sliding_window, query, key,
    )
    if (
        fused_scale is not None
        and dropout_fn is None
        and not return_attention_scores
        and _fused_is_safe(query, key, value)
    ):
        return _fused_attention(query, key, value, mask, fused_scale), None

    scores = score_fn(query, key)  # (batch, [heads,] T_q, T_k)
    weights = masked_softmax(scores, mask)
    weights = ops.cast(weights, value.dtype)
    attended = weights if dropout_fn is None else dropout_fn(weights)
    context = ops.matmul(attended, value)  # (batch, [heads,] T_q, d_v)
    return context, (weights if return_attention_scores else None)


def _fused_is_safe(query, key, value):
    """Whether `ops.dot_product_attention` gives what the explicit path gives."""
    # jax.nn.dot_product_attention needs equal depths (the explicit path reports a query and
    # key of different depths by name). A float16 kernel takes its softmax in float16, where
    # large logits overflow to inf and the weights become NaN; the explicit path scales the
    # query first and runs the softmax in float32. bfloat16 has float32's range.
    return (
        query.shape[-1] == key.shape[-1] == value.shape[-1]
        and ops.dtype(query) != "float16"
    )


def dot_product_scores(query, key, scale=None):
    """`scale * query . key^T` over the last axis: `(..., T_q, d), (..., T_k, d) -> (..., T_q, T_k)`.

    The query is scaled before the product, as in Keras, which keeps float16 products
    from overflowing.
    """
    if scale is not None:
        query = query * ops.cast(scale, query.dtype)
    return ops.matmul(query, ops.swapaxes(key, -1, -2))


def default_scale(depth):
    """`1 / sqrt(d_k)`, Vaswani et al. 2017, eq. 1."""
    return 1.0 / math.sqrt(depth)


def _positions(length):
    return ops.arange(length, dtype="int32")


def _dense_mask(
    query_length, key_length, query_mask, key_mask, attention_mask, causal, window, query, key
):
    """Combine every mask into one boolean `(batch or 1, T_q, T_k)`, or `None`."""
    if query_length is None:
        query_length = ops.shape(query)[-2]
    if key_length is None:
        key_length = ops.shape(key)[-2]
    positions = None
    if causal or window is not None:
        positions = position_mask(
            ops.expand_dims(_positions(query_length), 1),
            ops.expand_dims(_positions(key_length), 0),
            causal=causal,
            sliding_window=window,
        )
        positions = ops.expand_dims(positions, 0)  # (1, T_q, T_k)
    return combine_masks(
        None if query_mask is None else ops.expand_dims(query_mask, -1),  # (batch, T_q, 1)
        None if key_mask is None else ops.expand_dims(key_mask, -2),  # (batch, 1, T_k)
        attention_mask,
        positions,
    )


def _fused_attention(query, key, value, mask, scale):
    """`keras.ops.dot_product_attention`, which wants `(batch, T, heads, dim)`."""
    has_heads = len(query.shape) == 4
    if not has_heads:
        query, key, value = (ops.expand_dims(t, 1) for t in (query, key, value))
    # (batch, heads, T, d) -> (batch, T, heads, d)
    query, key, value = (ops.transpose(t, (0, 2, 1, 3)) for t in (query, key, value))
    fused_mask = None if mask is None else expand_mask_to(mask, 4)  # (batch, 1, T_q, T_k)
    context = ops.dot_product_attention(query, key, value, mask=fused_mask, scale=scale)
    context = ops.transpose(context, (0, 2, 1, 3))  # (batch, heads, T_q, d_v)
    if mask is not None:
        # The fused kernel spreads a fully masked row uniformly; ours gives zeros.
        has_key = expand_mask_to(rows_with_any_key(mask), 4) > 0
        context = ops.where(has_key, context, ops.zeros_like(context))
    if not has_heads:
        context = ops.squeeze(context, 1)
    return context


def _static_leading(tensor, trailing):
    """Leading shape of `tensor` (all but `trailing` axes) for a reshape, batch as -1."""
    leading = tensor.shape[: len(tensor.shape) - trailing]
    return tuple(-1 if size is None else size for size in leading)


def _pad_time(tensor, before, after, axis):
    pad_width = [(0, 0)] * len(tensor.shape)
    pad_width[axis] = (before, after)
    return ops.pad(tensor, pad_width)


def _key_chunks(blocks):
    """`(..., n + 2, w, ...)` -> `(..., n, 3w, ...)`: each block with its two neighbours."""
    return ops.concatenate([blocks[:, :-2], blocks[:, 1:-1], blocks[:, 2:]], axis=2)


def _banded_attention(query, key, value, score_fn, query_mask, key_mask, causal, window,
                      dropout_fn):
    """Sliding-window self-attention in blocks: `O(T * window)` time and memory."""
    length = query.shape[-2]
    block = window
    num_blocks = -(-length // block)
    padded = num_blocks * block

    # Put every axis before time into one leading axis, so block slicing is rank-free.
    def to_blocks(tensor, before, after):
        leading = _static_leading(tensor, 2)
        depth = tensor.shape[-1]
        tensor = ops.reshape(tensor, (-1, length, depth))
        tensor = _pad_time(tensor, before, after, axis=1)
        blocks = (tensor.shape[1] if isinstance(tensor.shape[1], int) else -1) // block
        return ops.reshape(tensor, (-1, blocks, block, depth)), leading

    query_blocks, leading = to_blocks(query, 0, padded - length)  # (B', n, w, d)
    key_blocks, _ = to_blocks(key, block, padded - length + block)  # (B', n + 2, w, d)
    value_blocks, _ = to_blocks(value, block, padded - length + block)
    key_chunks = _key_chunks(key_blocks)  # (B', n, 3w, d)
    value_chunks = _key_chunks(value_blocks)

    scores = score_fn(query_blocks, key_chunks)  # (B', n, w, 3w)

    block_index = ops.reshape(_positions(num_blocks), (num_blocks, 1, 1))
    query_positions = block_index * block + ops.reshape(_positions(block), (1, block, 1))
    key_positions = (block_index - 1) * block + ops.reshape(_positions(3 * block), (1, 1, -1))
    in_range = ops.logical_and(key_positions >= 0, key_positions < length)
    positions = combine_masks(
        position_mask(query_positions, key_positions, causal=causal, sliding_window=window),
        in_range,
    )  # (n, w, 3w)
    mask = ops.expand_dims(positions, 0)  # (1, n, w, 3w)

    if query_mask is not None:
        query_mask = _pad_time(ops.cast(query_mask, "bool"), 0, padded - length, axis=1)
        query_mask = ops.reshape(query_mask, (-1, num_blocks, block, 1))
        mask = ops.logical_and(mask, query_mask)
    if key_mask is not None:
        key_mask = _pad_time(ops.cast(key_mask, "bool"), block, padded - length + block, axis=1)
        key_mask = _key_chunks(ops.reshape(key_mask, (-1, num_blocks + 2, block)))
        mask = ops.logical_and(mask, ops.expand_dims(key_mask, 2))  # (batch, n, w, 3w)
    extra = math.prod(leading[1:])  # e.g. heads, folded into the leading axis B'
    if extra > 1 and (query_mask is not None or key_mask is not None):
        # B' runs over (example, head) with the head fastest: repeat each example's mask.
        mask = ops.repeat(mask, extra, axis=0)

    weights = masked_softmax(scores, mask)
    weights = ops.cast(weights, value.dtype)
    if dropout_fn is not None:
        weights = dropout_fn(weights)
    context = ops.matmul(weights, value_chunks)  # (B', n, w, d_v)
    context = ops.reshape(context, (-1, padded, value.shape[-1]))[:, :length]
    return ops.reshape(context, (*leading, length, value.shape[-1]))
