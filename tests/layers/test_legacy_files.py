"""`.keras` files written before the Transformer blocks took keras-hub's names still load.

The files in `tests/layers/data/` were written by main at commit 01c0949 (see the README
there): their configs say `feed_forward_dim`, `norm_first` and `epsilon`. Each loads with
safe mode on after `import attention_layers` and gives the outputs recorded when it was
written; the blocks' configs then use the new names.
"""

from pathlib import Path

import keras
import numpy as np
import pytest

import attention_layers as al

DATA = Path(__file__).parent / "data"
EXPECTED = np.load(DATA / "legacy_expected.npz")


def _load(name):
    return keras.saving.load_model(DATA / name, safe_mode=True)


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_bare_blocks_in_a_functional_model_load_with_their_old_argument_names():
    model = _load("blocks_legacy.keras")
    outputs = model([EXPECTED["block_target"], EXPECTED["block_source"]])
    np.testing.assert_allclose(_numpy(outputs), EXPECTED["block_output"], atol=1e-5, rtol=1e-5)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    # The old values arrive under the new names (pre-norm with epsilon 1e-6; post-norm).
    assert (encoder.intermediate_dim, encoder.normalize_first, encoder.layer_norm_epsilon) == (
        16, True, 1e-6,
    )
    assert encoder.self_attention_norm.epsilon == 1e-6
    assert (decoder.intermediate_dim, decoder.normalize_first) == (12, False)
    config = encoder.get_config()
    assert {"intermediate_dim", "normalize_first", "layer_norm_epsilon"} <= set(config)
    assert not {"feed_forward_dim", "norm_first", "epsilon"} & set(config)


def test_a_transformer_translator_loads():
    model = _load("translator_legacy.keras")
    assert isinstance(model, al.models.TransformerTranslator)
    outputs = model((EXPECTED["source_ids"], EXPECTED["target_ids"]))
    np.testing.assert_allclose(
        _numpy(outputs), EXPECTED["translator_output"], atol=1e-5, rtol=1e-5
    )


def test_a_transformer_classifier_loads():
    model = _load("classifier_legacy.keras")
    assert isinstance(model, al.models.TransformerClassifier)
    assert not model.encoder_blocks[0].normalize_first
    np.testing.assert_allclose(
        _numpy(model(EXPECTED["token_ids"])), EXPECTED["classifier_output"],
        atol=1e-5, rtol=1e-5,
    )


@pytest.mark.parametrize("block", [al.TransformerEncoderBlock, al.TransformerDecoderBlock])
def test_keras_hub_arguments_reach_the_sublayers(block):
    layer = block(
        num_heads=2, intermediate_dim=6, layer_norm_epsilon=0.25, normalize_first=True,
        kernel_initializer=keras.initializers.Constant(0.5), bias_initializer="ones",
    )
    if block is al.TransformerEncoderBlock:
        layer.build((None, None, 4))
    else:
        layer.build((None, None, 4), (None, None, 4))
    inner, outer = layer.feed_forward.layers
    assert inner.units == 6
    for dense in (inner, outer, layer.self_attention._query_dense):
        np.testing.assert_array_equal(_numpy(dense.kernel), 0.5)
        np.testing.assert_array_equal(_numpy(dense.bias), 1.0)
    assert layer.feed_forward_norm.epsilon == 0.25
    # The initializer object is copied per sub-layer, not shared.
    assert inner.kernel_initializer is not outer.kernel_initializer
    clone = block.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
