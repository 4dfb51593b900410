"""int8 embedding tables (`quantize_embeddings`): the values Keras' absmax rule gives, the same
predictions within the rounding, a `.keras` round trip in safe mode, and clear errors."""

import doctest

import keras
import numpy as np
import pytest

from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, TransformerClassifier

VOCABULARY = 3000
BUCKETS = 1009
TOKEN_IDS = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], "int32")
MODELS = {
    "transformer": lambda **kw: TransformerClassifier(
        VOCABULARY, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32,
        bigram_buckets=BUCKETS, **kw
    ),
    "bigru": lambda **kw: BiGRUClassifier(
        VOCABULARY, embedding_dim=16, units=8, attention_units=8, bigram_buckets=BUCKETS, **kw
    ),
}
TABLES = ("embedding", "bigrams/table")


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def tables(model):
    """`{name: {variable name: array}}` of the model's two embedding tables."""
    found = {}
    for variable in model.weights:
        for name in TABLES:
            prefix = f"{model.name}/{name}/"
            if variable.path.startswith(prefix) and "/" not in variable.path[len(prefix):]:
                found.setdefault(name, {})[variable.path[len(prefix):]] = numpy(variable)
    return found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_int8_tables_follow_the_absmax_rule_and_keep_the_predictions(name):
    keras.utils.set_random_seed(0)
    model = MODELS[name]()
    model(TOKEN_IDS)
    before = {table: values["embeddings"] for table, values in tables(model).items()}
    probabilities = numpy(model(TOKEN_IDS))

    assert model.quantize_embeddings("int8") is model
    assert model.embedding_quantization == "int8"
    after = tables(model)
    assert sorted(after) == sorted(TABLES)
    for table, weights in before.items():
        # Independent of Keras: each row scaled so that its largest |w| becomes 127
        # (in float32, with Keras' epsilon of 1e-7 added to the largest).
        largest = np.abs(weights).max(axis=1, keepdims=True)
        scale = np.float32(127) / (largest + np.float32(1e-7))
        expected = np.round(weights * scale)
        assert after[table]["embeddings"].dtype == np.int8
        # Not bit-exact: a value at a .5 boundary may round either way after another
        # device's float32 product (a GPU fuses the multiply). One step at most, rarely.
        steps = np.abs(after[table]["embeddings"].astype(np.int32) - expected)
        assert steps.max() <= 1 and np.mean(steps == 0) > 0.99
        # What the layer reads back is the float table within half a step per row.
        read_back = after[table]["embeddings"] / after[table]["embeddings_scale"][:, None]
        assert np.all(np.abs(read_back - weights) <= largest / 127 / 2 + 1e-6)
    # Everything else stays float32.
    others = [v for v in model.weights if "embeddings" not in v.path]
    assert others and all(v.dtype == "float32" for v in others)
    quantized = numpy(model(TOKEN_IDS))
    np.testing.assert_allclose(quantized, probabilities, atol=5e-3)
    assert not np.array_equal(quantized, probabilities)  # the tables did change


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_quantized_model_loads_in_safe_mode_with_the_same_predictions(name, tmp_path):
    keras.utils.set_random_seed(1)
    model = MODELS[name]()
    model(TOKEN_IDS)
    model.save(tmp_path / "float.keras")
    model.quantize_embeddings("int8")
    expected = numpy(model(TOKEN_IDS))
    model.save(tmp_path / "int8.keras")

    loaded = keras.saving.load_model(tmp_path / "int8.keras")  # safe_mode=True by default
    assert loaded.embedding_quantization == "int8"
    np.testing.assert_array_equal(numpy(loaded(TOKEN_IDS)), expected)
    for table, values in tables(loaded).items():
        np.testing.assert_array_equal(values["embeddings"], tables(model)[table]["embeddings"])
    # The tables are most of this model's weights: a quarter of their bytes shows.
    float_size = (tmp_path / "float.keras").stat().st_size
    assert (tmp_path / "int8.keras").stat().st_size < 0.5 * float_size


def test_an_ensemble_of_quantized_members_round_trips(tmp_path):
    keras.utils.set_random_seed(2)
    members = [MODELS["bigru"]() for _ in range(2)]
    for member in members:
        member(TOKEN_IDS)
        member.quantize_embeddings("int8")
    ensemble = ClassifierEnsemble(members)
    expected = numpy(ensemble(TOKEN_IDS))
    ensemble.save(tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(tmp_path / "ensemble.keras")
    assert [member.embedding_quantization for member in loaded.members] == ["int8", "int8"]
    np.testing.assert_array_equal(numpy(loaded(TOKEN_IDS)), expected)


def test_clear_errors():
    with pytest.raises(ValueError, match="`embedding_quantization` must be None or one of 'int8'; "
                       "received 'int4'"):
        MODELS["bigru"](embedding_quantization="int4")
    model = MODELS["bigru"]()
    with pytest.raises(ValueError, match="`embedding_quantization` must be None or one of 'int8'; "
                       "received 'float8'"):
        model.quantize_embeddings("float8")
    with pytest.raises(ValueError, match="Build the model"):
        model.quantize_embeddings("int8")
    model(TOKEN_IDS)
    model.quantize_embeddings()
    with pytest.raises(ValueError, match=r"already quantized \(int8\)"):
        model.quantize_embeddings("int8")


def test_the_docstring_example_runs():
    from attention_layers.models import quantization

    result = doctest.testmod(quantization, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 4 and result.failed == 0
