"""Helpers that tests in several folders share (fixtures stay in the conftest files)."""

import keras

from attention_layers.data import generate_translation_corpus
from attention_layers.models import RNNTranslator
from attention_layers.text import WordTokenizer


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
