"""`tf.data` pipelines: tokenized once, cached, batched by length, prefetched.

Translation batches are teacher-forcing pairs `((source, target_in), target_out)`; a
classifier's batches are `(tokens, label)`. Padding is id 0 everywhere, so a Keras
`Embedding(mask_zero=True)` or a `!= 0` mask recovers the lengths.

Batching by length (`tf.data.Dataset.bucket_by_sequence_length`) groups sequences of
similar length, and every batch of a bucket is padded to that bucket's fixed length
(`bucket_lengths`): little compute goes to padding (`padding_fraction` measures it), and an
epoch has at most two batch shapes per bucket (full batches and one last, smaller batch),
so XLA and JAX compile a few step functions instead of one per batch.
"""

import dataclasses

import tensorflow as tf

from attention_layers.text.tokenizers import DEFAULT_MAX_LENGTH, PAD_ID

# Strings are tokenized this many at a time: one vectorized call per chunk is much
# faster than one call per sentence.
_TOKENIZATION_CHUNK = 1024


@dataclasses.dataclass(frozen=True)
class DatasetSplits:
    """The three `tf.data.Dataset`s of a corpus: `train` (shuffled), `validation`, `test`.

    Example:

    ```python
    datasets = make_translation_datasets(corpus, spanish, english)
    model.fit(datasets.train, validation_data=datasets.validation)
    model.evaluate(datasets.test)
    ```
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset


def bucket_boundaries(max_length):
    """The length buckets' upper bounds: 4, 6, ..., 16, 20, ..., 32, 40, ..., up to `max_length`.

    The step doubles with the length, so the padding within a bucket stays below about
    a fifth of its sequences' length.

    Args:
        max_length: the longest sequence.

    Returns:
        A list of increasing ints, all at most `max_length` (a sequence of length `n`
        falls in the first bucket whose bound exceeds `n`, or in the last one).

    Example:

    >>> bucket_boundaries(24)
    [4, 6, 8, 10, 12, 14, 16, 20, 24]
    """
    boundaries, length = [], 4
    while length <= max_length:
        boundaries.append(length)
        length += max(2, 2 ** (length.bit_length() - 3))
    return boundaries


def bucket_lengths(max_length):
    """The lengths that length-bucketed batches are padded to: one per bucket.

    A sequence of length `n` falls in the first bucket whose bound (`bucket_boundaries`)
    exceeds `n`, so that bucket is padded to the bound minus one; the last bucket, from
    the largest bound up, is padded to `max_length`.

    Args:
        max_length: the longest sequence.

    Returns:
        A list of increasing ints, the last one `max_length`.

    Example:

    >>> bucket_lengths(24)
    [3, 5, 7, 9, 11, 13, 15, 19, 23, 24]
    """
    return [bound - 1 for bound in bucket_boundaries(max_length)] + [max_length]


def make_translation_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    *,
    batch_size=64,
    max_length=DEFAULT_MAX_LENGTH,
    bucket_by_length=True,
    shuffle=False,
    seed=0,
    batch_multiple=1,
):
    """Builds the teacher-forcing dataset of one split of sentence pairs.

    Each pair is tokenized with `[START]` and `[END]` (`target = [START] y1 ... yn [END]`),
    then split for teacher forcing: the decoder reads `target_in = [START] y1 ... yn` and
    learns to predict `target_out = y1 ... yn [END]`, one step ahead.

    Args:
        pairs: a list of `(source, target)` strings (a `TranslationCorpus` split).
        source_tokenizer: a `attention_layers.text.Tokenizer` for the source language.
        target_tokenizer: a `Tokenizer` for the target language.
        batch_size: sentence pairs per batch.
        max_length: the most tokens per sequence, `[START]`/`[END]` included; longer
            sentences are truncated (see `Tokenizer.tokenize`).
        bucket_by_length: batch sentences of similar length together, each batch padded
            to its bucket's length (`bucket_lengths`); `False` batches them in order,
            each batch padded to its longest sentence.
        shuffle: reshuffle the pairs every epoch (for training).
        seed: the shuffle seed.
        batch_multiple: every batch's size is made a multiple of this (a batch split
            evenly over that many devices, as `keras.distribution.DataParallel` needs);
            the last batch of a bucket drops its few extra examples (fewer than
            `batch_multiple`). `batch_size` must be a multiple of it.

    Returns:
        A `tf.data.Dataset` of `((source, target_in), target_out)`: int64 tensors of
        shapes `(batch, source_length)`, `(batch, target_length)` and
        `(batch, target_length)`, padded with 0. Tokenization runs once: the tokenized
        pairs are cached in memory, and batches are prefetched.

    Example:

    ```python
    from attention_layers.data import generate_translation_corpus, make_translation_dataset
    from attention_layers.text import WordTokenizer

    corpus = generate_translation_corpus(2000)
    spanish = WordTokenizer.build([source for source, _ in corpus.train])
    english = WordTokenizer.build([target for _, target in corpus.train])
    dataset = make_translation_dataset(corpus.validation, spanish, english, batch_size=32)
    (source, target_in), target_out = next(iter(dataset))
    ```
    """
    if not pairs:
        raise ValueError("No sentence pairs to make a dataset of")
    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]

    def tokenize(source, target):
        return (
            source_tokenizer.tokenize(source, max_length=max_length),
            target_tokenizer.tokenize(target, max_length=max_length),
        )

    def teacher_forcing(source, target):
        return (source, target[:-1]), target[1:]

    dataset = _tokenized(
        tf.data.Dataset.from_tensor_slices((sources, targets)), tokenize, teacher_forcing
    )
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)

    def length(inputs, target_out):
        source, _ = inputs
        return tf.maximum(tf.shape(source)[0], tf.shape(target_out)[0])

    def targets_within_max_length(inputs, target_out):
        # A bucket pads every sequence to its length, which can reach `max_length`, but
        # the teacher-forcing halves are one shorter: keep them so, as the models expect.
        source, target_in = inputs
        return (source, target_in[:, : max_length - 1]), target_out[:, : max_length - 1]

    batched = _batch(dataset, length, batch_size, max_length, bucket_by_length, batch_multiple)
    return batched.map(targets_within_max_length).prefetch(tf.data.AUTOTUNE)


def make_translation_datasets(corpus, source_tokenizer, target_tokenizer, **options):
    """Builds the train (shuffled), validation and test datasets of a `TranslationCorpus`.

    Args:
        corpus: a `TranslationCorpus` (`load_spa_eng`, `generate_translation_corpus`).
        source_tokenizer, target_tokenizer: as for `make_translation_dataset`.
        **options: `batch_size`, `max_length`, `bucket_by_length`, `seed`,
            `batch_multiple`, as for `make_translation_dataset`.

    Returns:
        A `DatasetSplits` of `((source, target_in), target_out)` datasets.

    Example:

    ```python
    corpus = generate_translation_corpus()  # or load_spa_eng(path)
    spanish = WordTokenizer.build([source for source, _ in corpus.train])
    english = WordTokenizer.build([target for _, target in corpus.train])
    datasets = make_translation_datasets(corpus, spanish, english, batch_size=64)
    model.fit(datasets.train, validation_data=datasets.validation, epochs=10)
    ```
    """
    return _splits(make_translation_dataset, corpus, (source_tokenizer, target_tokenizer), options)


def make_classification_dataset(
    examples,
    tokenizer,
    *,
    batch_size=64,
    max_length=DEFAULT_MAX_LENGTH,
    bucket_by_length=True,
    shuffle=False,
    seed=0,
    batch_multiple=1,
):
    """Builds the dataset of one split of labelled (or unlabelled) sentences.

    Sentences are tokenized without `[START]`/`[END]`.

    Args:
        examples: a list of `(text, label)` (a `SentimentCorpus` split); labels are ints,
            floats in [0, 1] (soft targets, such as a teacher's for distillation), or all
            `None` for an unlabelled split such as the SST-2 test set.
        tokenizer: a `attention_layers.text.Tokenizer`.
        batch_size, max_length, bucket_by_length, shuffle, seed, batch_multiple: as for
            `make_translation_dataset`.

    Returns:
        A `tf.data.Dataset` of `(tokens, label)`: int64 `(batch, length)` padded with 0,
        and int32 `(batch,)` (float32 when a label is a float); or of `tokens` alone when
        the labels are `None`.

    Example:

    ```python
    corpus = generate_sentiment_corpus(2000)
    tokenizer = WordTokenizer.build([text for text, _ in corpus.train])
    dataset = make_classification_dataset(corpus.train, tokenizer, shuffle=True)
    tokens, labels = next(iter(dataset))
    ```
    """
    if not examples:
        raise ValueError("No examples to make a dataset of")
    texts = [text for text, _ in examples]
    labels = [label for _, label in examples]
    labelled = labels[0] is not None
    if any((label is not None) != labelled for label in labels):
        raise ValueError("Either every example has a label or none has")

    def tokenize(text, *label):  # `label` is empty for an unlabelled split
        tokens = tokenizer.tokenize(text, add_start_end=False, max_length=max_length)
        return (tokens, *label) if label else tokens

    if labelled:
        soft = any(isinstance(label, float) for label in labels)  # a teacher's targets
        dataset = tf.data.Dataset.from_tensor_slices(
            (texts, tf.constant(labels, tf.float32 if soft else tf.int32))
        )
    else:
        dataset = tf.data.Dataset.from_tensor_slices(texts)
    dataset = _tokenized(dataset, tokenize, _as_dense)
    if shuffle:
        dataset = dataset.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)

    def length(tokens, *label):
        return tf.shape(tokens)[0]

    return _batch(
        dataset, length, batch_size, max_length, bucket_by_length, batch_multiple
    ).prefetch(tf.data.AUTOTUNE)


def make_classification_datasets(corpus, tokenizer, **options):
    """Builds the train (shuffled), validation and test datasets of a `SentimentCorpus`.

    Args:
        corpus: a `SentimentCorpus` (`load_sst2`, `generate_sentiment_corpus`).
        tokenizer: as for `make_classification_dataset`.
        **options: `batch_size`, `max_length`, `bucket_by_length`, `seed`,
            `batch_multiple`, as for `make_classification_dataset`.

    Returns:
        A `DatasetSplits`; a split without labels (SST-2 test) yields tokens only.

    Example:

    ```python
    corpus = generate_sentiment_corpus()  # or load_sst2(path)
    tokenizer = WordTokenizer.build([text for text, _ in corpus.train])
    datasets = make_classification_datasets(corpus, tokenizer, batch_size=64)
    model.fit(datasets.train, validation_data=datasets.validation, epochs=5)
    ```
    """
    return _splits(make_classification_dataset, corpus, (tokenizer,), options)


def padding_fraction(dataset):
    """The fraction of padding (id 0) among the token ids of a batched dataset.

    Every rank-2 tensor of each batch counts (for translation: source, target_in and
    target_out); labels do not.

    Args:
        dataset: a batched dataset from this module.

    Returns:
        A float in [0, 1].

    Example:

    ```python
    bucketed = make_translation_dataset(pairs, spanish, english, shuffle=True)
    plain = make_translation_dataset(pairs, spanish, english, shuffle=True, bucket_by_length=False)
    padding_fraction(bucketed), padding_fraction(plain)  # about 0.13 and 0.52 on spa.txt
    ```
    """
    padding = total = 0
    for batch in dataset:
        for tensor in tf.nest.flatten(batch):
            if tensor.shape.rank == 2:
                padding += int(tf.reduce_sum(tf.cast(tf.equal(tensor, PAD_ID), tf.int64)))
                total += int(tf.size(tensor))
    return padding / total if total else 0.0


def _tokenized(dataset, tokenize, per_example):
    """Tokenizes `dataset` a chunk at a time, then maps and caches each example."""
    dataset = (
        dataset.batch(_TOKENIZATION_CHUNK)
        .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
    )
    return dataset.map(per_example).cache()


def _splits(make_dataset, corpus, tokenizers, options):
    """The `DatasetSplits` of `corpus`, made by `make_dataset`; only `train` is shuffled."""
    return DatasetSplits(
        **{
            name: make_dataset(corpus.split(name), *tokenizers, shuffle=name == "train", **options)
            for name in ("train", "validation", "test")
        }
    )


def _as_dense(*element):
    # Unbatching leaves 1-D ragged tensors, which padded batching rejects; a map receives
    # them as dense tensors.
    return element if len(element) > 1 else element[0]


def _batch(dataset, length, batch_size, max_length, bucket_by_length, batch_multiple):
    if batch_size % batch_multiple:
        raise ValueError(
            f"`batch_size` ({batch_size}) must be a multiple of `batch_multiple` "
            f"({batch_multiple})"
        )
    if not bucket_by_length:
        batched = dataset.padded_batch(batch_size)
    else:
        # With `pad_to_bucket_boundary`, a bucket is padded to its bound minus one, and
        # every length must stay below the last bound: `max_length + 1` closes the last
        # bucket at `max_length` (see `bucket_lengths`).
        boundaries = bucket_boundaries(max_length) + [max_length + 1]
        batched = dataset.bucket_by_sequence_length(
            element_length_func=length,
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=True,
        )
    if batch_multiple == 1:
        return batched

    def whole_multiple(*batch):
        rows = tf.shape(tf.nest.flatten(batch)[0])[0] // batch_multiple * batch_multiple
        return tf.nest.map_structure(lambda tensor: tensor[:rows], batch)

    batched = batched.map(whole_multiple)
    return batched.filter(lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] > 0)


def _count_batches(dataset):
    return int(dataset.reduce(0, lambda count, _: count + 1))


def known_steps(datasets):
    """A copy of a `DatasetSplits` whose datasets state their number of batches.

    Batching by length gives `tf.data` an unknown cardinality; the number of batches is
    the same every epoch (each length bucket holds the same sentences, only their order
    changes), so one pass counts it and `assert_cardinality` records it.
    """
    counted = {}
    for field in dataclasses.fields(datasets):
        dataset = getattr(datasets, field.name)
        if dataset.cardinality() < 0:
            count = _count_batches(dataset)
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
        counted[field.name] = dataset
    return dataclasses.replace(datasets, **counted)
