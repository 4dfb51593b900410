"""The callback on a user's functional model, and errors at the start of training."""

import keras
import numpy as np
import pytest

import attention_layers as al
from attention_layers.visualization import AttentionPlotCallback, attention_model
from attention_layers.visualization._common import readable_name
from tests.helpers import OneDense

SOURCE = np.array([[4, 5, 6, 0], [7, 8, 0, 0], [4, 4, 9, 3]], "int32")
TARGET = np.array([[2, 7, 8], [2, 5, 0], [2, 6, 6]], "int32")


def _functional_translator():
    """The README's model: GRUs and Bahdanau attention, plus a self-attention layer."""
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target = keras.Input(shape=(None,), dtype="int32", name="target")
    source_states = keras.layers.GRU(8, return_sequences=True)(
        keras.layers.Embedding(12, 4, mask_zero=True)(source)
    )
    source_states = al.MultiHeadAttention(num_heads=2, key_dim=4, name="encoder_self")(
        source_states, source_states
    )
    target_states = keras.layers.GRU(8, return_sequences=True)(
        keras.layers.Embedding(12, 4, mask_zero=True)(target)
    )
    context = al.AdditiveAttention(units=4, name="cross")(target_states, source_states)
    logits = keras.layers.Dense(12)(keras.layers.Concatenate()([context, target_states]))
    return keras.Model([source, target], logits)


def test_attention_model_returns_the_weights_of_every_attention_layer():
    model = _functional_translator()
    view = attention_model(model)
    weights = view([SOURCE, TARGET])
    assert sorted(weights) == ["cross", "encoder_self"]
    cross = keras.ops.convert_to_numpy(weights["cross"])  # (batch, T_q, T_k)
    assert cross.shape == (3, 3, 4)
    np.testing.assert_allclose(cross.sum(axis=-1)[0], 1.0, atol=1e-5)
    assert np.all(cross[1, :, 2:] == 0)  # padding of the source gets no weight
    assert keras.ops.convert_to_numpy(weights["encoder_self"]).shape == (3, 2, 4, 4)
    # The view shares the model's layers: the same weights as asking the layer directly.
    assert set(map(id, view.trainable_weights)) <= set(map(id, model.trainable_weights))


def test_the_callback_plots_a_functional_model_during_fit(tmp_path):
    model = _functional_translator()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = AttentionPlotCallback(
        (SOURCE, TARGET),
        tmp_path,
        source_tokens=[["el", "gato", "come", "[END]"], ["hola", "[END]"]],
        target_tokens=[["the", "cat", "eats"], ["hello", "[END]"]],
        token_axes={"encoder_self": ("source", "source")},
    )
    model.fit([SOURCE, TARGET], TARGET, epochs=1, verbose=0, callbacks=[callback])
    assert (tmp_path / "epoch_001" / "example_1_cross.png").is_file()  # examples from 1
    assert (tmp_path / "epoch_001" / "example_2_encoder_self.png").is_file()
    assert (tmp_path / "attention.html").is_file()
    expected = attention_model(model)([SOURCE[:2], TARGET[:2]])["cross"]
    np.testing.assert_allclose(
        callback.weights_by_epoch[1]["cross"], keras.ops.convert_to_numpy(expected), atol=1e-5
    )


def test_a_model_without_attention_fails_before_the_first_epoch(tmp_path):
    model = OneDense()  # no attention
    model.compile("sgd", "mse")
    epochs = []
    counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: epochs.append(1))
    callback = AttentionPlotCallback(np.ones((2, 3)), tmp_path)
    with pytest.raises(
        TypeError, match="no `get_attention_weights\\(inputs\\)` method.*functional"
    ):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0, callbacks=[callback, counter])
    assert epochs == [] and not any(tmp_path.iterdir())

    inputs = keras.Input((3,))
    plain = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    plain.compile("sgd", "mse")
    with pytest.raises(TypeError, match="has no layer that returns attention weights"):
        plain.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0, callbacks=[callback])


def test_tokens_that_do_not_fit_fail_before_the_first_epoch(tmp_path):
    model = _functional_translator()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callback = AttentionPlotCallback(
        (SOURCE, TARGET), tmp_path, source_tokens=[list("abcdefg"), list("ab")]
    )
    with pytest.raises(ValueError, match=r"`source_tokens\[0\]` has 7 tokens"):
        model.fit([SOURCE, TARGET], TARGET, verbose=0, callbacks=[callback])
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("name", "readable"),
    [
        ("decoder_1/cross_attention", "Decoder layer 2, cross-attention"),
        ("encoder_0/self_attention", "Encoder layer 1, self-attention"),
        ("pooling", "Attention pooling"),
        ("my_attention", "My attention"),
    ],
)
def test_names_read_as_words(name, readable):
    assert readable_name(name) == readable
