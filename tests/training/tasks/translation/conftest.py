"""A small RNN translator with Bahdanau attention, trained once on the generated corpus and
shared by the tests that check what it learned."""

import dataclasses

import keras
import numpy as np
import pytest

from attention_layers.data import make_translation_dataset
from attention_layers.text import WordTokenizer
from attention_layers.training import masked_accuracy, masked_loss
from attention_layers.training.state import build_training_state
from tests.helpers import bahdanau_translator, generated_translation

MAX_LENGTH = 24  # the generated sentences have at most 17 words and marks, plus [START]/[END]


@dataclasses.dataclass
class Trained:
    model: keras.Model
    corpus: object
    source_tokenizer: WordTokenizer
    target_tokenizer: WordTokenizer
    history: dict


@pytest.fixture(scope="session")
def generated_corpus():
    """3,000 generated pairs (2,400 for training) and their word tokenizers."""
    return generated_translation(3000, seed=0)


@pytest.fixture(scope="session")
def trained_rnn(generated_corpus):
    """About 20 s of CPU: 2,400 training pairs, 8 epochs, GRU of 96 units."""
    keras.utils.set_random_seed(0)
    corpus, source_tokenizer, target_tokenizer = generated_corpus
    train = make_translation_dataset(
        corpus.train, source_tokenizer, target_tokenizer,
        batch_size=32, max_length=MAX_LENGTH, shuffle=True,
    )
    model = bahdanau_translator(
        source_tokenizer, target_tokenizer, embedding_dim=32, units=96, dropout=0.0
    )
    model.compile(
        keras.optimizers.Adam(3e-3, clipnorm=1.0), masked_loss(), metrics=[masked_accuracy]
    )
    build_training_state(model, train)  # fit then traces its step once, not twice
    history = model.fit(train, epochs=8, verbose=0)
    return Trained(model, corpus, source_tokenizer, target_tokenizer, history.history)


def padded_batch(pairs, source_tokenizer, target_tokenizer):
    """One unbucketed batch `(source, target_in, target_out)` of numpy arrays."""
    dataset = make_translation_dataset(
        pairs, source_tokenizer, target_tokenizer,
        batch_size=len(pairs), max_length=MAX_LENGTH, bucket_by_length=False,
    )
    (source, target_in), target_out = next(iter(dataset))
    return np.asarray(source), np.asarray(target_in), np.asarray(target_out)
