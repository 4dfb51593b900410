"""Shared fixtures: one tiny Transformer translator trained per session, and the exports.

Training is short (about 20 s on two free cores) but enough for the model to translate
most generated sentences: the tests need a model whose output distribution is peaked,
not random, to compare beam search with greedy decoding meaningfully.
"""

import base64
import dataclasses
import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from attention_layers.data import generate_sentiment_corpus, generate_translation_corpus
from attention_layers.export import export_classifier, export_translator
from attention_layers.models import TransformerClassifier, TransformerTranslator
from attention_layers.text import WordTokenizer
from attention_layers.training import masked_loss
from attention_layers.training.state import build_training_state
from tests.helpers import bahdanau_translator, word_tokenizers

# Export is TensorFlow (SavedModels, tokenizers); the full-prefix reference decoder needs
# its dynamic shapes too. On other backends these tests are not collected.
if keras.backend.backend() != "tensorflow":
    collect_ignore_glob = ["test_*.py"]

FRESH_PROCESS_SCRIPT = pathlib.Path(__file__).with_name("fresh_process.py")
TRAINING_LENGTH = 20
RNN_MAX_OUTPUT_LENGTH = 12

# Inputs a server must survive, as bytes: each must give a valid output and no error.
BAD_INPUTS = [
    b"",
    b"   ",
    b"\t\n \r",
    "😀🎉👍🏽".encode(),
    "猫が寝ている。".encode(),
    "القطة نائمة".encode(),
    "बिल्ली सो रही है".encode(),
    b"\x00\x01\x07\x1b[31m\x7f",
    "a\u200bb\ufeff\u00adc\u202e".encode(),
    b"\xff\xfe\xc3( caf\xe9",  # invalid UTF-8
    ("El gato duerme. " * 625).encode(),  # 10,000 characters
    ("x" * 10_000).encode(),  # one 10,000-character word
    "¿¿¿!!!...".encode(),
    b"EL PERRO NEGRO DUERME",
]


@dataclasses.dataclass
class Translator:
    """A model with its tokenizers and the corpus it was trained on."""

    model: keras.Model
    source_tokenizer: WordTokenizer
    target_tokenizer: WordTokenizer
    corpus: object


def _ids(tokenizer, texts, length):
    return tokenizer.tokenize(texts, max_length=length).to_tensor(shape=[None, length]).numpy()


@pytest.fixture(scope="session")
def corpus():
    return generate_translation_corpus(3000, seed=0)


@pytest.fixture(scope="session")
def tokenizers(corpus):
    """The source and target word tokenizers of `corpus`."""
    return word_tokenizers(corpus)


@pytest.fixture(scope="session")
def trained_transformer(corpus, tokenizers):
    """A one-layer Transformer trained for 8 epochs on 2,400 generated pairs."""
    keras.utils.set_random_seed(0)
    source_tokenizer, target_tokenizer = tokenizers
    # Fixed shapes: the training step is traced once.
    source = _ids(source_tokenizer, [source for source, _ in corpus.train], TRAINING_LENGTH)
    target = _ids(target_tokenizer, [target for _, target in corpus.train], TRAINING_LENGTH + 1)
    model = TransformerTranslator(
        source_tokenizer.vocabulary_size,
        target_tokenizer.vocabulary_size,
        num_layers=1,
        model_dim=64,
        num_heads=4,
        feed_forward_dim=128,
        dropout=0.0,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3), loss=masked_loss(), jit_compile=False
    )
    build_training_state(model, ((source, target[:, :-1]), target[:, 1:]))
    model.fit((source, target[:, :-1]), target[:, 1:], batch_size=64, epochs=8, verbose=0)
    return Translator(model, source_tokenizer, target_tokenizer, corpus)


@pytest.fixture(scope="session")
def rnn_translator(corpus, tokenizers):
    """An untrained GRU translator with Bahdanau attention (its outputs are arbitrary)."""
    keras.utils.set_random_seed(1)
    source_tokenizer, target_tokenizer = tokenizers
    model = bahdanau_translator(source_tokenizer, target_tokenizer, embedding_dim=16, units=24)
    return Translator(model, source_tokenizer, target_tokenizer, corpus)


@dataclasses.dataclass
class Classifier:
    model: keras.Model
    tokenizer: WordTokenizer
    texts: list


@pytest.fixture(scope="session")
def classifier():
    """An untrained `TransformerClassifier` with a vocabulary from generated reviews."""
    keras.utils.set_random_seed(2)
    corpus = generate_sentiment_corpus(600, seed=0)
    tokenizer = WordTokenizer.build([text for text, _ in corpus.train])
    model = TransformerClassifier(
        tokenizer.vocabulary_size, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32
    )
    return Classifier(model, tokenizer, [text for text, _ in corpus.test[:20]])


@pytest.fixture(scope="session")
def exports(tmp_path_factory, trained_transformer, rnn_translator, classifier):
    """The three exports, written once: `{"transformer", "rnn", "classifier"}` -> path."""
    directory = tmp_path_factory.mktemp("exports")
    return {
        "transformer": export_translator(
            trained_transformer.model,
            trained_transformer.source_tokenizer,
            trained_transformer.target_tokenizer,
            directory / "transformer",
        ),
        "rnn": export_translator(
            rnn_translator.model,
            rnn_translator.source_tokenizer,
            rnn_translator.target_tokenizer,
            directory / "rnn",
            max_output_length=RNN_MAX_OUTPUT_LENGTH,
        ),
        "classifier": export_classifier(
            classifier.model, classifier.tokenizer, directory / "classifier"
        ),
    }


def encode_texts(texts):
    """Texts (str or bytes) as base64 strings for the fresh process's JSON request."""
    return [
        base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode("ascii")
        for text in texts
    ]


def run_fresh_process(calls, directory):
    """Runs `calls` in a new Python that cannot import the project; returns its results.

    Args:
        calls: `{name: {"path", "signature", "text": [str or bytes], "beam_width"?}}`.
        directory: a scratch directory (the process's working directory).

    Returns:
        `(results by name, the process's module report)`.
    """
    directory = pathlib.Path(directory)
    names = list(calls)
    request = {
        "calls": [
            {**calls[name], "path": str(calls[name]["path"]), "text": encode_texts(calls[name]["text"])}
            for name in names
        ]
    }
    request_path, result_path = directory / "request.json", directory / "result.json"
    request_path.write_text(json.dumps(request), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-I", str(FRESH_PROCESS_SCRIPT), str(request_path), str(result_path)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    report = json.loads(result_path.read_text(encoding="utf-8"))
    return dict(zip(names, report["results"], strict=True)), report["modules"]


def as_array(output):
    """A fresh-process output as a NumPy array (strings stay Python strings)."""
    return np.array(output["values"], dtype=object if output["dtype"] == "string" else None)
