"""Shared fixtures: one tiny finished run of each training command per session.

Each is trained by the command's own `main([...])` on a small generated corpus, with its
serving export, so that tests of what reads a run folder (`load_run`, the demo, the REST
server) see exactly what a user's run holds. The translator is a one-layer Transformer
(two heads); the classifier an `--ensemble 2` of BiGRUs with hashed bigrams and int8
embedding tables (`--quantize-embeddings int8`), the most involved `.keras` file a run
writes. One epoch each: the models translate and classify badly, which these tests do
not mind (they compare paths, not quality). About a minute of CPU for both.

The classifier run is the one tests/training/tasks/classification/test_train_classifier.py
checks as a command's output (`tiny_classifier_run`): one training per session for both
folders, whichever xdist worker asks first (`tests.helpers.shared_run`).
"""

import keras
import pytest

import train_classifier
import train_translator
from tests.helpers import shared_run

# The apps read TensorFlow SavedModels and tokenizers; other backends do not collect them.
if keras.backend.backend() != "tensorflow":
    collect_ignore_glob = ["test_*.py"]

TINY_TRANSLATOR = [
    "--num-pairs", "400", "--layers", "1", "--model-dim", "16", "--heads", "2",
    "--feed-forward-dim", "32", "--batch-size", "32", "--max-length", "16", "--epochs", "1",
    "--no-attention-plots",
]
TINY_CLASSIFIER = [
    "--model", "bigru", "--num-examples", "300", "--embedding-dim", "8", "--units", "8",
    "--attention-units", "8", "--batch-size", "32", "--max-length", "32", "--epochs", "1",
    "--ensemble", "2", "--bigram-buckets", "1009", "--quantize-embeddings", "int8",
    "--no-attention-plots",
]


@pytest.fixture(scope="session")
def translator_run(tmp_path_factory):
    """The folder of a finished tiny `train_translator.py` run (named like the default)."""
    output = tmp_path_factory.mktemp("runs") / "translator-builtin"
    train_translator.main([*TINY_TRANSLATOR, "--output", str(output)])
    return output


def tiny_classifier_run(tmp_path_factory):
    """`(folder, what the command printed)` of the session's one `TINY_CLASSIFIER` run.

    Read it, never change it: tests that resume or rewrite a run copy it first.
    """
    return shared_run(tmp_path_factory, "classifier-builtin", train_classifier, TINY_CLASSIFIER)


@pytest.fixture(scope="session")
def classifier_run(tmp_path_factory):
    """The folder of a finished tiny `train_classifier.py` run: an int8 ensemble of two."""
    return tiny_classifier_run(tmp_path_factory)[0]


@pytest.fixture(scope="session")
def translator(translator_run):
    """The tiny translator run, loaded (`load_run`)."""
    from attention_layers.apps.run import load_run

    return load_run(translator_run)


@pytest.fixture(scope="session")
def classifier(classifier_run):
    """The tiny classifier run, loaded (`load_run`)."""
    from attention_layers.apps.run import load_run

    return load_run(classifier_run)
