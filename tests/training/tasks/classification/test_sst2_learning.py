"""The SST-2 models learn: a small BiGRU with hashed bigrams, and a 2-member ensemble, each
trained for one epoch on 8,000 SST-2 training phrases and scored on the 872 dev sentences.

The thresholds leave a margin under what the models reach here (see the asserts) and sit
far above what a broken model gets: a constant answer scores at most 50.9% (444 positive of
872), and a model that ignores its input about that.
"""

import dataclasses

import keras
import numpy as np
import pytest

from attention_layers.data import load_sst2, make_classification_dataset
from attention_layers.models import BiGRUClassifier, ClassifierEnsemble
from attention_layers.text import WordTokenizer
from attention_layers.training.state import build_training_state

pytestmark = [pytest.mark.data, pytest.mark.slow]

TRAIN_EXAMPLES = 8_000
BIGRAM_BUCKETS = 10_007  # a prime


@dataclasses.dataclass
class SST2Subset:
    tokenizer: WordTokenizer
    train: object
    dev: object
    dev_examples: list
    dev_labels: np.ndarray


@pytest.fixture(scope="module")
def sst2(data_dir):
    corpus = load_sst2(data_dir / "SST-2")
    order = np.random.default_rng(0).permutation(len(corpus.train))[:TRAIN_EXAMPLES]
    train = [corpus.train[index] for index in order]
    tokenizer = WordTokenizer.build([text for text, _ in train])
    dev = make_classification_dataset(corpus.validation, tokenizer, batch_size=256)
    return SST2Subset(
        tokenizer,
        make_classification_dataset(train, tokenizer, batch_size=64, shuffle=True, seed=0),
        dev,
        corpus.validation,
        np.concatenate([labels.numpy() for _, labels in dev]),
    )


def train_member(sst2, seed):
    keras.utils.set_random_seed(seed)
    model = BiGRUClassifier(
        sst2.tokenizer.vocabulary_size, embedding_dim=32, units=16, attention_units=16,
        dropout=0.2, bigram_buckets=BIGRAM_BUCKETS,
    )
    model.compile(keras.optimizers.Adam(3e-3, clipnorm=1.0), "binary_crossentropy")
    build_training_state(model, sst2.train)  # fit then traces its step once, not twice
    model.fit(sst2.train, epochs=1, verbose=0)  # a second epoch: the same accuracy
    return model


@pytest.fixture(scope="module")
def members(sst2):
    return [train_member(sst2, seed) for seed in (1, 2)]


def probabilities(model, sst2):
    """P(positive) of each dev sentence, in the order of `sst2.dev_labels`."""
    return model.predict(sst2.dev, verbose=0)[:, 0]


def accuracy(predicted, sst2):
    return np.mean((predicted > 0.5) == (sst2.dev_labels == 1))


def test_bigru_with_hashed_bigrams_learns_sst2(sst2, members):
    model = members[0]
    with_bigrams = probabilities(model, sst2)
    assert accuracy(with_bigrams, sst2) > 0.66  # about 0.72 here

    # The bigrams take part: without their table many dev predictions move.
    table = model.bigrams.embedding.embeddings
    trained = keras.ops.convert_to_numpy(table)
    table.assign(np.zeros_like(trained))
    without_bigrams = probabilities(model, sst2)
    table.assign(trained)
    assert np.mean(np.abs(with_bigrams - without_bigrams) > 0.05) > 0.2

    # The attention picks words: on the dev sentences the pooling weights are far from
    # uniform (a pooling that ignores the words spreads 1 / T on each).
    token_ids = sst2.tokenizer.tokenize(
        [text for text, _ in sst2.dev_examples[:200]], add_start_end=False
    ).to_tensor()
    weights = keras.ops.convert_to_numpy(model.get_attention_weights(token_ids)["pooling"])[:, 0]
    lengths = (keras.ops.convert_to_numpy(token_ids) != 0).sum(axis=1)
    # The top word gets about 1.7 times its uniform share here (2.2 after a second epoch).
    assert np.mean(weights.max(axis=1) * lengths) > 1.5


def test_an_ensemble_of_two_learns_sst2_and_averages_its_members(sst2, members):
    member_probabilities = [probabilities(member, sst2) for member in members]
    mean = probabilities(ClassifierEnsemble(members), sst2)
    np.testing.assert_allclose(mean, np.mean(member_probabilities, axis=0), atol=1e-6)
    member_accuracies = [accuracy(p, sst2) for p in member_probabilities]
    assert accuracy(mean, sst2) > 0.66  # about 0.76 here
    assert accuracy(mean, sst2) >= min(member_accuracies) - 0.01, member_accuracies
