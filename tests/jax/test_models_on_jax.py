"""The translators, the classifiers and decoding on the JAX backend (issue 29).

`tests/run_all.sh` runs this module in its JAX pass (`KERAS_BACKEND=jax`), with
`tests/layers`; on the TensorFlow pass it is skipped (the same models are tested there by
their own modules). Tiny models and a few compiled steps each, so the module takes well
under two minutes.
"""

import keras
import numpy as np
import pytest

from attention_layers.decoding import (
    beam_search_decode,
    greedy_decode,
    greedy_decode_full_prefix,
)
from attention_layers.models import (
    BiGRUClassifier,
    RNNTranslator,
    TransformerClassifier,
    TransformerTranslator,
)
from attention_layers.training import masked_accuracy, masked_loss
from attention_layers.utils.token_ids import END_ID, PAD_ID, START_ID
from tests.decoding import test_beam_exhaustive as exhaustive

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="the JAX pass of tests/run_all.sh runs it"
)

VOCABULARY, LENGTH = 12, 5
TRANSLATORS = {
    "transformer": lambda: TransformerTranslator(
        VOCABULARY, VOCABULARY, num_layers=1, model_dim=16, num_heads=2,
        feed_forward_dim=32, dropout=0.0,
    ),
    "rnn": lambda: RNNTranslator(
        VOCABULARY, VOCABULARY, embedding_dim=8, units=16, dropout=0.0
    ),
}
CLASSIFIERS = {
    "transformer": lambda: TransformerClassifier(
        VOCABULARY, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32, dropout=0.0
    ),
    "bigru": lambda: BiGRUClassifier(
        VOCABULARY, embedding_dim=16, units=16, attention_units=16, dropout=0.0
    ),
}


def _copy_task(count, seed=0):
    """Sources `[START] w_1 .. w_5 [END]` of words 4..11; the target is the same words."""
    words = np.random.default_rng(seed).integers(4, VOCABULARY, size=(count, LENGTH))
    start, end = np.full((count, 1), START_ID), np.full((count, 1), END_ID)
    source = np.concatenate([start, words, end], 1).astype("int32")
    return (source, source[:, :-1]), source[:, 1:]


@pytest.mark.parametrize("kind", sorted(TRANSLATORS))
def test_a_translator_trains_and_decodes_on_jax(kind, tmp_path):
    keras.utils.set_random_seed(0)
    model = TRANSLATORS[kind]()
    model.compile(keras.optimizers.Adam(1e-2), masked_loss(), metrics=[masked_accuracy])
    inputs, targets = _copy_task(512)
    history = model.fit(inputs, targets, batch_size=64, epochs=6, verbose=0).history
    # Learning the copy task: accuracy from chance (1/8 of the words) to well above it.
    # 0.5 leaves room for any seed and backend; measured about 0.9 and more.
    assert history["masked_accuracy"][-1] > 0.5, history
    assert np.all(np.isfinite(history["loss"]))

    source = inputs[0][:4]
    tokens, weights = greedy_decode(model, source, max_length=LENGTH + 2)
    tokens = keras.ops.convert_to_numpy(tokens)
    # Greedy: each token is the argmax of the teacher-forced pass over the tokens before
    # it ([PAD] and [START] never chosen).
    target_in = np.concatenate([np.full((len(source), 1), START_ID), tokens[:, :-1]], 1)
    logits = keras.ops.convert_to_numpy(model((source, target_in), training=False))
    logits[..., [PAD_ID, START_ID]] = -np.inf
    generated = tokens > 0
    np.testing.assert_array_equal(logits.argmax(-1)[generated], tokens[generated])
    # Weights: one distribution over the source per generated token.
    weights = keras.ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights[tokens > 0].sum(-1), 1.0, atol=1e-5)
    # The full-prefix reference (the whole padded buffer each step on JAX) agrees: the
    # same tokens, and weights equal to float32 rounding (1e-5: sums of 7 terms).
    reference, reference_weights = greedy_decode_full_prefix(model, source, LENGTH + 2)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reference), tokens)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reference_weights), weights,
                               atol=1e-5)
    # A beam of one is greedy decoding.
    beam, _ = beam_search_decode(model, source, max_length=LENGTH + 2, beam_width=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(beam), tokens)

    # The .keras file made on JAX loads back to the same outputs.
    path = tmp_path / "translator.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(inputs)[:8]),
        keras.ops.convert_to_numpy(model(inputs)[:8]),
        atol=1e-5,
    )


@pytest.mark.parametrize("kind", sorted(CLASSIFIERS))
def test_a_classifier_trains_on_jax(kind, tmp_path):
    """Label 1 when word 4 occurs: one word decides, which attention pooling learns fast."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    token_ids = rng.integers(5, VOCABULARY, size=(512, 8)).astype("int32")
    labels = rng.integers(0, 2, size=512)
    token_ids[labels == 1, rng.integers(0, 8, size=int(labels.sum()))] = 4
    model = CLASSIFIERS[kind]()
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        token_ids, labels.astype("float32"), batch_size=64, epochs=4, verbose=0
    ).history
    # A learnable rule: well above the 0.5 of chance (measured near 1.0).
    assert history["accuracy"][-1] > 0.8, history
    probabilities = keras.ops.convert_to_numpy(model(token_ids[:16]))
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    path = tmp_path / "classifier.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(token_ids[:16])), probabilities, atol=1e-5
    )


def test_beam_search_finds_the_exhaustive_optimum_on_jax():
    """One case of tests/decoding/test_beam_exhaustive.py (all of them run on TensorFlow)."""
    exhaustive.test_a_beam_wide_enough_finds_the_exhaustive_optimum(seed=0, alpha=0.6)
