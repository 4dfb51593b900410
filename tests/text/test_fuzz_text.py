"""Fuzzing normalization and the tokenizers: any input gives a valid result or a clear error.

Inputs are any Unicode text (control characters, invisible and exotic spaces, combining
marks, emoji), invalid UTF-8 bytes, huge lines, and bad arguments; a valid result
satisfies the documented properties, an error is a `ValueError` naming the argument.
How many cases run: see `tests/fuzzing.py`.
"""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import example, given
from hypothesis import strategies as st

from attention_layers.text import (
    END_ID,
    PAD_ID,
    START_ID,
    UNK_ID,
    WordPieceTokenizer,
    WordTokenizer,
    join_punctuation,
    normalize,
)
from tests.fuzzing import examples

# Characters that have broken text pipelines: tabs and line ends, NUL, the Unicode line
# and paragraph separators, exotic spaces (no-break, ogham, ideographic), invisible
# format characters, apostrophe look-alikes, combining accents, ligatures, Spanish
# punctuation, full-width letters, emoji with modifiers.
TRICKY = list(
    "\t\n\r\x00\x0b\x0c\x1c\x85 \u00a0\u1680\u2000\u2007\u2028\u2029\u202f\u3000"
    "\u200b\u200d\ufeff\u00ad\u202e'’´`\u0301\u0303ﬁÅÑñ¿¡?!.,;:-—«»\"()[]"
    "ＡＢ１２😀🏽👍ß İ ı ǅ Σσς 0123 abc xyz"
)
TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from(TRICKY), max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20).map(lambda s: s * 50),
)
RAW = st.one_of(TEXT, st.binary(max_size=80))
CORPUS = [
    "El perro negro duerme.",
    "¿Dónde está el baño?",
    "¡Hola, Tom! ¿Qué tal?",
    "La niña lee un libro en el jardín.",
    "Las canciones de mi niñez son bonitas.",
]
HUGE_LINE = "El gato duerme. " * 6_250  # 100,000 characters


def decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy().reshape(-1)]


@pytest.fixture(scope="module")
def tokenizers():
    return {
        "word": WordTokenizer.build(CORPUS),
        "wordpiece": WordPieceTokenizer.build(CORPUS * 10, vocabulary_size=80),
    }


def check_normalized(text):
    """The properties `normalize` promises of its output."""
    assert text == text.strip() and "  " not in text
    # Python's idea of whitespace (every Unicode space) agrees with the single spaces.
    assert text.split() == (text.split(" ") if text else [])
    for character in text:
        assert unicodedata.category(character) not in ("Cc", "Cf"), repr(character)
    assert unicodedata.normalize("NFC", text) == text


@examples(150)
@given(st.lists(RAW, min_size=1, max_size=6))
@example([HUGE_LINE, b"\xff\xfe\xc3( caf\xe9", ""])
@example(["a\u1680b", "x\u2028y\u2029z"])  # spaces that RE2's \s does not match
def test_normalize_any_input_gives_normalized_text(texts):
    normalized = decoded(normalize(texts))  # valid UTF-8, or decoding raises
    assert len(normalized) == len(texts)
    for text in normalized:
        check_normalized(text)
    assert decoded(normalize(normalized)) == normalized  # idempotent
    assert decoded(normalize(join_punctuation(normalized))) == normalized  # loses nothing
    assert decoded(normalize(texts[:1])) == normalized[:1]  # rows are independent


@examples(60)
@given(st.lists(TEXT, min_size=1, max_size=6))
@example(["a\u1680b", "uno\u2028dos"])
@example(["x" * 5_000, "Ünïcödé ǅ ß ﬁ"])
def test_a_word_vocabulary_built_from_any_text_covers_that_text(texts):
    tokenizer = WordTokenizer.build(texts)
    ids = tokenizer.tokenize(texts, max_length=10_000)
    # Every word of the text is in its own vocabulary: no [UNK], whatever the characters.
    assert UNK_ID not in ids.flat_values.numpy().tolist()


@examples(60)
@given(
    texts=st.lists(RAW, max_size=6),
    max_length=st.integers(2, 40),
    kind=st.sampled_from(["word", "wordpiece"]),
)
@example(texts=[HUGE_LINE, "x" * 20_000], max_length=128, kind="wordpiece")
@example(texts=[], max_length=2, kind="word")
def test_tokenize_any_text_gives_framed_ids_within_the_limit(tokenizers, texts, max_length, kind):
    tokenizer = tokenizers[kind]
    ids = tokenizer.tokenize(texts, max_length=max_length)
    rows = ids.to_list()
    assert len(rows) == len(texts)
    for row in rows:
        assert 2 <= len(row) <= max_length
        assert row[0] == START_ID and row[-1] == END_ID
        assert all(UNK_ID <= token < tokenizer.vocabulary_size for token in row[1:-1])
        assert not {PAD_ID, START_ID, END_ID} & set(row[1:-1])
    if texts:
        assert tokenizer.tokenize(texts[-1:], max_length=max_length).to_list() == rows[-1:]
    for text in decoded(tokenizer.detokenize(ids)):
        assert text == text.strip()


@examples(80)
@given(
    ids=st.lists(st.lists(st.integers(-3, 100), max_size=12), min_size=1, max_size=4),
    kind=st.sampled_from(["word", "wordpiece"]),
)
@example(ids=[[2, 99, 3]], kind="word")
@example(ids=[[2, -1, 3]], kind="wordpiece")
def test_detokenize_any_ids_gives_text_or_a_value_error_naming_ids(tokenizers, ids, kind):
    tokenizer = tokenizers[kind]
    width = max(len(row) for row in ids)
    dense = np.array([row + [PAD_ID] * (width - len(row)) for row in ids], np.int64)
    if width and (dense.min() < 0 or dense.max() >= tokenizer.vocabulary_size):
        with pytest.raises(ValueError, match=r"`ids`.*vocabulary"):
            tokenizer.detokenize(dense)
        return
    assert len(decoded(tokenizer.detokenize(dense.reshape(len(ids), width)))) == len(ids)


@examples(40)
@given(
    max_length=st.one_of(
        st.integers(-5, 1), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=3)
    ),
    kind=st.sampled_from(["word", "wordpiece"]),
)
@example(max_length=5.0, kind="word")
@example(max_length=True, kind="word")
@example(max_length=None, kind="wordpiece")
def test_a_bad_max_length_is_a_value_error_naming_it(tokenizers, max_length, kind):
    with pytest.raises(ValueError, match="max_length"):
        tokenizers[kind].tokenize(["Hola."], max_length=max_length)


@pytest.mark.parametrize("kind", ["word", "wordpiece"])
@pytest.mark.parametrize("strings", ["Hola.", [["Hola."]], tf.constant("Hola.")], ids=str)
def test_strings_that_are_not_a_batch_are_a_value_error_naming_them(tokenizers, kind, strings):
    with pytest.raises(ValueError, match=r"`strings` must be a 1-D batch"):
        tokenizers[kind].tokenize(strings)
