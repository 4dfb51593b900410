"""The generated sentiment corpus: labels decided by structure, recorded deciding words."""

import collections

import pytest

from attention_layers.data import generate_sentiment_corpus
from attention_layers.data.generated_sentiment import NEGATIVE_WORDS, POSITIVE_WORDS
from attention_layers.text import normalize

NEGATIONS = {"not", "never", "nobody"}


@pytest.fixture(scope="module")
def generated():
    corpus = generate_sentiment_corpus(6000, seed=0)
    examples, deciding = [], []
    for name in ("train", "validation", "test"):
        examples += corpus.split(name)
        deciding += corpus.deciding_tokens[name]
    words = [line.decode().split() for line in normalize([text for text, _ in examples]).numpy()]
    return corpus, examples, deciding, words


def test_size_determinism_and_disjoint_splits(generated):
    corpus, examples, *_ = generated
    assert len(examples) == 6000 == len({text for text, _ in examples})
    split_texts = [
        {text for text, _ in corpus.split(name)} for name in ("train", "validation", "test")
    ]
    assert not (
        split_texts[0] & split_texts[1]
        or split_texts[0] & split_texts[2]
        or split_texts[1] & split_texts[2]
    )
    assert generate_sentiment_corpus(200, seed=3) == generate_sentiment_corpus(200, seed=3)
    assert generate_sentiment_corpus(200, seed=3) != generate_sentiment_corpus(200, seed=4)


def test_labels_are_balanced_and_no_single_word_gives_them_away(generated):
    _, examples, _, words = generated
    labels = [label for _, label in examples]
    assert 0.47 < sum(labels) / len(labels) < 0.53
    positive_rate = collections.defaultdict(list)
    for sentence, label in zip(words, labels, strict=True):
        for word in set(sentence):
            positive_rate[word].append(label)
    for word in (*POSITIVE_WORDS, *NEGATIVE_WORDS, *NEGATIONS, "but"):
        rate = sum(positive_rate[word]) / len(positive_rate[word])
        assert 0.38 < rate < 0.62, (word, rate)


def test_deciding_tokens_recompute_the_label(generated):
    _, examples, deciding, words = generated
    for (text, label), indices, sentence in zip(examples, deciding, words, strict=True):
        decisive = [sentence[index] for index in indices]
        assert decisive[-1] in POSITIVE_WORDS or decisive[-1] in NEGATIVE_WORDS, (text, decisive)
        polarity = decisive[-1] in POSITIVE_WORDS
        negated = any(word in NEGATIONS for word in decisive)
        assert int(polarity != negated) == label, (text, decisive)
        if "but" in sentence:
            assert decisive[0] == "but" and indices[0] == sentence.index("but")
            assert all(index > indices[0] for index in indices[1:])


def test_negation_is_often_far_from_the_word_it_flips(generated):
    _, _, deciding, words = generated
    distances = [
        indices[-1] - indices[-2]
        for indices, sentence in zip(deciding, words, strict=True)
        if len(indices) >= 2 and sentence[indices[-2]] in NEGATIONS
    ]
    assert len(distances) > 2000
    assert sum(distance >= 6 for distance in distances) / len(distances) > 0.4
    assert max(distances) >= 15


def test_text_reads_as_english(generated):
    _, examples, *_ = generated
    assert examples[0][0][0].isupper()
    assert all(text.endswith(".") and " ." not in text and " ," not in text for text, _ in examples)
    assert any(", but I never thought that" in text for text, _ in examples)
