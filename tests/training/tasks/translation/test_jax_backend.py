"""`KERAS_BACKEND=jax python train_translator.py`: a jitted training step, test BLEU, the
`.keras` file, and the serving export made in a TensorFlow subprocess, which serves."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

import attention_layers.models  # noqa: F401  (registers the classes for loading)
import attention_layers.training  # noqa: F401
from attention_layers.export import translate
from attention_layers.text import WordTokenizer
from attention_layers.utils.console import START_UP_NOISE

ROOT = pathlib.Path(__file__).resolve().parents[4]
# Few shapes for JAX to compile: short sentences, one batch per length bucket.
TINY = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "256", "--max-length", "8", "--epochs", "1",
    "--no-attention-plots",
]


@pytest.mark.slow
def test_the_translator_trains_on_jax_and_its_export_serves(tmp_path):
    output = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "train_translator.py", *TINY, "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "XLA on" in result.stdout and "jax backend" in result.stdout, result.stdout[:2000]
    # A quiet console (issue 15): no TensorFlow start-up lines, epochs of known length,
    # one line per epoch off a terminal, and a closing summary.
    assert START_UP_NOISE.search(result.stderr) is None, result.stderr[-2000:]
    assert "ran out of data" not in result.stdout + result.stderr
    assert "Unknown" not in result.stdout and "\x1b" not in result.stdout
    assert "\r" not in result.stdout
    assert f"tensorboard --logdir {output / 'logs'}" in result.stdout
    results = json.loads((output / "results.json").read_text())
    assert 0 <= results["test_bleu"] <= 100 and len(results["samples"]) == 5

    # The .keras file trained on JAX loads on TensorFlow, and the export agrees with it.
    assert keras.backend.backend() == "tensorflow"
    model = keras.saving.load_model(output / "translator.keras")
    source = WordTokenizer.load(output / "source_vocab.txt")
    target = WordTokenizer.load(output / "target_vocab.txt")
    sentences = [sample["source"] for sample in results["samples"]]
    expected = translate(model, source, target, sentences, max_length=8, max_input_tokens=8)
    served = tf.saved_model.load(str(output / "serving" / "1"))
    answer = served.signatures["serving_default"](text=tf.constant(sentences))
    assert [text.decode("utf-8") for text in answer["translation"].numpy()] == expected
