"""A generated sentiment corpus whose labels are decided by sentence structure: the offline default.

Sentences are short movie-review statements. The label is never given away by one word:

- every sentiment word ("good", "dull") appears as often in positive as in negative
  sentences, because a negation flips it, sometimes far away ("I never thought that the
  music in the second half of the film was good" is negative);
- in "A, but B" the second clause decides, and the first clause always says the opposite
  ("The plot was dull, but the acting was superb" is positive).

So a bag-of-words model stays near chance, and a model must relate words across the
sentence; the words that decide each label are recorded as token indices, to check what
an attention-based classifier looks at.
"""

import random
import re

from attention_layers.data.corpora import SentimentCorpus, split_annotated

POSITIVE_WORDS = (
    "good",
    "great",
    "wonderful",
    "brilliant",
    "moving",
    "funny",
    "charming",
    "beautiful",
    "clever",
    "delightful",
    "superb",
    "gripping",
)
NEGATIVE_WORDS = (
    "bad",
    "awful",
    "boring",
    "dull",
    "terrible",
    "weak",
    "clumsy",
    "tedious",
    "bland",
    "lifeless",
    "silly",
    "forgettable",
)
_SUBJECTS = (
    "the acting",
    "the story",
    "the plot",
    "the music",
    "the ending",
    "the script",
    "the dialogue",
    "the cast",
    "the film",
    "the movie",
    "the direction",
    "the photography",
)
# Neutral phrases that put distance between a negation and the word it flips.
_FILLERS = (
    "of this film",
    "in the second half",
    "of the first hour",
    "in most scenes",
    "by the young director",
    "about the old sailor",
    "for the whole cast",
    "in the final act",
    "of the long journey",
    "after the opening scene",
)
_INTENSIFIERS = ("very", "quite", "truly", "rather")
# Frames around "<subject> was <word>": (affirmative, negated). Each pair differs only in
# the negation word, the word index recorded with the label.
_FRAMES = (
    ("{subject} was {word}", "{subject} was not {word}"),
    ("{subject} was {word}", "{subject} was never {word}"),
    ("i thought that {subject} was {word}", "i never thought that {subject} was {word}"),
    ("i would say that {subject} was {word}", "i would not say that {subject} was {word}"),
    ("everyone agrees that {subject} was {word}", "nobody agrees that {subject} was {word}"),
    ("it is true that {subject} was {word}", "it is not true that {subject} was {word}"),
)
# The words that flip a clause; a negated clause records one of them among its deciding words.
NEGATIONS = frozenset({"not", "never", "nobody"})
_BUT_PROBABILITY = 0.5
_NEGATION_PROBABILITY = 0.5


def _clause(rng, label):
    """Words of a clause with sentiment `label`, and the indices of its deciding words."""
    negated = rng.random() < _NEGATION_PROBABILITY
    # A negated clause needs a word of the opposite polarity to say `label`.
    word_is_positive = bool(label) != negated
    word = rng.choice(POSITIVE_WORDS if word_is_positive else NEGATIVE_WORDS)
    subject = " ".join([rng.choice(_SUBJECTS), *rng.sample(_FILLERS, rng.choice((0, 0, 1, 2)))])
    if rng.random() < 0.3:
        word = f"{rng.choice(_INTENSIFIERS)} {word}"
    frame = rng.choice(_FRAMES)[int(negated)]
    words = frame.format(subject=subject, word=word).split()
    deciding = [len(words) - 1]
    if negated:
        deciding.insert(0, next(i for i, w in enumerate(words) if w in NEGATIONS))
    return words, deciding


def _example(rng):
    label = rng.randrange(2)
    if rng.random() < _BUT_PROBABILITY:
        first, _ = _clause(rng, 1 - label)
        second, second_deciding = _clause(rng, label)
        words = [*first, ",", "but", *second, "."]
        offset = len(first) + 2
        deciding = (len(first) + 1, *(offset + index for index in second_deciding))
    else:
        words, clause_deciding = _clause(rng, label)
        words.append(".")
        deciding = tuple(clause_deciding)
    return words, label, deciding


def _surface(words):
    text = re.sub(r" ([.,])", r"\1", " ".join(words))
    text = re.sub(r"\bi\b", "I", text)
    return text[0].upper() + text[1:]


def generate_sentiment_corpus(
    num_examples=20_000, *, seed=0, validation_fraction=0.1, test_fraction=0.1
):
    """Generates the sentiment corpus; labels are balanced and decided by structure.

    Args:
        num_examples: the number of distinct sentences over all splits.
        seed: the random seed for sentences and split; the same seed gives the same corpus.
        validation_fraction: the expected fraction of examples in validation.
        test_fraction: the expected fraction of examples in test.

    Returns:
        A `SentimentCorpus` of `(text, label)` pairs (1 positive, 0 negative) with
        `deciding_tokens`: per example, the indices of the words (as
        `attention_layers.text.normalize` splits them) that decide the label, in order:
        "but" when there is one, the negation (one of `NEGATIONS`) when the deciding
        clause is negated, and last the sentiment word.

    Example:

    >>> corpus = generate_sentiment_corpus(num_examples=1000, seed=0)
    >>> text, label = corpus.train[0]
    >>> deciding = corpus.deciding_tokens["train"][0]
    """
    rng = random.Random(seed)
    examples, seen = [], set()
    while len(examples) < num_examples:
        words, label, deciding = _example(rng)
        text = _surface(words)
        if text not in seen:
            seen.add(text)
            examples.append((text, label, deciding))
    splits, deciding_tokens = split_annotated(
        examples, [text for text, _, _ in examples], validation_fraction=validation_fraction,
        test_fraction=test_fraction, seed=seed,
    )
    return SentimentCorpus(**splits, deciding_tokens=deciding_tokens)
