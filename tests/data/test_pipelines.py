"""`tf.data` pipelines: teacher forcing, padding id 0, length bucketing, every example once."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from attention_layers.data import (
    bucket_boundaries,
    generate_sentiment_corpus,
    make_classification_dataset,
    make_classification_datasets,
    make_translation_dataset,
    make_translation_datasets,
    padding_fraction,
)
from attention_layers.text import (
    END_ID,
    START_ID,
    WordPieceTokenizer,
    WordTokenizer,
    canonical_text,
)
from tests.helpers import generated_translation


def decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy()]


@pytest.fixture(scope="module")
def translation():
    return generated_translation(1000, seed=1)


def test_batches_are_teacher_forcing_pairs_padded_with_zero(translation):
    corpus, spanish, english = translation
    datasets = make_translation_datasets(corpus, spanish, english, batch_size=16)
    for (source, target_in), target_out in datasets.validation:
        assert source.dtype == target_in.dtype == target_out.dtype == tf.int64
        assert source.shape[0] == target_in.shape[0] == target_out.shape[0] <= 16
        assert target_in.shape == target_out.shape
        source, target_in, target_out = source.numpy(), target_in.numpy(), target_out.numpy()
        for row_in, row_out, row_source in zip(target_in, target_out, source, strict=True):
            length = np.count_nonzero(row_out)
            assert np.count_nonzero(row_in) == length and not row_out[length:].any()
            assert row_in[0] == START_ID and row_out[length - 1] == END_ID
            assert END_ID not in row_in  # the decoder never reads [END]
            np.testing.assert_array_equal(row_in[1:length], row_out[: length - 1])
            source_length = np.count_nonzero(row_source)
            assert row_source[0] == START_ID and row_source[source_length - 1] == END_ID
            assert not row_source[source_length:].any()


def test_every_pair_comes_out_once_per_epoch(translation):
    corpus, spanish, english = translation
    dataset = make_translation_dataset(corpus.train, spanish, english, batch_size=32, shuffle=True)
    sources = spanish.tokenize([source for source, _ in corpus.train]).to_list()
    targets = english.tokenize([target for _, target in corpus.train]).to_list()
    expected = collections.Counter(
        (tuple(s), tuple(t[1:])) for s, t in zip(sources, targets, strict=True)
    )
    epochs = []
    for _ in range(2):
        pairs = []
        for (source, _), target_out in dataset:
            pairs += [
                (tuple(s[s != 0]), tuple(t[t != 0]))
                for s, t in zip(source.numpy(), target_out.numpy(), strict=True)
            ]
        assert collections.Counter(pairs) == expected
        epochs.append(pairs)
    assert epochs[0] != epochs[1]  # reshuffled every epoch
    # The ids are those of the corpus text, in its canonical form.
    (source, _), target_out = next(iter(dataset))
    canonical_pairs = set(
        zip(
            decoded(canonical_text([s for s, _ in corpus.train])),
            decoded(canonical_text([t for _, t in corpus.train])),
            strict=True,
        )
    )
    assert (
        set(
            zip(
                decoded(spanish.detokenize(source)),
                decoded(english.detokenize(target_out)),
                strict=True,
            )
        )
        <= canonical_pairs
    )


def test_bucketing_cuts_padding(translation):
    corpus, spanish, english = translation
    bucketed = make_translation_dataset(corpus.train, spanish, english, batch_size=32, shuffle=True)
    plain = make_translation_dataset(
        corpus.train, spanish, english, batch_size=32, shuffle=True, bucket_by_length=False
    )
    with_buckets, without_buckets = padding_fraction(bucketed), padding_fraction(plain)
    assert with_buckets < 0.2 < 0.3 < without_buckets
    boundaries = bucket_boundaries(128)
    for (source, _), target_out in bucketed:
        lengths = np.maximum(
            np.count_nonzero(source.numpy(), axis=1), np.count_nonzero(target_out.numpy(), axis=1)
        )
        assert np.searchsorted(boundaries, lengths.min(), side="right") == np.searchsorted(
            boundaries, lengths.max(), side="right"
        )


def test_max_length_truncates_in_the_pipeline(translation):
    corpus, spanish, english = translation
    dataset = make_translation_dataset(
        corpus.validation, spanish, english, batch_size=64, max_length=6
    )
    for (source, target_in), target_out in dataset:
        assert source.shape[1] <= 6 and target_in.shape[1] <= 5
        lengths = np.count_nonzero(target_out.numpy(), axis=1)
        assert all(
            row[length - 1] == END_ID
            for row, length in zip(target_out.numpy(), lengths, strict=True)
        )


def test_bucket_boundaries():
    assert bucket_boundaries(24) == [4, 6, 8, 10, 12, 14, 16, 20, 24]
    assert bucket_boundaries(128)[-6:] == [56, 64, 80, 96, 112, 128]
    assert bucket_boundaries(3) == []


def test_classification_batches_pair_tokens_with_their_labels():
    corpus = generate_sentiment_corpus(800, seed=2)
    tokenizer = WordPieceTokenizer.build([text for text, _ in corpus.train], vocabulary_size=300)
    datasets = make_classification_datasets(corpus, tokenizer, batch_size=32)
    labels = dict(
        zip(
            decoded(canonical_text([t for t, _ in corpus.validation])),
            (label for _, label in corpus.validation),
            strict=True,
        )
    )
    seen = 0
    for tokens, label in datasets.validation:
        assert tokens.dtype == tf.int64 and label.dtype == tf.int32
        assert START_ID not in tokens.numpy() and END_ID not in tokens.numpy()
        for text, value in zip(
            decoded(tokenizer.detokenize(tokens)), label.numpy().tolist(), strict=True
        ):
            assert labels[text] == value
            seen += 1
    assert seen == len(corpus.validation)


def test_unlabelled_examples_give_tokens_only_and_mixed_labels_are_refused():
    tokenizer = WordTokenizer.build(["a b c"])
    dataset = make_classification_dataset(
        [("a b", None), ("c", None)], tokenizer, bucket_by_length=False
    )
    assert [batch.numpy().tolist() for batch in dataset] == [[[4, 5], [6, 0]]]
    with pytest.raises(ValueError, match="Either every example has a label or none"):
        make_classification_dataset([("a", 1), ("b", None)], tokenizer)
    with pytest.raises(ValueError, match="No examples"):
        make_classification_dataset([], tokenizer)
