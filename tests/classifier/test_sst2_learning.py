"""The SST-2 models learn: a small BiGRU with hashed bigrams, and a 2-member ensemble, each
trained briefly on 8,000 SST-2 training phrases and scored on the 872 dev sentences.

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

pytestmark = [pytest.mark.data, pytest.mark.slow]

TRAIN_EXAMPLES = 8_000
BIGRAM_BUCKETS = 10_007  # a prime


@dataclasses.dataclass
class SST2Subset:
    tokenizer: WordTokenizer
    train: object
    dev: object
    dev_examples: list


@pytest.fixture(scope="module")
def sst2(data_dir):
    corpus = load_sst2(data_dir / "SST-2")
    order = np.random.default_rng(0).permutation(len(corpus.train))[:TRAIN_EXAMPLES]
    train = [corpus.train[index] for index in order]
    tokenizer = WordTokenizer.build([text for text, _ in train])
    return SST2Subset(
        tokenizer,
        make_classification_dataset(train, tokenizer, batch_size=64, shuffle=True, seed=0),
        make_classification_dataset(corpus.validation, tokenizer, batch_size=256),
        corpus.validation,
    )


def train_member(sst2, seed):
    keras.utils.set_random_seed(seed)
    model = BiGRUClassifier(
        sst2.tokenizer.vocabulary_size, embedding_dim=32, units=16, attention_units=16,
        dropout=0.2, bigram_buckets=BIGRAM_BUCKETS,
    )
    model.compile(keras.optimizers.Adam(3e-3, clipnorm=1.0), "binary_crossentropy")
    model.fit(sst2.train, epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def members(sst2):
    return [train_member(sst2, seed) for seed in (1, 2)]


def probabilities(model, dataset):
    """`(P(positive), labels)` over the whole dataset."""
    outputs, labels = [], []
    for tokens, label in dataset:
        outputs.append(keras.ops.convert_to_numpy(model(tokens))[:, 0])
        labels.append(label.numpy())
    return np.concatenate(outputs), np.concatenate(labels)


def accuracy(model, dataset):
    predicted, labels = probabilities(model, dataset)
    return np.mean((predicted > 0.5) == (labels == 1))


def test_bigru_with_hashed_bigrams_learns_sst2(sst2, members):
    model = members[0]
    assert accuracy(model, sst2.dev) > 0.66  # about 0.72 here

    # The bigrams take part: without their table many dev predictions move.
    with_bigrams, _ = probabilities(model, sst2.dev)
    table = model.bigrams.embedding.embeddings
    trained = keras.ops.convert_to_numpy(table)
    table.assign(np.zeros_like(trained))
    without_bigrams, _ = probabilities(model, sst2.dev)
    table.assign(trained)
    assert np.mean(np.abs(with_bigrams - without_bigrams) > 0.05) > 0.2

    # The attention picks words: on the dev sentences the pooling weights are far from
    # uniform (a pooling that ignores the words spreads 1 / T on each).
    token_ids = sst2.tokenizer.tokenize(
        [text for text, _ in sst2.dev_examples[:200]], add_start_end=False
    ).to_tensor()
    weights = keras.ops.convert_to_numpy(model.get_attention_weights(token_ids)["pooling"])[:, 0]
    lengths = (keras.ops.convert_to_numpy(token_ids) != 0).sum(axis=1)
    assert np.mean(weights.max(axis=1) * lengths) > 3  # the top word gets 3x its uniform share


def test_an_ensemble_of_two_learns_sst2_and_averages_its_members(sst2, members):
    ensemble = ClassifierEnsemble(members)
    member_accuracies = [accuracy(member, sst2.dev) for member in members]
    ensemble_accuracy = accuracy(ensemble, sst2.dev)
    assert ensemble_accuracy > 0.66  # about 0.72 here
    assert ensemble_accuracy >= min(member_accuracies) - 0.01, member_accuracies
    mean, _ = probabilities(ensemble, sst2.dev)
    np.testing.assert_allclose(
        mean, np.mean([probabilities(member, sst2.dev)[0] for member in members], 0), atol=1e-6
    )
