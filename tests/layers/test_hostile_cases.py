"""Regression tests for the layer cases of the hostile test (issue 16, cases 10-12)."""

import keras
import numpy as np
import pytest

import attention_layers as al


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


# Case 10: float16 logits overflow in a fused kernel's float16 softmax (inf - inf = NaN).
@pytest.mark.parametrize("policy", ["float16", "mixed_float16"])
@pytest.mark.parametrize("magnitude", [100.0, 10_000.0])
@pytest.mark.parametrize(
    "make_layer",
    [lambda **kw: al.ScaledDotProductAttention(**kw), lambda **kw: al.MultiHeadAttention(2, 4, **kw)],
    ids=["scaled_dot_product", "multi_head"],
)
def test_float16_without_weights_is_finite_and_matches_with_weights(make_layer, policy, magnitude):
    x = (np.random.default_rng(0).normal(size=(2, 5, 8)) * magnitude).astype("float32")
    layer = make_layer(dtype=policy)
    fast = to_numpy(layer(x, x)).astype("float32")
    explicit, weights = layer(x, x, return_attention_scores=True)
    assert np.all(np.isfinite(fast)) and np.all(np.isfinite(to_numpy(weights)))
    if magnitude > 100:
        # Logits of 1e8 overflow float16: each path saturates in its own way (a GPU's fused
        # kernel is not the CPU's), so only finiteness, the bug of case 10, is a contract.
        return
    # rtol 1e-2: float16 keeps 3 significant digits (eps 1e-3), and the two paths round the
    # softmax and the weighted sum in different orders; values are of order `magnitude`.
    np.testing.assert_allclose(fast, to_numpy(explicit).astype("float32"), rtol=1e-2, atol=1e-2)


# Case 11: empty batches and lengths give empty (or zero) results, as in the other layers.
QUERY = np.ones((2, 3, 8), "float32")
EMPTY_BATCH = np.ones((0, 3, 8), "float32")
NO_STEPS = np.ones((2, 0, 8), "float32")


def _location_sensitive():
    return al.LocationSensitiveAttention(4, filters=2, kernel_size=3)


@pytest.mark.parametrize(
    "query, value, alignment, context_shape, weights_shape",
    [
        (EMPTY_BATCH, EMPTY_BATCH, None, (0, 3, 8), (0, 3, 3)),
        (EMPTY_BATCH, EMPTY_BATCH, np.zeros((0, 3)), (0, 3, 8), (0, 3, 3)),
        (QUERY, NO_STEPS, None, (2, 3, 8), (2, 3, 0)),
        (QUERY, NO_STEPS, np.zeros((2, 0)), (2, 3, 8), (2, 3, 0)),
        (NO_STEPS, QUERY, np.zeros((2, 0, 3)), (2, 0, 8), (2, 0, 3)),
    ],
)
def test_location_sensitive_with_nothing_to_attend(
    query, value, alignment, context_shape, weights_shape
):
    context, weights = _location_sensitive()(
        query, value, previous_alignment=alignment, return_attention_scores=True
    )
    assert tuple(context.shape) == context_shape and tuple(weights.shape) == weights_shape
    assert np.all(to_numpy(context) == 0) or 0 in context_shape


def test_location_sensitive_features_do_not_depend_on_the_padding_trick():
    # The extra zero row and position added around the convolution must not change it.
    layer = _location_sensitive()
    rng = np.random.default_rng(2)
    query, value = rng.normal(size=(2, 3, 8)), rng.normal(size=(2, 5, 8))
    alignment = rng.random((2, 3, 5)).astype("float32")
    layer(query, value, previous_alignment=alignment)
    features = to_numpy(layer._location_features(keras.ops.convert_to_tensor(alignment)))
    direct = to_numpy(
        layer.location_projection(layer.location_convolution(alignment.reshape(6, 5, 1)))
    ).reshape(2, 3, 5, 4)
    np.testing.assert_allclose(features, direct, atol=1e-6)


@pytest.mark.parametrize("inputs", [NO_STEPS, EMPTY_BATCH])
def test_attention_pooling_of_nothing(inputs):
    pooled, weights = al.AttentionPooling(4)(inputs, return_attention_scores=True)
    assert tuple(pooled.shape) == (inputs.shape[0], 8)
    assert tuple(weights.shape) == inputs.shape[:2]
    assert np.all(to_numpy(pooled) == 0)


# Case 12: different batch sizes are reported by name, not by an Einsum deep inside.
@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: al.AdditiveAttention(4),
        lambda: al.MultiHeadAttention(2, 4),
        lambda: al.ScaledDotProductAttention(),
        lambda: al.LuongAttention("general"),
        lambda: _location_sensitive(),
    ],
)
def test_query_and_value_with_different_batch_sizes(make_layer):
    with pytest.raises(ValueError, match=r"`value` has shape \(3, 3, 8\).*batch size of `query` \(2\)"):
        make_layer()(QUERY, np.ones((3, 3, 8), "float32"))
    with pytest.raises(ValueError, match=r"`key` has shape \(3, 3, 8\).*batch size of `query` \(2\)"):
        make_layer()(QUERY, QUERY, np.ones((3, 3, 8), "float32"))
