"""The de-duplicated spa-eng test split: no test side seen in train or validation."""

import pytest

from attention_layers.data import TranslationCorpus, load_spa_eng
from attention_layers.data.spa_eng import deduplicate_test_split, sentence_key


def sides(pairs):
    return {sentence_key(source) for source, _ in pairs}, {sentence_key(t) for _, t in pairs}


def assert_no_shared_side(corpus):
    seen_sources, seen_targets = sides(corpus.train + corpus.validation)
    test_sources, test_targets = sides(corpus.test)
    assert not test_sources & seen_sources
    assert not test_targets & seen_targets


def test_sentence_key_ignores_case_punctuation_and_spacing_not_accents():
    assert sentence_key(" ¡Go!  ") == sentence_key("go.") == "go"
    assert sentence_key("Tom's  here.") == sentence_key("tom s here")
    assert sentence_key("Él canta.") != sentence_key("El canta.")


def test_test_pairs_with_a_seen_side_are_dropped_and_nothing_else_changes():
    corpus = TranslationCorpus(
        train=[("Ve.", "Go."), ("Hola.", "Hello.")],
        validation=[("Corre.", "Run!")],
        test=[
            ("¡Vete!", "go"),  # English side in train, after normalization
            ("corre", "Run away."),  # Spanish side in validation
            ("Salta.", "Jump."),  # new on both sides: kept
            ("¡Salta!", "Jump!"),  # repeats a test pair only: kept
        ],
    )
    deduplicated = deduplicate_test_split(corpus)
    assert deduplicated.train == corpus.train and deduplicated.validation == corpus.validation
    assert deduplicated.test == [("Salta.", "Jump."), ("¡Salta!", "Jump!")]
    assert_no_shared_side(deduplicated)


def test_load_spa_eng_uses_the_deduplicated_split_and_keeps_the_random_one(tmp_path):
    # Many Spanish variants of a few English sentences, as in Tatoeba.
    lines = [f"Sentence {n % 40}.\tFrase {n}." for n in range(400)]
    lines += [f"Unique {n}.\tÚnica {n}." for n in range(400)]
    path = tmp_path / "spa.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    random = load_spa_eng(path, split="random", seed=3)
    deduplicated = load_spa_eng(path, seed=3)
    with pytest.raises(AssertionError):
        assert_no_shared_side(random)  # the random split shares English sides
    assert_no_shared_side(deduplicated)
    assert (deduplicated.train, deduplicated.validation) == (random.train, random.validation)
    assert set(deduplicated.test) < set(random.test)
    assert all(source.startswith("Única") for source, _ in deduplicated.test)
    assert len(deduplicated.test) > 20
    with pytest.raises(ValueError, match="`split`"):
        load_spa_eng(path, split="grouped")
