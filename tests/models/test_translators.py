"""The translator models: every attention option trains, round-trips and decodes step by step."""

import keras
import numpy as np
import pytest

from attention_layers.models import ATTENTIONS, RNNTranslator, TransformerTranslator
from attention_layers.training import masked_accuracy, masked_loss
from attention_layers.training.state import build_training_state

SOURCE = np.array([[5, 6, 7, 8, 0], [3, 4, 9, 0, 0]])
TARGET_IN = np.array([[2, 8, 9, 10], [2, 11, 12, 0]])
TARGET_OUT = np.array([[8, 9, 10, 3], [11, 12, 3, 0]])


def rnn(attention, input_feeding=False, cell="gru"):
    return RNNTranslator(
        30, 20, embedding_dim=8, units=16, cell=cell, attention=attention,
        input_feeding=input_feeding, max_source_length=8, dropout=0.0,
    )


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_rnn_translator_attention_options(attention, tmp_path):
    model = rnn(attention, cell="lstm" if attention == "luong-dot" else "gru")
    weights = keras.ops.convert_to_numpy(
        model.get_attention_weights((SOURCE, TARGET_IN))["cross_attention"]
    )
    assert weights.shape == (2, 4, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert np.all(weights[1, :, 3:] == 0)  # source padding gets no attention
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded((SOURCE, TARGET_IN))),
        keras.ops.convert_to_numpy(model((SOURCE, TARGET_IN))),
        atol=1e-5,
    )


@pytest.mark.parametrize("attention", ["bahdanau", "location-sensitive"])
def test_step_by_step_decoding_equals_teacher_forcing(attention):
    model = rnn(attention, input_feeding=True)
    logits = keras.ops.convert_to_numpy(model((SOURCE, TARGET_IN)))
    context, state = model.start_decoding(SOURCE, TARGET_IN.shape[1])
    for step in range(TARGET_IN.shape[1]):
        step_logits, state, _ = model.decode_step(TARGET_IN[:, step], step, context, state)
        step_logits = keras.ops.convert_to_numpy(step_logits)
        np.testing.assert_allclose(step_logits, logits[:, step], atol=1e-4)


def test_transformer_cached_decoding_equals_full_pass(tmp_path):
    model = TransformerTranslator(
        30, 20, num_layers=2, model_dim=16, num_heads=2, feed_forward_dim=32, dropout=0.0
    )
    logits = keras.ops.convert_to_numpy(model((SOURCE, TARGET_IN)))
    context, state = model.start_decoding(SOURCE, TARGET_IN.shape[1])
    for step in range(TARGET_IN.shape[1]):
        step_logits, state, cross = model.decode_step(TARGET_IN[:, step], step, context, state)
        real = TARGET_IN[:, step] != 0
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(step_logits)[real], logits[real, step], atol=1e-4
        )
        assert tuple(cross.shape) == (2, 5)  # the last layer's, heads averaged
    attention = model.get_attention_weights((SOURCE, TARGET_IN))
    assert sorted(attention) == [
        "decoder_0/cross_attention", "decoder_0/self_attention",
        "decoder_1/cross_attention", "decoder_1/self_attention",
    ]
    path = tmp_path / "transformer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded((SOURCE, TARGET_IN))), logits, atol=1e-5
    )


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: rnn("luong-general", input_feeding=True),
        lambda: TransformerTranslator(30, 20, num_layers=1, model_dim=16, num_heads=2,
                                      feed_forward_dim=32, dropout=0.0),
        # --shared-vocabulary: one matrix embeds both sides and gives the logits.
        lambda: TransformerTranslator(30, 30, num_layers=1, model_dim=16, num_heads=2,
                                      feed_forward_dim=32, dropout=0.0, shared_embeddings=True),
    ],
)
def test_translators_fit_a_tiny_batch(make_model):
    model = make_model()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=masked_loss(),
                  metrics=[masked_accuracy])
    build_training_state(model, ((SOURCE, TARGET_IN), TARGET_OUT))
    history = model.fit((SOURCE, TARGET_IN), TARGET_OUT, epochs=40, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    assert history.history["masked_accuracy"][-1] == 1.0


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match="`attention` must be one of"):
        RNNTranslator(10, 10, attention="cosine")
    with pytest.raises(ValueError, match="`cell` must be one of"):
        RNNTranslator(10, 10, cell="rnn")
    with pytest.raises(ValueError, match=r"`model_dim` \(10\) must be divisible by `num_heads` \(4\)"):
        TransformerTranslator(10, 10, model_dim=10, num_heads=4)
