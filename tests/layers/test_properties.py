"""Properties that hold for any input (hypothesis), and agreement between equivalent paths."""

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attention_layers as al

SETTINGS = settings(max_examples=25, deadline=None)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@st.composite
def attention_inputs(draw):
    batch = draw(st.integers(1, 3))
    query_length = draw(st.integers(1, 6))
    key_length = draw(st.integers(1, 7))
    depth = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    query = rng.normal(size=(batch, query_length, depth)).astype("float32") * 3
    key = rng.normal(size=(batch, key_length, depth)).astype("float32") * 3
    value = rng.normal(size=(batch, key_length, 3)).astype("float32")
    key_mask = rng.random((batch, key_length)) < 0.7
    return query, key, value, key_mask


@SETTINGS
@given(attention_inputs())
def test_weights_sum_to_one_and_masked_keys_get_zero(inputs):
    query, key, value, key_mask = inputs
    context, weights = al.scaled_dot_product_attention(
        query, key, value, key_mask=key_mask, return_attention_scores=True
    )
    weights, context = to_numpy(weights), to_numpy(context)
    has_key = key_mask.any(-1)
    assert np.all(weights[~np.broadcast_to(key_mask[:, None], weights.shape)] == 0)
    sums = weights.sum(-1)
    np.testing.assert_allclose(sums[has_key], 1.0, atol=1e-5)
    # A row with no visible key: zero weights, zero context, never NaN.
    assert np.all(sums[~has_key] == 0) and np.all(context[~has_key] == 0)
    assert np.all(np.isfinite(context))


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: al.MultiHeadAttention(2, 3),
        lambda: al.AdditiveAttention(4),
        lambda: al.LuongAttention("general"),
        lambda: al.SelfAttention(4),
    ],
)
def test_fully_masked_rows_are_zero_for_every_layer(make_layer):
    rng = np.random.default_rng(1)
    query = rng.normal(size=(2, 3, 6)).astype("float32")
    value = rng.normal(size=(2, 4, 6)).astype("float32")
    mask = np.ones((2, 4), bool)
    mask[1] = False
    _, weights = make_layer()(query, value, value_mask=mask, return_attention_scores=True)
    weights = to_numpy(weights)
    assert np.all(np.isfinite(weights)) and np.all(weights[1] == 0)


@SETTINGS
@given(st.integers(2, 8), st.integers(0, 2**16))
def test_causal_output_ignores_the_future(length, seed):
    rng = np.random.default_rng(seed)
    layer = al.MultiHeadAttention(2, 4)
    sequence = rng.normal(size=(1, length, 8)).astype("float32")
    cut = int(rng.integers(1, length))
    changed = sequence.copy()
    changed[:, cut:] = rng.normal(size=changed[:, cut:].shape)
    before = to_numpy(layer(sequence, sequence, use_causal_mask=True))
    after = to_numpy(layer(changed, changed, use_causal_mask=True))
    np.testing.assert_allclose(before[:, :cut], after[:, :cut], atol=1e-5)
    assert not np.allclose(before[:, cut:], after[:, cut:])


@SETTINGS
@given(st.integers(2, 7), st.integers(0, 2**16))
def test_self_attention_without_positions_is_permutation_equivariant(length, seed):
    rng = np.random.default_rng(seed)
    sequence = rng.normal(size=(1, length, 6)).astype("float32")
    permutation = rng.permutation(length)
    layer = al.SelfAttention(units=4)
    output = to_numpy(layer(sequence))
    permuted = to_numpy(layer(sequence[:, permutation]))
    np.testing.assert_allclose(permuted, output[:, permutation], atol=1e-5)
    # Positional encodings break the symmetry.
    encode = al.SinusoidalPositionalEncoding()
    with_positions = to_numpy(layer(encode(sequence)))[:, permutation]
    if not np.array_equal(permutation, np.arange(length)):
        assert not np.allclose(to_numpy(layer(encode(sequence[:, permutation]))), with_positions)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_equals_keras(masked, causal):
    rng = np.random.default_rng(3)
    query = rng.normal(size=(3, 5, 16)).astype("float32")
    value = rng.normal(size=(3, 7, 12)).astype("float32")
    if causal:
        value = rng.normal(size=(3, 5, 12)).astype("float32")
    value_mask = np.ones(value.shape[:2], bool)
    if masked:
        value_mask[1, 3:] = False
        value_mask[2, 1:] = False
    reference = keras.layers.MultiHeadAttention(num_heads=4, key_dim=6, value_dim=5, output_shape=9)
    ours = al.MultiHeadAttention(num_heads=4, key_dim=6, value_dim=5, output_shape=9)
    reference(query, value, return_attention_scores=True)  # builds it
    ours(query, value)
    ours.set_weights(reference.get_weights())
    kwargs = {"use_causal_mask": causal}
    if masked:
        kwargs["value_mask"] = value_mask
    # Keras' explicit path (weights requested) is the reference for both of our paths;
    # its own fused path fails on JAX when value_dim != key_dim.
    expected_output, expected_weights = reference(
        query, value, return_attention_scores=True, **kwargs
    )
    output, weights = ours(query, value, return_attention_scores=True, **kwargs)
    fused_output = ours(query, value, **kwargs)
    for expected, got in (
        (expected_output, output),
        (expected_weights, weights),
        (expected_output, fused_output),
    ):
        assert np.max(np.abs(to_numpy(expected) - to_numpy(got))) <= 1e-5


def test_fused_path_equals_explicit_path():
    rng = np.random.default_rng(4)
    layer = al.MultiHeadAttention(num_heads=2, key_dim=4)
    query = rng.normal(size=(2, 6, 8)).astype("float32")
    mask = np.ones((2, 6), bool)
    mask[0, 4:] = False
    for kwargs in ({}, {"use_causal_mask": True}, {"query_mask": mask, "value_mask": mask}):
        fused = to_numpy(layer(query, query, **kwargs))
        explicit, _ = layer(query, query, return_attention_scores=True, **kwargs)
        np.testing.assert_allclose(fused, to_numpy(explicit), atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_banded_sliding_window_equals_dense(causal):
    rng = np.random.default_rng(5)
    layer = al.MultiHeadAttention(num_heads=2, key_dim=4, sliding_window=3)
    sequence = rng.normal(size=(2, 23, 8)).astype("float32")  # 23 > 3 * 3: banded path
    mask = np.ones((2, 23), bool)
    mask[1, 17:] = False
    kwargs = {"query_mask": mask, "value_mask": mask, "use_causal_mask": causal}
    banded = to_numpy(layer(sequence, sequence, **kwargs))
    dense, weights = layer(sequence, sequence, return_attention_scores=True, **kwargs)
    np.testing.assert_allclose(banded, to_numpy(dense), atol=1e-5)
    i, j = np.indices((23, 23))
    assert np.all(to_numpy(weights)[..., np.abs(i - j) > 3] == 0)


def test_mixed_float16_stays_finite_near_the_float16_limit():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = al.ScaledDotProductAttention(scale=1.0)
        # Logits up to 6e4, close to float16's 65504.
        query = np.full((1, 2, 1), 245.0, "float32")
        key = np.array([[[245.0], [-245.0], [244.0]]], "float32")
        value = np.arange(3, dtype="float32").reshape(1, 3, 1)
        context, weights = layer(query, value, key, return_attention_scores=True)
        weights = to_numpy(weights).astype("float32")
        assert layer.compute_dtype == "float16"
        assert np.all(np.isfinite(weights)) and np.all(np.isfinite(to_numpy(context)))
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-3)
        assert weights[0, 0, 0] > 0.99  # the largest logit wins
        fused = to_numpy(layer(query, value, key)).astype("float32")  # no weights: fused
        np.testing.assert_allclose(fused, to_numpy(context).astype("float32"), atol=1e-2)
        # Products beyond float16's range overflow to inf; the softmax still gives no NaN.
        huge = np.full((1, 2, 1), 300.0, "float32")
        _, weights = layer(huge, value, -key, return_attention_scores=True)
        assert np.all(np.isfinite(to_numpy(weights).astype("float32")))
    finally:
        keras.config.set_dtype_policy("float32")
