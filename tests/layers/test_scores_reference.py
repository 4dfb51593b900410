"""Each score against a NumPy implementation of its paper's equation."""

import keras
import numpy as np
import pytest

import attention_layers as al

RNG = np.random.default_rng(7)
QUERY = RNG.normal(size=(2, 3, 4)).astype("float32")
VALUE = RNG.normal(size=(2, 5, 6)).astype("float32")
KEY4 = RNG.normal(size=(2, 5, 4)).astype("float32")


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def weights_of(layer, query, value, key=None, **kwargs):
    context, weights = layer(query, value, key, return_attention_scores=True, **kwargs)
    return keras.ops.convert_to_numpy(context), keras.ops.convert_to_numpy(weights)


def kernel(layer_part):
    return keras.ops.convert_to_numpy(layer_part.kernel)


def test_scaled_dot_product_matches_eq1():
    expected_weights = softmax(QUERY @ KEY4.transpose(0, 2, 1) / np.sqrt(4))
    context, weights = al.scaled_dot_product_attention(
        QUERY, KEY4, VALUE, return_attention_scores=True
    )
    np.testing.assert_allclose(weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(context, expected_weights @ VALUE, atol=1e-5)
    layer_context, layer_weights = weights_of(al.ScaledDotProductAttention(), QUERY, VALUE, KEY4)
    np.testing.assert_allclose(layer_weights, expected_weights, atol=1e-6)
    np.testing.assert_allclose(layer_context, expected_weights @ VALUE, atol=1e-5)


def test_additive_matches_bahdanau_eq6():
    layer = al.AdditiveAttention(units=7)
    context, weights = weights_of(layer, QUERY, VALUE)
    w_q, w_k = kernel(layer.query_projection), kernel(layer.key_projection)
    bias = keras.ops.convert_to_numpy(layer.key_projection.bias)
    v = kernel(layer.score_vector)[:, 0]
    hidden = np.tanh((QUERY @ w_q)[:, :, None, :] + (VALUE @ w_k + bias)[:, None, :, :])
    expected = softmax(hidden @ v)
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    np.testing.assert_allclose(context, expected @ VALUE, atol=1e-5)


def test_luong_dot_general_concat_match_eq8():
    value4 = VALUE[..., :4]
    _, weights = weights_of(al.LuongAttention("dot"), QUERY, value4)
    np.testing.assert_allclose(weights, softmax(QUERY @ value4.transpose(0, 2, 1)), atol=1e-5)

    general = al.LuongAttention("general")
    _, weights = weights_of(general, QUERY, VALUE)
    w_a = kernel(general.key_projection)  # (d_v, d_q): h_t^T W_a h_s == q . (h_s W)
    expected = softmax(np.einsum("bqd,bkd->bqk", QUERY, VALUE @ w_a))
    np.testing.assert_allclose(weights, expected, atol=1e-5)

    concat = al.LuongAttention("concat", units=3)
    _, weights = weights_of(concat, QUERY, VALUE)
    w_a = np.concatenate([kernel(concat.query_projection), kernel(concat.key_projection)], 0)
    v_a = kernel(concat.score_vector)[:, 0]
    pairs = np.concatenate(
        [np.broadcast_to(QUERY[:, :, None], (2, 3, 5, 4)), np.broadcast_to(VALUE[:, None], (2, 3, 5, 6))],
        -1,
    )  # [h_t; h_s]
    np.testing.assert_allclose(weights, softmax(np.tanh(pairs @ w_a) @ v_a), atol=1e-5)


def test_location_matches_eq9_and_ignores_source_content():
    layer = al.LocationAttention(max_length=8)
    context, weights = weights_of(layer, QUERY, VALUE)
    w_a = kernel(layer.location_projection)
    bias = keras.ops.convert_to_numpy(layer.location_projection.bias)
    expected = softmax((QUERY @ w_a + bias)[..., :5])
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    _, shuffled = weights_of(layer, QUERY, VALUE[:, ::-1])
    np.testing.assert_allclose(shuffled, weights, atol=1e-6)
    # Masked to the real source length: renormalized over the first 3 positions.
    mask = np.array([[1, 1, 1, 0, 0]] * 2, bool)
    _, masked = weights_of(layer, QUERY, VALUE, value_mask=mask)
    np.testing.assert_allclose(masked[..., :3], softmax((QUERY @ w_a + bias)[..., :3]), atol=1e-5)
    assert np.all(masked[..., 3:] == 0)


def test_location_sensitive_matches_chorowski_eq8_9():
    layer = al.LocationSensitiveAttention(units=3, filters=2, kernel_size=3)
    previous = softmax(RNG.normal(size=(2, 5)).astype("float32"))
    _, weights = weights_of(layer, QUERY, VALUE, previous_alignment=previous)
    conv = kernel(layer.location_convolution)  # (3, 1, filters)
    padded = np.pad(previous, ((0, 0), (1, 1)))
    features = np.stack(
        [sum(padded[:, j + t] * conv[t, 0, f] for t in range(3)) for j in range(5) for f in range(2)],
        -1,
    ).reshape(2, 5, 2)  # (batch, T_k, filters)
    location = features @ kernel(layer.location_projection)  # (batch, T_k, units)
    hidden = np.tanh(
        (QUERY @ kernel(layer.query_projection))[:, :, None]
        + (VALUE @ kernel(layer.key_projection) + keras.ops.convert_to_numpy(layer.key_projection.bias))[:, None]
        + location[:, None]
    )
    expected = softmax(hidden @ kernel(layer.score_vector)[:, 0])
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    # The previous alignment changes the weights; a cumulative layer carries the sum.
    _, fresh = weights_of(layer, QUERY, VALUE)
    assert not np.allclose(fresh, weights)
    cumulative = al.LocationSensitiveAttention(units=3, cumulative=True)
    np.testing.assert_allclose(cumulative.next_alignment(previous, previous), 2 * previous)
    assert layer.next_alignment(previous, previous * 0.5) is not previous


def test_spatial_matches_xu_eq4_5_13():
    image = RNG.normal(size=(2, 2, 3, 6)).astype("float32")
    layer = al.SpatialAttention(units=4)
    context, weights = weights_of(layer, QUERY, image)
    regions = image.reshape(2, 6, 6)
    hidden = np.tanh(
        (QUERY @ kernel(layer.query_projection))[:, :, None]
        + (regions @ kernel(layer.key_projection) + keras.ops.convert_to_numpy(layer.key_projection.bias))[:, None]
    )
    expected = softmax(hidden @ kernel(layer.score_vector)[:, 0])  # (2, 3, 6)
    np.testing.assert_allclose(weights, expected.reshape(2, 3, 2, 3), atol=1e-5)
    np.testing.assert_allclose(context, expected @ regions, atol=1e-5)


def test_spatial_penalty_is_xu_eq14():
    image = RNG.normal(size=(2, 2, 2, 3)).astype("float32")
    layer = al.SpatialAttention(units=4, penalty_weight=0.5)
    _, weights = layer(QUERY, image, return_attention_scores=True)
    coverage = keras.ops.convert_to_numpy(weights).reshape(2, 3, 4).sum(1)
    expected = 0.5 * np.mean(np.sum((1 - coverage) ** 2, -1))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.losses[0]), expected, rtol=1e-5)


def test_attention_pooling_matches_yang_eq5_7():
    sequence = RNG.normal(size=(2, 5, 6)).astype("float32")
    layer = al.AttentionPooling(units=3)
    pooled, weights = layer(sequence, return_attention_scores=True)
    hidden = np.tanh(sequence @ kernel(layer.key_projection) + keras.ops.convert_to_numpy(layer.key_projection.bias))
    expected = softmax(hidden @ keras.ops.convert_to_numpy(layer.context_query))
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    np.testing.assert_allclose(pooled, np.einsum("bt,btd->bd", expected, sequence), atol=1e-5)


def test_attention_pooling_heads_match_lin_eq5_6():
    # Lin et al. 2017: A = softmax(W_s2 tanh(W_s1 H^T)) over the words, M = A H; one
    # projection shared by the hops, one query (a row of W_s2) each.
    sequence = RNG.normal(size=(2, 5, 6)).astype("float32")
    values = RNG.normal(size=(2, 5, 4)).astype("float32")
    mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    layer = al.AttentionPooling(units=3, heads=2)
    pooled, weights = layer(sequence, values=values, mask=mask, return_attention_scores=True)
    hidden = np.tanh(sequence @ kernel(layer.key_projection) + keras.ops.convert_to_numpy(layer.key_projection.bias))
    scores = np.einsum("btu,hu->bht", hidden, keras.ops.convert_to_numpy(layer.context_query))
    expected = softmax(np.where(mask[:, None, :], scores, -np.inf))
    np.testing.assert_allclose(weights, expected, atol=1e-5)
    np.testing.assert_allclose(pooled, np.einsum("bht,btd->bhd", expected, values), atol=1e-5)
    assert not np.allclose(expected[:, 0], expected[:, 1])  # each hop its own average


def test_self_attention_matches_projections():
    sequence = RNG.normal(size=(2, 5, 6)).astype("float32")
    layer = al.SelfAttention(units=4)
    output, weights = layer(sequence, return_attention_scores=True)
    q = np.einsum("btd,dhk->bhtk", sequence, kernel(layer._query_dense))[:, 0]
    k = np.einsum("btd,dhk->bhtk", sequence, kernel(layer._key_dense))[:, 0]
    expected = softmax(q @ k.transpose(0, 2, 1) / 2.0)  # biases start at zero
    np.testing.assert_allclose(weights, expected, atol=1e-5)


def test_sinusoidal_encoding_matches_section_3_5():
    zeros = np.zeros((1, 7, 6), "float32")
    encoding = keras.ops.convert_to_numpy(al.SinusoidalPositionalEncoding()(zeros))[0]
    positions, dims = np.arange(7)[:, None], np.arange(6)[None]
    angles = positions / np.power(10000.0, (dims // 2 * 2) / 6)
    expected = np.where(dims % 2 == 0, np.sin(angles), np.cos(angles))
    np.testing.assert_allclose(encoding, expected, atol=1e-5)


@pytest.mark.parametrize("window", [1, 3])
def test_sliding_window_and_causal_masks(window):
    length = 7
    _, weights = al.scaled_dot_product_attention(
        QUERY[:, :1].repeat(length, 1), KEY4[:, :1].repeat(length, 1),
        VALUE[:, :1].repeat(length, 1), sliding_window=window, use_causal_mask=True,
        return_attention_scores=True,
    )
    weights = keras.ops.convert_to_numpy(weights)
    i, j = np.indices((length, length))
    allowed = (j <= i) & (i - j <= window)
    assert np.all(weights[:, ~allowed] == 0)
    # Identical keys: uniform weights over the allowed window.
    np.testing.assert_allclose(weights[0], allowed / allowed.sum(-1, keepdims=True), atol=1e-6)
