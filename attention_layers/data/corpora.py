"""The corpus containers every loader returns, and the deterministic train/validation/test split."""

import dataclasses
import hashlib

SPLIT_NAMES = ("train", "validation", "test")


@dataclasses.dataclass(frozen=True)
class TranslationCorpus:
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

    Example:

    ```python
    from attention_layers.data import generate_translation_corpus

    corpus = generate_translation_corpus(num_pairs=100, seed=0)
    source, target = corpus.train[0]  # "¿Dónde duermen mis gatos?", "Where do my cats sleep?"
    corpus.alignments["train"][0]  # {0: 1, 3: 4, 4: 2}: "where" <- "dónde", ...
    ```
    """

    train: list
    validation: list
    test: list
    alignments: dict | None = None

    def split(self, name):
        """Returns the split called `name` (`"train"`, `"validation"` or `"test"`)."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"Unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return getattr(self, name)


@dataclasses.dataclass(frozen=True)
class SentimentCorpus:
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

    Example:

    ```python
    from attention_layers.data import generate_sentiment_corpus

    corpus = generate_sentiment_corpus(num_examples=100, seed=0)
    text, label = corpus.train[0]
    deciding = corpus.deciding_tokens["train"][0]
    ```
    """

    train: list
    validation: list
    test: list
    deciding_tokens: dict | None = None

    def split(self, name):
        """Returns the split called `name` (`"train"`, `"validation"` or `"test"`)."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"Unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return getattr(self, name)


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
