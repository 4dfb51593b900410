"""The Transformer blocks and `SelfAttention`'s output against NumPy, from the equations.

Vaswani et al. 2017: multi-head attention (§3.2.2, eq. 1 per head), the position-wise
feed-forward network (§3.3, eq. 2) and the post-norm residual `LayerNorm(x + Sublayer(x))`
(§5.4); pre-norm `x + Sublayer(LayerNorm(x))` from Xiong et al. 2020 (Figure 1). Every
weight is set to a random value (biases and the normalizations' scale and offset too), so a
sub-layer that is skipped, swapped or wired to the wrong input changes the output.
"""

import keras
import numpy as np
import pytest

import attention_layers as al

RNG = np.random.default_rng(17)
BATCH, T, S, DIM, HEADS, FF = 2, 5, 4, 8, 2, 12
TARGET = RNG.normal(size=(BATCH, T, DIM)).astype("float32")
SOURCE = RNG.normal(size=(BATCH, S, 6)).astype("float32")
# Row 0 has two padded positions, row 1 none.
TARGET_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
SOURCE_MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
EPSILON = 1e-5


def randomize(layer):
    """Random values for every weight: no zero bias, no unit scale left to hide a bug."""
    for variable in layer.weights:
        variable.assign(RNG.normal(scale=0.5, size=variable.shape).astype("float32"))


def numpy_of(variable):
    return keras.ops.convert_to_numpy(variable).astype("float64")


def softmax_rows(scores, mask):
    """Softmax over the last axis where `mask`; rows without a visible key give zeros."""
    scores = np.where(mask, scores, -np.inf)
    top = np.max(np.where(mask, scores, -1e30), axis=-1, keepdims=True)
    exponentials = np.where(mask, np.exp(scores - top), 0.0)
    total = exponentials.sum(-1, keepdims=True)
    return np.divide(exponentials, total, out=np.zeros_like(exponentials), where=total > 0)


def multi_head(attention, query, value, mask):
    """Vaswani et al. 2017, §3.2.2: `Concat(head_1..head_h) W^O`, `head_i` by eq. 1."""
    def project(dense, x):  # (batch, T, d) -> (batch, heads, T, depth)
        return np.einsum("btd,dhk->bhtk", x, numpy_of(dense.kernel)) + numpy_of(dense.bias)[
            None, :, None
        ]

    queries = project(attention._query_dense, query)
    keys = project(attention._key_dense, value)
    values = project(attention._value_dense, value)
    scores = queries @ keys.transpose(0, 1, 3, 2) / np.sqrt(queries.shape[-1])
    weights = softmax_rows(scores, mask[:, None])  # (batch, heads, T_q, T_k)
    context = weights @ values
    output = np.einsum(
        "bhtv,hvd->btd", context, numpy_of(attention._output_dense.kernel)
    ) + numpy_of(attention._output_dense.bias)
    return output, weights


def layer_norm(norm, x):
    mean = x.mean(-1, keepdims=True)
    variance = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPSILON) * numpy_of(norm.gamma) + numpy_of(norm.beta)


def feed_forward(block, x):
    """Eq. 2: `max(0, x W_1 + b_1) W_2 + b_2`."""
    inner, outer = block.feed_forward.layers
    hidden = np.maximum(0.0, x @ numpy_of(inner.kernel) + numpy_of(inner.bias))
    return hidden @ numpy_of(outer.kernel) + numpy_of(outer.bias)


def residual(block, norm, sublayer, x):
    if block.normalize_first:  # Xiong et al. 2020: x + Sublayer(LayerNorm(x))
        output, weights = sublayer(layer_norm(norm, x))
        return x + output, weights
    output, weights = sublayer(x)  # Vaswani et al. 2017, §5.4: LayerNorm(x + Sublayer(x))
    return layer_norm(norm, x + output), weights


def pair_mask(query_mask, key_mask, causal=False):
    mask = query_mask[:, :, None] & key_mask[:, None, :]  # (batch, T_q, T_k)
    if causal:
        mask = mask & np.tril(np.ones(mask.shape[1:], bool))[None]
    return mask


def encoder_reference(block, x, mask):
    x = x.astype("float64")
    x, weights = residual(
        block, block.self_attention_norm,
        lambda h: multi_head(block.self_attention, h, h, pair_mask(mask, mask)), x,
    )
    x, _ = residual(block, block.feed_forward_norm, lambda h: (feed_forward(block, h), None), x)
    return x, weights


def decoder_reference(block, x, context, x_mask, context_mask):
    x, context = x.astype("float64"), context.astype("float64")
    self_mask = pair_mask(x_mask, x_mask, causal=True)
    cross_mask = pair_mask(x_mask, context_mask)
    x, self_weights = residual(
        block, block.self_attention_norm,
        lambda h: multi_head(block.self_attention, h, h, self_mask), x,
    )
    x, cross_weights = residual(
        block, block.cross_attention_norm,
        lambda h: multi_head(block.cross_attention, h, context, cross_mask), x,
    )
    x, _ = residual(block, block.feed_forward_norm, lambda h: (feed_forward(block, h), None), x)
    return x, self_weights, cross_weights


def to_numpy(tensors):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, tensors)


@pytest.mark.parametrize("normalize_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("padded", [False, True], ids=["no_mask", "padding_mask"])
def test_encoder_block_matches_numpy(normalize_first, padded):
    block = al.TransformerEncoderBlock(HEADS, FF, dropout=0.0, normalize_first=normalize_first)
    block.build(TARGET.shape)
    randomize(block)
    mask = TARGET_MASK if padded else np.ones((BATCH, T), bool)
    output, weights = to_numpy(
        block(TARGET, mask=mask if padded else None, return_attention_scores=True)
    )
    expected, expected_weights = encoder_reference(block, TARGET, mask)
    np.testing.assert_allclose(weights, expected_weights, atol=1e-5)
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)
    # Without requested weights the block may run the fused kernel: same values.
    np.testing.assert_allclose(
        to_numpy(block(TARGET, mask=mask if padded else None)), expected, atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("normalize_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("padded", [False, True], ids=["no_mask", "padding_masks"])
def test_decoder_block_matches_numpy(normalize_first, padded):
    block = al.TransformerDecoderBlock(HEADS, FF, dropout=0.0, normalize_first=normalize_first)
    block.build(TARGET.shape, SOURCE.shape)
    randomize(block)
    target_mask = TARGET_MASK if padded else np.ones((BATCH, T), bool)
    source_mask = SOURCE_MASK if padded else np.ones((BATCH, S), bool)
    masks = {"inputs_mask": target_mask, "context_mask": source_mask} if padded else {}
    output, weights = to_numpy(block(TARGET, SOURCE, return_attention_scores=True, **masks))
    expected, self_weights, cross_weights = decoder_reference(
        block, TARGET, SOURCE, target_mask, source_mask
    )
    np.testing.assert_allclose(weights["self_attention"], self_weights, atol=1e-5)
    np.testing.assert_allclose(weights["cross_attention"], cross_weights, atol=1e-5)
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(block(TARGET, SOURCE, **masks)), expected, atol=1e-5, rtol=1e-5
    )


def test_decoder_block_is_causal():
    """Changing a later target position leaves every earlier output unchanged."""
    block = al.TransformerDecoderBlock(HEADS, FF, dropout=0.0)
    block.build(TARGET.shape, SOURCE.shape)
    randomize(block)
    changed = TARGET.copy()
    changed[:, 3:] += 1.0
    before, after = to_numpy(block(TARGET, SOURCE)), to_numpy(block(changed, SOURCE))
    np.testing.assert_allclose(after[:, :3], before[:, :3], atol=1e-6)
    assert np.abs(after[:, 3:] - before[:, 3:]).max() > 1e-2


@pytest.mark.parametrize("padded", [False, True], ids=["no_mask", "padding_mask"])
def test_self_attention_output_matches_numpy(padded):
    """`SelfAttention`: `softmax(x W^Q (x W^K)^T / sqrt(units)) x W^V W^O`, with biases."""
    layer = al.SelfAttention(units=3)
    layer.build(TARGET.shape)
    randomize(layer)
    mask = TARGET_MASK if padded else np.ones((BATCH, T), bool)
    output, weights = to_numpy(
        layer(TARGET, query_mask=mask if padded else None, return_attention_scores=True)
    )
    expected, expected_weights = multi_head(layer, TARGET.astype("float64"),
                                            TARGET.astype("float64"), pair_mask(mask, mask))
    np.testing.assert_allclose(weights, expected_weights[:, 0], atol=1e-5)
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        to_numpy(layer(TARGET, query_mask=mask if padded else None)), expected, atol=1e-5,
        rtol=1e-5,
    )
