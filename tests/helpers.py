"""Helpers that tests in several folders share (fixtures stay in the conftest files)."""

import contextlib
import io
import os
import pathlib

import keras
import pytest
from filelock import FileLock

from attention_layers.data import generate_translation_corpus
from attention_layers.models import RNNTranslator
from attention_layers.text import WordTokenizer

# The repository: where the command scripts are, and the working folder of a test's
# subprocess.
ROOT = pathlib.Path(__file__).resolve().parents[1]


class OneDense(keras.Model):
    """The smallest subclassed model: one `Dense(1)`, and no attention."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def call(self, inputs):
        return self.dense(inputs)


def word_tokenizers(corpus):
    """The source and target `WordTokenizer`s learned from a translation corpus's train split."""
    return (
        WordTokenizer.build([source for source, _ in corpus.train]),
        WordTokenizer.build([target for _, target in corpus.train]),
    )


def generated_translation(num_pairs, seed):
    """`(corpus, source_tokenizer, target_tokenizer)` of a generated Spanish-English corpus."""
    corpus = generate_translation_corpus(num_pairs, seed=seed)
    return (corpus, *word_tokenizers(corpus))


def bahdanau_translator(source_tokenizer, target_tokenizer, **options):
    """An `RNNTranslator` with Bahdanau attention over the two tokenizers' vocabularies."""
    return RNNTranslator(
        source_tokenizer.vocabulary_size,
        target_tokenizer.vocabulary_size,
        attention="bahdanau",
        **options,
    )


def run_in_process(command, argv, capsys):
    """Runs a command script's `main(argv)` in this process; returns `(exit code, stdout,
    stderr)`."""
    try:
        command.main([str(arg) for arg in argv])
        code = 0
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def shared_run(tmp_path_factory, name, command, argv):
    """Trains `command.main([*argv, "--output", FOLDER])` once per test session and returns
    `(FOLDER, what it printed)`: later calls, from any xdist worker, get the same finished
    run, so fixtures in different folders (and on different workers) share one training.

    The first caller trains under a file lock in the folder that the session's workers
    share (pytest-xdist's recipe); the others wait for it, then read. Users must not change
    the folder: copy it first (`shutil.copytree`) to resume or rewrite a run.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this session's, shared by its workers
    root = root / "shared-runs"
    root.mkdir(exist_ok=True)
    folder, printed = root / name, root / f"{name}.stdout"
    with FileLock(str(root / f"{name}.lock")):
        if not printed.is_file():
            buffer = io.StringIO()
            try:
                with contextlib.redirect_stdout(buffer):
                    command.main([*argv, "--output", str(folder)])
            except SystemExit as exit:
                pytest.fail(f"the shared run {name} exited with {exit.code}:\n"
                            f"{buffer.getvalue()[-3000:]}")
            printed.write_text(buffer.getvalue(), encoding="utf-8")
    return folder, printed.read_text(encoding="utf-8")


# A BiGRU with hashed bigrams and int8 embedding tables, one epoch on a generated corpus
# (test_train_classifier.py checks what the command saved).
TINY_BIGRU_INT8 = [
    "--model", "bigru", "--num-examples", "600", "--embedding-dim", "8", "--units", "8",
    "--attention-units", "8", "--batch-size", "32", "--max-length", "32",
    "--bigram-buckets", "1009", "--epochs", "1", "--quantize-embeddings", "int8",
    "--no-attention-plots",
]  # fmt: skip


def tiny_bigru_int8_run(tmp_path_factory):
    """`(folder, printed)` of the session's one `train_classifier.py TINY_BIGRU_INT8` run."""
    import train_classifier

    return shared_run(tmp_path_factory, "bigru-int8", train_classifier, TINY_BIGRU_INT8)


# One epoch of a one-layer Transformer (model_dim 16: a hostile row's message names it) on
# the pairs of at most 12 tokens among 200 generated ones, with its attention plots, and no
# export (test_hostile_commands.py and test_runner.py copy it, damage it, resume it).
TINY_TRANSLATOR_RUN = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "16", "--heads", "2",
    "--feed-forward-dim", "32", "--batch-size", "64", "--max-length", "12", "--patience", "0",
    "--epochs", "1", "--no-export",
]  # fmt: skip


def tiny_translator_run(tmp_path_factory):
    """The folder of the session's one `train_translator.py TINY_TRANSLATOR_RUN` run."""
    import train_translator

    return shared_run(tmp_path_factory, "translator-tiny", train_translator,
                      TINY_TRANSLATOR_RUN)[0]
