"""Saved models load in a fresh process after nothing but `import attention_layers`."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from attention_layers.models import (
    BiGRUClassifier,
    ClassifierEnsemble,
    TransformerClassifier,
    TransformerTranslator,
)
from attention_layers.training import TransformerSchedule, masked_accuracy, masked_loss

pytestmark = pytest.mark.slow

SOURCE = np.array([[5, 6, 7, 3, 0], [8, 9, 3, 0, 0]], "int32")
TARGET_IN = np.array([[2, 5, 6, 0], [2, 7, 0, 0]], "int32")
TOKENS = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")


def _translator():
    """A tiny Transformer translator compiled as `train_translator.py` compiles it."""
    model = TransformerTranslator(
        12, 10, num_layers=1, model_dim=8, num_heads=2, feed_forward_dim=16, dropout=0.0
    )
    schedule = TransformerSchedule(8, warmup_steps=10, scale=2.0)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9),
        loss=masked_loss(),
        metrics=[masked_accuracy],
    )
    model.fit((SOURCE, TARGET_IN), TARGET_IN, epochs=1, verbose=0)
    return model


def _classifier():
    """A tiny ensemble of the two classifiers, hashed bigrams included."""
    members = [
        BiGRUClassifier(12, embedding_dim=4, units=4, attention_units=4, bigram_buckets=7),
        TransformerClassifier(12, num_layers=1, model_dim=8, num_heads=2, feed_forward_dim=8),
    ]
    for member in members:
        member(TOKENS)
    model = ClassifierEnsemble(members)
    model(TOKENS)
    return model


_LOAD = textwrap.dedent(
    """
    import sys
    import keras
    import numpy as np
    import attention_layers

    folder = sys.argv[1]
    for name, inputs in (("translator", ("source", "target_in")), ("classifier", ("tokens",))):
        arrays = [np.load(f"{folder}/{array}.npy") for array in inputs]
        arrays = tuple(arrays) if len(arrays) > 1 else arrays[0]
        expected = np.load(f"{folder}/{name}_output.npy")
        for load in (attention_layers.load_model, keras.saving.load_model):
            model = load(f"{folder}/{name}.keras")
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(model(arrays)), expected, atol=1e-5)
            print(name, load.__module__, type(model).__name__)
        if name == "translator":
            print("schedule", type(model.optimizer.learning_rate).__name__,
                  type(model.optimizer._learning_rate).__name__)
    """
)


def test_saved_models_load_after_importing_only_the_package(tmp_path):
    translator, classifier = _translator(), _classifier()
    translator.save(tmp_path / "translator.keras")
    classifier.save(tmp_path / "classifier.keras")
    for name, array in (("source", SOURCE), ("target_in", TARGET_IN), ("tokens", TOKENS)):
        np.save(tmp_path / f"{name}.npy", array)
    np.save(
        tmp_path / "translator_output.npy",
        keras.ops.convert_to_numpy(translator((SOURCE, TARGET_IN))),
    )
    np.save(tmp_path / "classifier_output.npy", keras.ops.convert_to_numpy(classifier(TOKENS)))

    result = subprocess.run(
        [sys.executable, "-c", _LOAD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert "translator attention_layers TransformerTranslator" in lines
    assert "translator keras.src.saving.saving_api TransformerTranslator" in lines
    assert "classifier attention_layers ClassifierEnsemble" in lines
    assert "classifier keras.src.saving.saving_api ClassifierEnsemble" in lines
    assert any(line.startswith("schedule") and "TransformerSchedule" in line for line in lines)


def test_load_model_keeps_safe_mode_on(tmp_path):
    inputs = keras.Input((2,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    import attention_layers

    with pytest.raises(ValueError, match="safe_mode"):
        attention_layers.load_model(path)
