"""Fuzzing the export's input cleaning: any bytes give valid, bounded UTF-8 or a clear error.

`clean_text` is the first step of every signature after the shape check
(`check_text_batch`); nothing after it may see invalid UTF-8 or an unbounded string.
How many cases run: see `tests/fuzzing.py`.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import example, given
from hypothesis import strategies as st

from attention_layers.export.serving import check_text_batch, clean_text
from tests.fuzzing import examples

RAW = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                b"\xc3",
                b"\xa9",
                b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80",
                b"\xc0\x80",
                b"a",
                "ñ".encode(),
                "😀".encode(),
            ]
        ),
        max_size=12,
    ).map(b"".join),
)


def as_bytes(value):
    return value if isinstance(value, bytes) else value.encode("utf-8")


@examples(200)
@given(texts=st.lists(RAW, max_size=5), max_characters=st.integers(1, 80))
@example(texts=[b"\xff\xfe\xc3( caf\xe9"], max_characters=4096)
@example(texts=[b"\xed\xa0\x80 surrogate", b"\xc0\x80 overlong"], max_characters=3)
@example(texts=["😀" * 10_000], max_characters=4096)
def test_clean_text_gives_valid_utf8_cut_to_max_characters(texts, max_characters):
    cleaned = clean_text(tf.constant(texts, tf.string, shape=[len(texts)]), max_characters)
    assert cleaned.shape == [len(texts)]
    for raw, value in zip(texts, cleaned.numpy().tolist(), strict=True):
        text = value.decode("utf-8")  # raises if not valid UTF-8
        assert len(text) <= max_characters
        if isinstance(raw, str):
            assert text == raw[:max_characters]  # valid text is only cut
        else:
            # Invalid bytes become U+FFFD; the valid characters around them are kept.
            replaced = raw.decode("utf-8", errors="replace")
            assert text.replace("\ufffd", "") in replaced.replace("\ufffd", "")


@examples(60)
@given(
    texts=st.lists(st.lists(RAW, min_size=2, max_size=2), max_size=3) | RAW,
)
@example(texts=b"\xff")
@example(texts=[[b"a", b"\xff"]])
def test_clean_text_keeps_any_shape(texts):
    tensor = tf.constant(texts, tf.string)
    cleaned = clean_text(tensor, 5)
    assert cleaned.shape == tensor.shape
    for value in np.array(cleaned.numpy(), dtype=object).reshape(-1).tolist():
        assert len(value.decode("utf-8")) <= 5


@examples(40)
@given(
    max_characters=st.one_of(
        st.integers(-5, 0), st.floats(), st.booleans(), st.none(), st.text(max_size=3)
    )
)
@example(max_characters=0)
@example(max_characters=-1)
@example(max_characters=2.5)
def test_a_bad_max_characters_is_a_value_error_naming_it(max_characters):
    with pytest.raises(ValueError, match="max_characters"):
        clean_text(["hola"], max_characters)


@examples(60)
@given(shape=st.lists(st.integers(0, 3), max_size=3))
@example(shape=[])
@example(shape=[1, 2])
def test_check_text_batch_passes_1d_and_names_text_otherwise(shape):
    text = tf.fill(shape, "hola")
    if len(shape) == 1:
        assert check_text_batch(text).numpy().tolist() == text.numpy().tolist()
        return
    expected = rf"`text` must be a 1-D batch of strings.*got shape \[{','.join(map(str, shape))}\]"
    with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
        check_text_batch(text)
