"""The decoding interface: both translators mean the same thing by each method."""

import keras
import numpy as np
import pytest

from attention_layers import decoding
from attention_layers.models import RNNTranslator, TransformerTranslator

SOURCE = np.array([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]])
TARGET_IN = np.array([[2, 8, 9, 10], [2, 11, 12, 13]])

MODELS = {
    "transformer": lambda: TransformerTranslator(
        30, 20, num_layers=2, model_dim=16, num_heads=2, feed_forward_dim=32, dropout=0.0
    ),
    "rnn-bahdanau": lambda: RNNTranslator(30, 20, embedding_dim=8, units=16, dropout=0.0),
    "rnn-location-sensitive-lstm": lambda: RNNTranslator(
        30, 20, embedding_dim=8, units=16, cell="lstm", attention="location-sensitive",
        input_feeding=True, dropout=0.0,
    ),
    "rnn-location": lambda: RNNTranslator(
        30, 20, embedding_dim=8, units=16, attention="location", max_source_length=7,
        dropout=0.0,
    ),
}


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_step_equals_prefix_equals_teacher_forcing(kind):
    """Step `t` of `decode_step`, `decode_prefix` of `t + 1` tokens and the teacher-forced
    pass give the same logits; both decoders the same cross-attention weights, a
    distribution over the real source positions."""
    keras.utils.set_random_seed(0)
    model = MODELS[kind]()
    logits = _numpy(model((SOURCE, TARGET_IN), training=False))  # (batch, T, V)
    context, state = model.start_decoding(SOURCE, TARGET_IN.shape[1])
    for position in range(TARGET_IN.shape[1]):
        step_logits, state, step_weights = model.decode_step(
            TARGET_IN[:, position], position, context, state
        )
        prefix_logits, prefix_weights = model.decode_prefix(
            TARGET_IN[:, : position + 1], context
        )
        np.testing.assert_allclose(_numpy(step_logits), logits[:, position], atol=1e-4)
        np.testing.assert_allclose(_numpy(prefix_logits), logits[:, position], atol=1e-4)
        weights = _numpy(step_weights)
        assert weights.shape == SOURCE.shape
        np.testing.assert_allclose(weights, _numpy(prefix_weights), atol=1e-5)
        # Read at `position` of the whole sequence, [PAD] after it (the decoder is causal).
        padded = np.where(np.arange(TARGET_IN.shape[1]) <= position, TARGET_IN, 0)
        at_logits, at_weights = model.decode_prefix(padded, context, position)
        np.testing.assert_allclose(_numpy(at_logits), logits[:, position], atol=1e-4)
        np.testing.assert_allclose(_numpy(at_weights), weights, atol=1e-5)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
        assert (weights[SOURCE == 0] == 0).all()


def test_max_source_length():
    assert MODELS["transformer"]().max_source_length is None
    assert MODELS["rnn-bahdanau"]().max_source_length is None
    location = MODELS["rnn-location"]()
    assert location.max_source_length == 7
    # The constructor argument is kept in the config whatever the attention.
    bahdanau = RNNTranslator(30, 20, max_source_length=12)
    assert bahdanau.get_config()["max_source_length"] == 12
    assert RNNTranslator.from_config(location.get_config()).max_source_length == 7


def test_a_model_without_the_interface_is_named():
    with pytest.raises(TypeError, match="decoding interface.*`decode_prefix`"):
        decoding.check_translator(keras.Sequential([keras.layers.Dense(2)]))
    decoding.check_translator(MODELS["rnn-bahdanau"]())
