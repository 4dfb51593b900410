"""A new attention type costs one small class: its score. The base class does the rest."""

import keras
import numpy as np
import pytest
from keras import ops

import attention_layers as al
from tests.layers.layer_checks import run_layer_test
from tests.layers.test_layer_family import BATCH, QUERY, T_K, T_Q, VALUE_WIDE


# --- the whole new attention type: 15 lines ------------------------------------------
@keras.saving.register_keras_serializable(package="tests")
class CosineAttention(al.BaseAttention):
    """`score = g * cos(query, key)`, with a learned sharpness `g` (Graves et al. 2014, eq. 6)."""

    def build(self, query_shape, value_shape, key_shape=None):
        super().build(query_shape, value_shape, key_shape)
        self.sharpness = self.add_weight(
            name="sharpness", shape=(), initializer=keras.initializers.Constant(4.0)
        )

    def _calculate_scores(self, query, key, key_bonus=None):
        query, key = ops.normalize(query, axis=-1), ops.normalize(key, axis=-1)
        scores = ops.cast(self.sharpness, query.dtype) * ops.matmul(query, ops.swapaxes(key, -1, -2))
        return scores if key_bonus is None else scores + key_bonus  # a per-call score input
# --------------------------------------------------------------------------------------


KEY = np.random.default_rng(5).normal(size=(BATCH, T_K, QUERY.shape[-1])).astype("float32")


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_cosine_attention_passes_the_common_layer_checks(dropout, tmp_path):
    run_layer_test(
        lambda: CosineAttention(dropout=dropout, seed=1), (QUERY, VALUE_WIDE, KEY),
        expected_output_shape=(BATCH, T_Q, 12), expected_weights_shape=(BATCH, T_Q, T_K),
        has_dropout=dropout > 0, tmp_path=tmp_path,
    )


def _expected_weights(query, key, bonus=0.0, sharpness=4.0):
    cosine = np.einsum(
        "bqd,bkd->bqk",
        query / np.linalg.norm(query, axis=-1, keepdims=True),
        key / np.linalg.norm(key, axis=-1, keepdims=True),
    )
    logits = sharpness * cosine + bonus
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def test_cosine_scores_masks_and_score_inputs_reach_the_mechanism():
    layer = CosineAttention()
    context, weights = layer(QUERY, VALUE_WIDE, key=KEY, return_attention_scores=True)
    expected = _expected_weights(QUERY, KEY)
    np.testing.assert_allclose(ops.convert_to_numpy(weights), expected, atol=1e-5)
    np.testing.assert_allclose(
        ops.convert_to_numpy(context), expected @ VALUE_WIDE, atol=1e-4
    )

    # A per-call score input arrives as a keyword argument, `(batch, T_k)` broadcast over
    # the queries.
    bonus = np.zeros((BATCH, T_K), "float32")
    bonus[:, 0] = 3.0
    _, weights = layer(QUERY, VALUE_WIDE, key=KEY, key_bonus=bonus, return_attention_scores=True)
    np.testing.assert_allclose(
        ops.convert_to_numpy(weights), _expected_weights(QUERY, KEY, bonus[:, None]), atol=1e-5
    )

    # Masks, causality and the checks come from the base class.
    mask = np.ones((BATCH, T_K), bool)
    mask[0, 1:] = False
    _, weights = layer(QUERY, VALUE_WIDE, key=KEY, value_mask=mask, use_causal_mask=True,
                       return_attention_scores=True)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights[0, :, 0], 1.0, atol=1e-6)
    assert np.all(np.triu(weights[1], 1) == 0)
    with pytest.raises(ValueError, match=r"`key_bonus` must have shape \(batch, T_k\)"):
        layer(QUERY, VALUE_WIDE, key_bonus=np.zeros((BATCH, T_K + 1), "float32"))
    with pytest.raises(ValueError, match=r"`bonus` is not a call argument of CosineAttention"):
        layer(QUERY, VALUE_WIDE, bonus=bonus)
