"""The classifier contract others rely on: shapes, padding masks, attention, `.keras` files."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from attention_layers.models import (
    BiGRUClassifier,
    ClassifierEnsemble,
    HashedBigramEmbedding,
    TransformerClassifier,
)

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
    # Two pooling queries (Lin et al. 2017), as `train_classifier.py`'s builtin preset.
    "transformer_two_queries": lambda **kw: TransformerClassifier(
        VOCABULARY, num_layers=2, model_dim=16, num_heads=2, feed_forward_dim=32,
        pooling_heads=2, **kw
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
    if name == "transformer_two_queries":
        # "pooling" is the mean of the two queries' weights, each a softmax of its own.
        heads = attention.pop("pooling_heads")
        assert heads.shape == (2, 2, 5)
        np.testing.assert_allclose(heads.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_allclose(heads.mean(1, keepdims=True), pooling, atol=1e-6)
        assert not np.allclose(heads[:, 0], heads[:, 1], atol=1e-3)
    if name.startswith("transformer"):
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


@pytest.mark.parametrize("name", [*sorted(MODELS), "ensemble"])
def test_runs_with_unknown_length(name):
    """Batches of varying length (tf.data, a serving signature) trace with `T = None`."""
    model = ClassifierEnsemble(_members()) if name == "ensemble" else MODELS[name]()
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
        (lambda: BiGRUClassifier(10, bigram_buckets=0), "bigram_buckets"),
        (lambda: TransformerClassifier(10, bigram_buckets=7_919 * 2), "not a multiple of 7919"),
        (lambda: HashedBigramEmbedding(300_000, 4), "at most 271,146"),
        (lambda: ClassifierEnsemble([]), "non-empty list"),
        (lambda: ClassifierEnsemble(BiGRUClassifier(10)), "non-empty list"),
        (lambda: ClassifierEnsemble([BiGRUClassifier(10), keras.layers.Dense(1)]), r"members\[1\]"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_token_ids_must_be_2d(name):
    with pytest.raises(ValueError, match=r"\(batch, T\)"):
        MODELS[name]()(np.ones((2, 3, 4), "int32"))


# --- hashed bigrams -----------------------------------------------------------------------


def test_bigram_buckets_are_the_documented_hash():
    bigrams = HashedBigramEmbedding(buckets=101, output_dim=4)
    buckets = numpy(bigrams.buckets_of(TOKEN_IDS))
    previous = np.pad(TOKEN_IDS[:, :-1], ((0, 0), (1, 0)))  # 0 before the first token
    np.testing.assert_array_equal(buckets, (previous * 7_919 + TOKEN_IDS) % 101)
    assert buckets.dtype == np.int32
    # The largest ids the int32 hash allows do not overflow: every bucket is in range.
    top = HashedBigramEmbedding(buckets=271_129, output_dim=2)
    ids = np.array([[2**31 - 1, 2**31 - 2, 271_128]], "int32")
    previous = np.pad(ids[:, :-1] % 271_129, ((0, 0), (1, 0))).astype(np.int64)
    expected = (previous * 7_919 + ids % 271_129) % 271_129
    np.testing.assert_array_equal(numpy(top.buckets_of(ids)), expected)
    assert tuple(bigrams(TOKEN_IDS).shape) == (2, 5, 4)
    assert bigrams.compute_output_shape((2, 5)) == (2, 5, 4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bigrams_make_a_word_depend_on_its_left_neighbour(name):
    """With bigrams the pooled value of "good" differs after "not" and after "very"."""
    model = MODELS[name](bigram_buckets=1_009)
    not_good, very_good = np.array([[5, 7]], "int32"), np.array([[6, 7]], "int32")
    values = [numpy(model._values(model.embedding(ids), ids, False)) for ids in (not_good, very_good)]
    np.testing.assert_allclose(values[0][0, 1] - values[1][0, 1],
                               numpy(model.bigrams(not_good))[0, 1] - numpy(model.bigrams(very_good))[0, 1],
                               atol=1e-6)
    assert np.abs(values[0][0, 1] - values[1][0, 1]).max() > 1e-4
    words_only = MODELS[name]()
    assert words_only.bigrams is None
    np.testing.assert_array_equal(
        numpy(words_only._values(words_only.embedding(not_good), not_good, False)),
        numpy(words_only.embedding(not_good)),
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bigram_model_round_trip(name, tmp_path):
    model = MODELS[name](bigram_buckets=1_009)
    model(TOKEN_IDS)
    model.save(tmp_path / "classifier.keras")
    loaded = keras.saving.load_model(tmp_path / "classifier.keras")
    assert loaded.get_config()["bigram_buckets"] == 1_009
    np.testing.assert_allclose(numpy(loaded(TOKEN_IDS)), numpy(model(TOKEN_IDS)), atol=1e-6)


# --- ensembles ----------------------------------------------------------------------------


def _members():
    keras.utils.set_random_seed(3)
    return [MODELS["bigru"](bigram_buckets=1_009), MODELS["transformer"](), MODELS["bigru"]()]


def test_ensemble_averages_probabilities_and_attention():
    members = _members()
    ensemble = ClassifierEnsemble(members)
    assert ensemble.built and ensemble.count_params() == sum(m.count_params() for m in members)
    probabilities = np.stack([numpy(member(TOKEN_IDS)) for member in members])
    assert probabilities.std(axis=0).max() > 1e-4  # the members do disagree
    np.testing.assert_allclose(numpy(ensemble(TOKEN_IDS)), probabilities.mean(axis=0), atol=1e-6)
    pooling = numpy(ensemble.get_attention_weights(TOKEN_IDS)["pooling"])
    expected = np.mean(
        [numpy(member.get_attention_weights(TOKEN_IDS)["pooling"]) for member in members], axis=0
    )
    np.testing.assert_allclose(pooling, expected, atol=1e-6)
    np.testing.assert_allclose(pooling.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(pooling[1, 0, 3:], 0.0)
    assert ensemble.compute_output_shape((2, 5)) == (2, 1)


def test_ensemble_keras_file_round_trip(tmp_path):
    ensemble = ClassifierEnsemble(_members())
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(tmp_path / "ensemble.keras")  # safe mode stays on
    assert type(loaded) is ClassifierEnsemble
    assert [type(m).__name__ for m in loaded.members] == [
        "BiGRUClassifier", "TransformerClassifier", "BiGRUClassifier"
    ]
    np.testing.assert_allclose(numpy(loaded(TOKEN_IDS)), numpy(ensemble(TOKEN_IDS)), atol=1e-6)
    np.testing.assert_allclose(
        numpy(loaded.get_attention_weights(TOKEN_IDS)["pooling"]),
        numpy(ensemble.get_attention_weights(TOKEN_IDS)["pooling"]),
        atol=1e-6,
    )
