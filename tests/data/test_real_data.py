"""The real corpora in `$ATTENTION_DATA_DIR`: counts, disjoint splits, and a tokenizer round trip."""

import collections
import unicodedata
import warnings

import pytest

from attention_layers.data import load_spa_eng, load_sst2
from attention_layers.data.corpora import source_group_key
from attention_layers.text import WordPieceTokenizer, WordTokenizer, canonical_text

pytestmark = pytest.mark.data

SPANISH_MARKS = "áéíóúüñ¿¡"


def decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy()]


@pytest.fixture(scope="module")
def spa_eng(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # this copy has no malformed line
        return load_spa_eng(data_dir / "spa.txt")


def test_spa_eng_loads_116089_pairs_in_disjoint_splits(spa_eng):
    sizes = [len(spa_eng.split(name)) for name in ("train", "validation", "test")]
    assert sum(sizes) == 116_089
    assert sum(spa_eng.skipped_overlong.values()) == 0  # the length limit drops no real pair
    assert sizes == [92_906, 11_447, 11_736]  # the split is deterministic
    assert spa_eng.train[:2] == [("Ve.", "Go."), ("Vete.", "Go.")]  # Spanish source, English target
    keys = [
        {source_group_key(s) for s, _ in spa_eng.split(name)}
        for name in ("train", "validation", "test")
    ]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert len(keys[0] | keys[1] | keys[2]) > 100_000


def test_sst2_loads_with_glue_counts(data_dir):
    corpus = load_sst2(data_dir / "SST-2")
    assert [len(corpus.train), len(corpus.validation), len(corpus.test)] == [67_349, 872, 1_821]
    assert corpus.skipped_summary() == ""
    assert collections.Counter(label for _, label in corpus.train) == {1: 37_569, 0: 29_780}
    assert collections.Counter(label for _, label in corpus.validation) == {1: 444, 0: 428}
    assert {label for _, label in corpus.test} == {None}
    assert corpus.validation[0] == ("it 's a charming and often affecting journey .", 1)
    assert corpus.test[0] == ("uneasy mishmash of styles and genres .", None)
    # The five rows without a space before the tab read like the others.
    assert {("10", 1), ("10000", 1), ("1987", 1), ("3000", 1), ("98", 1)} <= set(corpus.train)
    assert not any(text != text.strip() for text, _ in corpus.train)


@pytest.fixture(scope="module")
def real_sentences(spa_eng):
    pairs = spa_eng.train + spa_eng.validation + spa_eng.test
    return [spanish for spanish, _ in pairs[:: len(pairs) // 1000][:1000]]


@pytest.mark.parametrize("tokenizer_class", [WordTokenizer, WordPieceTokenizer])
def test_1000_real_sentences_round_trip_with_accents_intact(tokenizer_class, real_sentences):
    assert len(real_sentences) == 1000
    if tokenizer_class is WordTokenizer:
        tokenizer = WordTokenizer.build(real_sentences)
    else:
        tokenizer = WordPieceTokenizer.build(real_sentences, vocabulary_size=1000)
    round_tripped = decoded(tokenizer.detokenize(tokenizer.tokenize(real_sentences)))
    assert round_tripped == decoded(canonical_text(real_sentences))
    with_marks = 0
    for original, result in zip(real_sentences, round_tripped, strict=True):
        expected = unicodedata.normalize("NFC", original.lower())
        assert [result.count(mark) for mark in SPANISH_MARKS] == [
            expected.count(mark) for mark in SPANISH_MARKS
        ]
        with_marks += any(mark in original.lower() for mark in SPANISH_MARKS)
    assert with_marks > 300  # the check above is not vacuous
