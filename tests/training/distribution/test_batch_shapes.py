"""Length buckets: an epoch has a small, fixed set of batch shapes (one compile each)."""

import numpy as np
import pytest

from attention_layers.data import (
    bucket_lengths,
    generate_sentiment_corpus,
    make_classification_dataset,
    make_translation_dataset,
)
from attention_layers.text import WordTokenizer
from tests.helpers import generated_translation


@pytest.fixture(scope="module")
def translation():
    return generated_translation(1500, seed=3)


def shapes_of(dataset):
    return {tuple(tuple(tensor.shape) for tensor in _flatten(batch)) for batch in dataset}


def _flatten(batch):
    if isinstance(batch, tuple):
        return [leaf for part in batch for leaf in _flatten(part)]
    return [batch]


def test_bucket_lengths():
    assert bucket_lengths(24) == [3, 5, 7, 9, 11, 13, 15, 19, 23, 24]
    assert bucket_lengths(3) == [3]
    assert len(bucket_lengths(128)) == 20


def test_an_epoch_has_at_most_two_shapes_per_bucket(translation):
    corpus, spanish, english = translation
    max_length = 24
    dataset = make_translation_dataset(
        corpus.train, spanish, english, batch_size=32, max_length=max_length, shuffle=True
    )
    lengths = bucket_lengths(max_length)
    for _epoch in range(2):
        shapes = shapes_of(dataset)
        # Full batches and one last, smaller batch per bucket; the corpus fills only a few.
        assert len(shapes) <= 2 * len(lengths)
        for (source, target_in, target_out) in shapes:
            assert source[1] in lengths and min(source[1], max_length - 1) == target_in[1]
            assert target_in == target_out and source[0] == target_in[0]
        full = {shape for shape in shapes if shape[0][0] == 32}
        assert len(full) <= len(lengths) and len({s[0][1] for s in full}) == len(full)
    # Without fixed lengths a padded batch takes its longest sentence's length: more shapes.
    plain = make_translation_dataset(
        corpus.train, spanish, english, batch_size=32, max_length=max_length,
        bucket_by_length=False,
    )
    assert len(shapes_of(plain)) > len(shapes)


def test_batch_multiple_splits_evenly_and_drops_few(translation):
    corpus, spanish, english = translation
    dataset = make_translation_dataset(
        corpus.train, spanish, english, batch_size=32, max_length=24, batch_multiple=4
    )
    sizes = [int(target_out.shape[0]) for _, target_out in dataset]
    assert all(size % 4 == 0 and size > 0 for size in sizes)
    dropped = len(corpus.train) - sum(sizes)
    assert 0 <= dropped < 4 * len(bucket_lengths(24))
    with pytest.raises(ValueError, match="batch_multiple"):
        make_translation_dataset(corpus.train, spanish, english, batch_size=30, batch_multiple=4)


def test_classification_batches_have_bucket_lengths():
    corpus = generate_sentiment_corpus(600, seed=4)
    tokenizer = WordTokenizer.build([text for text, _ in corpus.train])
    dataset = make_classification_dataset(corpus.train, tokenizer, batch_size=16, max_length=40)
    lengths = bucket_lengths(40)
    seen = set()
    for tokens, labels in dataset:
        assert tokens.shape[1] in lengths and labels.shape == (tokens.shape[0],)
        real = np.count_nonzero(tokens.numpy(), axis=1)
        # Padded to the smallest bucket length that holds the batch's longest text.
        assert tokens.shape[1] == min(length for length in lengths if length >= real.max())
        seen.add(tuple(tokens.shape))
    assert len(seen) <= 2 * len(lengths)
