"""The classifier contract others rely on: shapes, padding masks, attention, `.keras` files."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from attention_layers.models import BiGRUClassifier, TransformerClassifier

VOCABULARY = 50
# Two sentences, the second padded; positions with id 0 are padding.
TOKEN_IDS = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], "int32")

MODELS = {
    "transformer": lambda **kw: TransformerClassifier(
        VOCABULARY, num_layers=2, model_dim=16, num_heads=2, feed_forward_dim=32, **kw
    ),
    "bigru": lambda **kw: BiGRUClassifier(
        VOCABULARY, embedding_dim=8, units=12, attention_units=6, **kw
    ),
}


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_probabilities_and_attention_shapes(name):
    model = MODELS[name]()
    probability = numpy(model(TOKEN_IDS))
    assert probability.shape == (2, 1) and probability.dtype == np.float32
    assert np.all((probability > 0) & (probability < 1))

    attention = {key: numpy(value) for key, value in model.get_attention_weights(TOKEN_IDS).items()}
    pooling = attention["pooling"]
    assert pooling.shape == (2, 1, 5)
    np.testing.assert_allclose(pooling.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pooling[1, 0, 3:], 0.0)  # padding gets no weight
    if name == "transformer":
        assert sorted(attention) == ["encoder_0/self_attention", "encoder_1/self_attention", "pooling"]
        self_attention = attention["encoder_1/self_attention"]
        assert self_attention.shape == (2, 2, 5, 5)
        np.testing.assert_array_equal(self_attention[1, :, :, 3:], 0.0)  # padded keys
        np.testing.assert_array_equal(self_attention[1, :, 3:, :], 0.0)  # padded queries
    else:
        assert sorted(attention) == ["pooling"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_padding_does_not_change_the_prediction(name):
    model = MODELS[name]()
    padded = np.pad(TOKEN_IDS, ((0, 0), (0, 6)))
    np.testing.assert_allclose(numpy(model(padded)), numpy(model(TOKEN_IDS)), atol=1e-5)
    np.testing.assert_allclose(
        numpy(model.get_attention_weights(padded)["pooling"])[:, :, :5],
        numpy(model.get_attention_weights(TOKEN_IDS)["pooling"]),
        atol=1e-5,
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_all_padding_row_is_finite(name):
    model = MODELS[name]()
    probability = numpy(model(np.array([[0, 0, 0], [4, 5, 0]], "int32")))
    assert np.all(np.isfinite(probability))
    assert np.all(numpy(model.get_attention_weights(np.zeros((1, 3), "int32"))["pooling"]) == 0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_file_round_trip(name, tmp_path):
    model = MODELS[name](dropout=0.2)
    model(TOKEN_IDS)
    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(numpy(loaded(TOKEN_IDS)), numpy(model(TOKEN_IDS)), atol=1e-6)
    for key, weights in model.get_attention_weights(TOKEN_IDS).items():
        np.testing.assert_allclose(
            numpy(loaded.get_attention_weights(TOKEN_IDS)[key]), numpy(weights), atol=1e-6
        )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_runs_with_unknown_length(name):
    """Batches of varying length (tf.data, a serving signature) trace with `T = None`."""
    model = MODELS[name]()
    function = tf.function(
        lambda ids: (model(ids), model.get_attention_weights(ids)["pooling"]),
        input_signature=[tf.TensorSpec((None, None), tf.int32)],
    )
    probability, pooling = function(tf.constant(TOKEN_IDS))
    np.testing.assert_allclose(probability.numpy(), numpy(model(TOKEN_IDS)), atol=1e-6)
    assert pooling.shape == (2, 1, 5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_mixed_precision_gives_float32_probabilities(name, policy):
    keras.config.set_dtype_policy(policy)  # reset by the autouse fixture
    model = MODELS[name]()
    probability = numpy(model(TOKEN_IDS))
    assert probability.dtype == np.float32 and np.all(np.isfinite(probability))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TransformerClassifier(0), "vocabulary_size"),
        (lambda: TransformerClassifier(10, model_dim=30, num_heads=4), "divisible"),
        (lambda: TransformerClassifier(10, dropout=1.0), "dropout"),
        (lambda: TransformerClassifier(10, pooling_units=0), "pooling_units"),
        (lambda: BiGRUClassifier(10, units=2.5), "units"),
        (lambda: BiGRUClassifier(10, dropout=-0.1), "dropout"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_token_ids_must_be_2d(name):
    with pytest.raises(ValueError, match=r"\(batch, T\)"):
        MODELS[name]()(np.ones((2, 3, 4), "int32"))
