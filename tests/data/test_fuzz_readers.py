"""Fuzzing the corpus readers: random bytes, tabs and line ends, huge lines, invalid UTF-8.

Each file reads as well-formed examples (malformed lines skipped with one warning, or
`CorpusFormatError` naming the file and line under `strict`), or raises
`CorpusFormatError` naming the file and byte offset when it is not UTF-8; never another
error or a hang. How many cases run: see `tests/fuzzing.py`.
"""

import collections
import warnings

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from attention_layers.data import (
    CorpusFormatError,
    MalformedLineWarning,
    load_spa_eng,
    read_spa_eng_pairs,
    read_sst2_file,
)
from attention_layers.data.corpora import (
    MAX_SENTENCE_CHARACTERS,
    SPLIT_NAMES,
    sentence_length,
)
from tests.fuzzing import examples

PIECES = ["\t", "\n", "\r", "\r\n", " ", "\ufeff", "\u2028", "\x00", "\x1c", "\x85", "0", "1"]
PIECES += ["Go.", "Ve.", "¡Corre!", "sentence", "label", "index", "😀", "a" * 300]
CONTENT = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from(PIECES), max_size=40).map(lambda parts: "".join(parts).encode()),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
HUGE_PAIR = ("The house is red. " * 26_700 + "\tLa casa es roja.\n").encode()  # 480,000 chars


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz") / "corpus.txt"


def is_utf8(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read(reader, path, **kwargs):
    """`reader(path)` with warnings recorded: returns (result or error, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = reader(path, **kwargs)
        except CorpusFormatError as error:
            result = error
    assert all(issubclass(warning.category, MalformedLineWarning) for warning in caught)
    return result, caught


def check_error(error, path, data):
    assert str(error).startswith(f"{path}"), error
    if not is_utf8(data):
        assert "not valid UTF-8 at byte offset" in str(error)


@examples(150)
@given(data=CONTENT)
@example(data=HUGE_PAIR + b"Go.\tVe.\n")
@example(data=b"\t" * 100_000 + b"\nGo.\tVe.\n")
@example(data=b"Go.\tVe.\xff\n")
@example(data="Go.\u2028Run!\tVe.\u2028¡Corre!\r\n\ufeffHi.\tHola.".encode())
def test_spa_eng_reader_gives_clean_pairs_or_names_the_problem(corpus_file, data):
    corpus_file.write_bytes(data)
    pairs, caught = read(read_spa_eng_pairs, corpus_file)
    if isinstance(pairs, CorpusFormatError):
        assert not is_utf8(data)
        check_error(pairs, corpus_file, data)
        return
    assert len(caught) <= 1
    for spanish, english in pairs:
        for side in (spanish, english):
            assert side and side == side.strip() and "\t" not in side and "\n" not in side
    lines = data.decode("utf-8").count("\n") + 1
    assert len(pairs) <= lines
    strict, _ = read(read_spa_eng_pairs, corpus_file, strict=True)
    if caught:
        assert isinstance(strict, CorpusFormatError)
        assert f"{corpus_file}:" in str(strict)
    else:
        assert strict == pairs


@examples(60)
@given(data=CONTENT)
@example(data=HUGE_PAIR * 3 + b"Go.\tVe.\n")
def test_loading_splits_every_pair_once_and_counts_the_overlong(corpus_file, data):
    corpus_file.write_bytes(data)
    pairs, _ = read(read_spa_eng_pairs, corpus_file)
    corpus, _ = read(load_spa_eng, corpus_file)
    if isinstance(pairs, CorpusFormatError):
        assert isinstance(corpus, CorpusFormatError)
        return
    kept = collections.Counter(pair for name in SPLIT_NAMES for pair in corpus.split(name))
    overlong = [pair for pair in pairs if max(map(sentence_length, pair)) > MAX_SENTENCE_CHARACTERS]
    assert kept + collections.Counter(overlong) == collections.Counter(pairs)
    assert sum(corpus.skipped_overlong.values()) == len(overlong)


@examples(100)
@given(data=CONTENT, labelled=st.booleans())
@example(data=b"sentence\tlabel\n" + b"great " * 100_000 + b"\t1\n", labelled=True)
@example(data=b"index\tsentence\n0\t\xff\n", labelled=False)
@example(data=b"sentence\tlabel\nfine \t1\r\n\ttab first\t0\n", labelled=True)
def test_sst2_reader_gives_clean_examples_or_names_the_problem(corpus_file, data, labelled):
    corpus_file.write_bytes(data)
    examples_, caught = read(read_sst2_file, corpus_file, labelled=labelled)
    if isinstance(examples_, CorpusFormatError):
        assert not is_utf8(data)
        check_error(examples_, corpus_file, data)
        return
    for sentence, label in examples_:
        assert sentence and sentence == sentence.strip() and "\n" not in sentence
        assert label in ((0, 1) if labelled else (None,))
    strict, _ = read(read_sst2_file, corpus_file, labelled=labelled, strict=True)
    assert isinstance(strict, CorpusFormatError) if caught else strict == examples_
