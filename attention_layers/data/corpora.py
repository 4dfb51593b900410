"""The corpus containers every loader returns, and the deterministic train/validation/test split."""

import dataclasses
import hashlib

SPLIT_NAMES = ("train", "validation", "test")

# Sentences longer than this (characters, whitespace runs counted as one space) are
# skipped by the corpus loaders, in every split. The longest sentence of the Tatoeba
# pairs and of SST-2 has under 300 characters; 512 is about 100 words, more than the
# models are trained on (128 tokens). Without a limit, one valid but huge line (480,000
# characters in a hostile test) lands in a split, and as a test reference of 100,000
# tokens it makes BLEU's brevity penalty, hence BLEU, 0.
MAX_SENTENCE_CHARACTERS = 512


def _no_skips():
    return dict.fromkeys(SPLIT_NAMES, 0)


@dataclasses.dataclass(frozen=True)
class _Splits:
    """What both corpora share: the three splits, `split(name)` and the report of skipped
    overlong lines."""

    train: list
    validation: list
    test: list

    def split(self, name):
        """Returns the split called `name` (`"train"`, `"validation"` or `"test"`)."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"Unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return getattr(self, name)

    def skipped_summary(self):
        """One line for a command's summary, or `""` when nothing was skipped.

        Example: `"skipped 1 overlong example (test: 1)"`; the limit is the loader's
        `max_characters` (default `MAX_SENTENCE_CHARACTERS`).
        """
        total = sum(self.skipped_overlong.values())
        if not total:
            return ""
        counts = ", ".join(
            f"{name}: {count}" for name, count in self.skipped_overlong.items() if count
        )
        noun = "example" if total == 1 else "examples"
        return f"skipped {total} overlong {noun} ({counts})"


@dataclasses.dataclass(frozen=True)
class TranslationCorpus(_Splits):
    """Sentence pairs for translation, split three ways.

    Each split is a list of `(source, target)` pairs of Python strings; in this project the
    source is Spanish and the target English. Pairs are raw text: tokenizers normalize.

    Attributes:
        train: the training pairs.
        validation: pairs for model selection and early stopping.
        test: held-out pairs for the final BLEU.
        alignments: only for the generated corpus: `alignments[split][i]` is the gold word
            alignment of `corpus.<split>[i]`, a dict `{target_word_index:
            source_word_index}` for content words. Indices count the words of
            `attention_layers.text.normalize(text)` split on spaces (punctuation marks are
            words), from 0; a tokenizer that adds `[START]` shifts them by 1.
        skipped_overlong: `{split: count}` of the pairs the loader skipped because a side
            is longer than `MAX_SENTENCE_CHARACTERS` (see `drop_overlong`); all 0 for the
            generated corpus.

    Example:

    ```python
    from attention_layers.data import generate_translation_corpus

    corpus = generate_translation_corpus(num_pairs=100, seed=0)
    source, target = corpus.train[0]  # "¿Dónde duermen mis gatos?", "Where do my cats sleep?"
    corpus.alignments["train"][0]  # {0: 1, 3: 4, 4: 2}: "where" <- "dónde", ...
    ```
    """

    alignments: dict | None = None
    skipped_overlong: dict = dataclasses.field(default_factory=_no_skips)


@dataclasses.dataclass(frozen=True)
class SentimentCorpus(_Splits):
    """Labelled sentences for sentiment classification, split three ways.

    Each split is a list of `(text, label)` pairs: `label` is 1 (positive), 0 (negative),
    or `None` where the corpus gives none (the SST-2 test split, as in GLUE).

    Attributes:
        train: the training examples.
        validation: examples for model selection (SST-2: `dev.tsv`).
        test: held-out examples.
        deciding_tokens: only for the generated corpus: `deciding_tokens[split][i]` is a
            tuple of the word indices (into `normalize(text)` split on spaces) of the words
            that decide the label of `corpus.<split>[i]`: the sentiment word, the negation
            that flips it, the "but" that hands the decision to the second clause.
        skipped_overlong: `{split: count}` of the examples the loader skipped because the
            text is longer than `MAX_SENTENCE_CHARACTERS` (see `drop_overlong`).

    Example:

    ```python
    from attention_layers.data import generate_sentiment_corpus

    corpus = generate_sentiment_corpus(num_examples=100, seed=0)
    text, label = corpus.train[0]
    deciding = corpus.deciding_tokens["train"][0]
    ```
    """

    deciding_tokens: dict | None = None
    skipped_overlong: dict = dataclasses.field(default_factory=_no_skips)


def split_annotated(examples, keys, *, validation_fraction, test_fraction, seed):
    """Splits `(a, b, annotation)` triples as `split_indices_by_key(keys)` does.

    Returns:
        `({split: [(a, b), ...]}, {split: [annotation, ...]})`, for a corpus's splits and
        its per-example annotations (alignments, deciding tokens).
    """
    splits = split_indices_by_key(
        keys, validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed
    )
    pairs = {name: [examples[index][:2] for index in indices] for name, indices in splits.items()}
    annotations = {
        name: [examples[index][2] for index in indices] for name, indices in splits.items()
    }
    return pairs, annotations


def split_indices_by_key(keys, *, validation_fraction=0.1, test_fraction=0.1, seed=0):
    """Assigns items to train/validation/test by a hash of their group key.

    Items with equal keys always land in the same split, so a source sentence with
    several translations is never both trained on and tested on. The assignment of a key
    depends only on the key and the seed, not on the order or the other items, so it is
    stable when a corpus grows or loses lines. Fractions are met in expectation.

    Args:
        keys: one group key (a string) per item.
        validation_fraction: the expected fraction of groups in validation.
        test_fraction: the expected fraction of groups in test.
        seed: changes the assignment.

    Returns:
        A dict `{"train": [...], "validation": [...], "test": [...]}` of item indices,
        each list in increasing order.

    Example:

    >>> splits = split_indices_by_key(["Ve.", "Vete.", "Ve."], test_fraction=0.5)
    >>> (0 in splits["test"]) == (2 in splits["test"])
    True
    """
    if not (
        0 <= validation_fraction and 0 <= test_fraction and validation_fraction + test_fraction < 1
    ):
        raise ValueError(
            "Need 0 <= validation_fraction, 0 <= test_fraction and a sum below 1, got "
            f"{validation_fraction} and {test_fraction}"
        )
    splits = {name: [] for name in SPLIT_NAMES}
    for index, key in enumerate(keys):
        digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
        position = int.from_bytes(digest, "big") / 2**64  # uniform in [0, 1)
        if position < test_fraction:
            splits["test"].append(index)
        elif position < test_fraction + validation_fraction:
            splits["validation"].append(index)
        else:
            splits["train"].append(index)
    return splits


def source_group_key(source):
    """The key that groups source sentences for splitting: case and spacing ignored."""
    return " ".join(source.casefold().split())


def too_few_sentences(corpus):
    """Why a corpus could not fill its three splits: too few pairs, or too few distinct
    source sentences (each goes to one split, with all its translations)."""
    pairs = corpus.train + corpus.validation + corpus.test
    distinct = len({source_group_key(source) for source, _ in pairs})
    if distinct == 1 and len(pairs) > 1:
        return (f"every one of its {len(pairs)} pairs has the same source sentence (they "
                "are duplicates), and one sentence goes to one split; give distinct pairs.")
    if distinct < len(pairs):
        return (f"its {len(pairs)} pairs have only {distinct} distinct source sentences "
                "(the others are duplicates), and each sentence goes to one split; give "
                "more distinct pairs.")
    return f"the file has too few sentence pairs ({len(pairs)})."


def sentence_length(text):
    """The length that `MAX_SENTENCE_CHARACTERS` limits: characters, whitespace runs as one."""
    return len(" ".join(text.split()))


def drop_overlong(splits, *, texts, max_characters=MAX_SENTENCE_CHARACTERS):
    """Removes the examples with a text over `max_characters`, by one rule in every split.

    An overlong example is skipped, not cut: a cut target would no longer translate its
    source, and a cut test reference would be scored as if complete.

    Args:
        splits: `{split name: list of examples}`.
        texts: a function from an example to the strings to measure, e.g. both sides of
            a translation pair.
        max_characters: the longest `sentence_length` kept; `None` keeps everything.

    Returns:
        `(kept, skipped)`: `kept` is `{split name: list}` in the same order, `skipped`
        is `{split name: number of examples removed}`.

    Raises:
        ValueError: `max_characters` is not a positive int or `None`.

    Example:

    >>> kept, skipped = drop_overlong(
    ...     {"train": [("Hola.", "Hello.")], "validation": [], "test": [("a" * 600, "b")]},
    ...     texts=lambda pair: pair)
    >>> kept["test"], skipped
    ([], {'train': 0, 'validation': 0, 'test': 1})
    """
    if max_characters is not None and (
        isinstance(max_characters, bool)
        or not isinstance(max_characters, int)
        or max_characters < 1
    ):
        raise ValueError(f"max_characters must be a positive int or None, got {max_characters!r}")
    kept, skipped = {}, {}
    for name, examples in splits.items():
        kept[name] = [
            example
            for example in examples
            if max_characters is None
            or all(sentence_length(text) <= max_characters for text in texts(example))
        ]
        skipped[name] = len(examples) - len(kept[name])
    return kept, skipped
