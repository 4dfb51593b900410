"""Every layer of the family through the common checks (`layer_checks.run_layer_test`)."""

import keras
import numpy as np
import pytest

import attention_layers as al
from tests.layers.layer_checks import check_training_step, run_layer_test

RNG = np.random.default_rng(0)
BATCH, T_Q, T_K, DIM = 2, 4, 6, 8
QUERY = RNG.normal(size=(BATCH, T_Q, DIM)).astype("float32")
VALUE = RNG.normal(size=(BATCH, T_K, DIM)).astype("float32")
VALUE_WIDE = RNG.normal(size=(BATCH, T_K, 12)).astype("float32")
SEQUENCE = RNG.normal(size=(BATCH, T_K, DIM)).astype("float32")
IMAGE = RNG.normal(size=(BATCH, 3, 5, 10)).astype("float32")

# name: (factory, inputs, call kwargs, output shape, weights shape, masks reach the output)
CASES = {
    "scaled_dot_product": (
        lambda **kw: al.ScaledDotProductAttention(**kw), (QUERY, VALUE), {},
        (BATCH, T_Q, DIM), (BATCH, T_Q, T_K), True,
    ),
    "self_attention": (
        lambda **kw: al.SelfAttention(units=6, **kw), (SEQUENCE,), {},
        (BATCH, T_K, DIM), (BATCH, T_K, T_K), True,
    ),
    "multi_head": (
        lambda **kw: al.MultiHeadAttention(num_heads=2, key_dim=3, **kw), (QUERY, VALUE_WIDE),
        {}, (BATCH, T_Q, DIM), (BATCH, 2, T_Q, T_K), True,
    ),
    "multi_head_output_shape": (
        lambda **kw: al.MultiHeadAttention(2, 3, value_dim=5, output_shape=7, **kw),
        (QUERY, VALUE), {"use_causal_mask": True}, (BATCH, T_Q, 7), (BATCH, 2, T_Q, T_K), True,
    ),
    "additive": (
        lambda **kw: al.AdditiveAttention(units=5, **kw), (QUERY, VALUE_WIDE), {},
        (BATCH, T_Q, 12), (BATCH, T_Q, T_K), True,
    ),
    "luong_dot": (
        lambda **kw: al.LuongAttention("dot", **kw), (QUERY, VALUE), {},
        (BATCH, T_Q, DIM), (BATCH, T_Q, T_K), True,
    ),
    "luong_general": (
        lambda **kw: al.LuongAttention("general", **kw), (QUERY, VALUE_WIDE), {},
        (BATCH, T_Q, 12), (BATCH, T_Q, T_K), True,
    ),
    "luong_concat": (
        lambda **kw: al.LuongAttention("concat", units=5, **kw), (QUERY, VALUE_WIDE), {},
        (BATCH, T_Q, 12), (BATCH, T_Q, T_K), True,
    ),
    "location": (
        lambda **kw: al.LocationAttention(max_length=10, **kw), (QUERY, VALUE), {},
        (BATCH, T_Q, DIM), (BATCH, T_Q, T_K), True,
    ),
    "location_sensitive": (
        lambda **kw: al.LocationSensitiveAttention(units=5, filters=3, kernel_size=3, **kw),
        (QUERY, VALUE_WIDE), {}, (BATCH, T_Q, 12), (BATCH, T_Q, T_K), True,
    ),
    "spatial": (
        lambda **kw: al.SpatialAttention(units=4, **kw), (QUERY, IMAGE), {},
        (BATCH, T_Q, 10), (BATCH, T_Q, 3, 5), False,
    ),
    "attention_pooling": (
        lambda **kw: al.AttentionPooling(units=5, **kw), (SEQUENCE,), {},
        (BATCH, DIM), (BATCH, T_K), False,
    ),
    "attention_pooling_heads": (
        lambda **kw: al.AttentionPooling(units=5, heads=3, **kw), (SEQUENCE,), {},
        (BATCH, 3, DIM), (BATCH, 3, T_K), False,
    ),
}

# Without a previous alignment (the first decoding step) the location features convolve
# zeros: the convolution F and the projection U of its features get no gradient, exactly.
ZERO_GRADIENTS = {"location_sensitive": ("F/kernel", "U/kernel")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_attention_layer(name, tmp_path):
    factory, inputs, kwargs, output_shape, weights_shape, masks = CASES[name]
    run_layer_test(
        factory, inputs, kwargs, output_shape, weights_shape, supports_masks=masks,
        tmp_path=tmp_path, zero_gradient_weights=ZERO_GRADIENTS.get(name, ()),
    )


class _WithAlignment(keras.layers.Layer):
    """Location-sensitive attention given a previous alignment as its third input."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = al.LocationSensitiveAttention(units=5, filters=3, kernel_size=3)

    def call(self, query, value, alignment):
        return self.attention(query, value, previous_alignment=alignment)


def test_location_sensitive_attention_trains_its_location_features():
    """With a previous alignment, F and U (zero above) get a gradient too."""
    alignment = RNG.dirichlet(np.ones(T_K), size=BATCH).astype("float32")  # (batch, T_k)
    check_training_step(_WithAlignment, (QUERY, VALUE_WIDE, alignment))


@pytest.mark.parametrize("name", ["multi_head", "additive", "luong_general", "self_attention"])
def test_attention_dropout_only_in_training(name, tmp_path):
    factory, inputs, kwargs, output_shape, weights_shape, masks = CASES[name]
    run_layer_test(
        lambda: factory(dropout=0.5, seed=3), inputs, kwargs, output_shape, weights_shape,
        supports_masks=masks, has_dropout=True, tmp_path=tmp_path,
        training_step=False,  # test_attention_layer trains the same layer
    )


BLOCKS = {
    "sinusoidal": (lambda: al.SinusoidalPositionalEncoding(), (SEQUENCE,), (BATCH, T_K, DIM), False),
    "position_embedding": (lambda: al.PositionEmbedding(max_length=10), (SEQUENCE,), (BATCH, T_K, DIM), False),
    "encoder_block": (
        lambda: al.TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.3),
        (SEQUENCE,), (BATCH, T_K, DIM), True,
    ),
    "encoder_block_pre_norm_local": (
        lambda: al.TransformerEncoderBlock(
            num_heads=2, intermediate_dim=16, normalize_first=True, sliding_window=2, dropout=0.0
        ),
        (SEQUENCE,), (BATCH, T_K, DIM), False,
    ),
    "decoder_block": (
        lambda: al.TransformerDecoderBlock(num_heads=2, intermediate_dim=16, dropout=0.3),
        (QUERY, VALUE_WIDE), (BATCH, T_Q, DIM), True,
    ),
    "decoder_block_pre_norm_initializers": (
        lambda: al.TransformerDecoderBlock(
            num_heads=2, intermediate_dim=16, normalize_first=True, layer_norm_epsilon=1e-3,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.2, seed=1),
            bias_initializer="zeros", dropout=0.0,
        ),
        (QUERY, VALUE_WIDE), (BATCH, T_Q, DIM), False,
    ),
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_blocks_and_positions(name, tmp_path):
    factory, inputs, output_shape, has_dropout = BLOCKS[name]
    run_layer_test(
        factory, inputs, expected_output_shape=output_shape, has_dropout=has_dropout,
        tmp_path=tmp_path,
    )


def test_block_weights():
    _, weights = al.TransformerEncoderBlock(2, 16)(SEQUENCE, return_attention_scores=True)
    assert tuple(weights.shape) == (BATCH, 2, T_K, T_K)
    _, weights = al.TransformerDecoderBlock(2, 16)(QUERY, VALUE, return_attention_scores=True)
    assert tuple(weights["self_attention"].shape) == (BATCH, 2, T_Q, T_Q)
    assert tuple(weights["cross_attention"].shape) == (BATCH, 2, T_Q, T_K)
    causal = np.asarray(weights["self_attention"])
    assert np.all(causal[..., np.triu_indices(T_Q, 1)[0], np.triu_indices(T_Q, 1)[1]] == 0)
