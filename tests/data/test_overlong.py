"""Issue 16 case 4: one valid but huge pair is skipped and counted, by one rule in every split."""

import pytest
import sacrebleu

from attention_layers.data import load_spa_eng, load_sst2
from attention_layers.data.corpora import (
    MAX_SENTENCE_CHARACTERS,
    SPLIT_NAMES,
    drop_overlong,
    source_group_key,
    split_indices_by_key,
)

HUGE_CHARACTERS = 480_000


def huge_sentence(words):
    """About `HUGE_CHARACTERS` characters of `words` repeated."""
    cycle = " ".join(words) + " "
    return (cycle * (HUGE_CHARACTERS // len(cycle))).strip()


def split_of(spanish):
    """The split that `load_spa_eng` (default fractions, seed 0) gives this sentence."""
    splits = split_indices_by_key([source_group_key(spanish)])
    return next(name for name in SPLIT_NAMES if splits[name])


def huge_pair_in(split):
    """A 480,000-character pair whose Spanish side lands in `split`."""
    for number in range(1000):
        spanish = f"Frase {number}. " + huge_sentence(["la", "casa", "es", "roja."])
        if split_of(spanish) == split:
            return spanish, huge_sentence(["the", "house", "is", "red."])
    raise AssertionError(f"no sentence found for {split}")


def write_spa_txt(path, extra_pairs):
    lines = [f"The house {i} is red.\tLa casa {i} es roja." for i in range(300)]
    lines += [f"{english}\t{spanish}" for spanish, english in extra_pairs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_huge_pair_in_the_test_split_is_skipped_counted_and_cannot_zero_bleu(tmp_path):
    spanish, english = huge_pair_in("test")
    assert len(english) > HUGE_CHARACTERS - 20
    path = write_spa_txt(tmp_path / "spa.txt", [(spanish, english)])

    unlimited = load_spa_eng(path, max_characters=None)
    assert (spanish, english) in unlimited.test
    # A perfect translator whose output is capped (as every decoder's is) scores 0:
    # the huge reference makes the brevity penalty 0.
    references = [target for _, target in unlimited.test]
    capped = [" ".join(target.split()[:64]) for target in references]
    assert sacrebleu.corpus_bleu(capped, [references]).score < 1e-6

    corpus = load_spa_eng(path)
    assert all(len(pair[0]) < 100 for name in SPLIT_NAMES for pair in corpus.split(name))
    assert corpus.skipped_overlong == {"train": 0, "validation": 0, "test": 1}
    assert corpus.skipped_summary() == "skipped 1 overlong example (test: 1)"
    assert sum(len(corpus.split(name)) for name in SPLIT_NAMES) == 300
    assert corpus.test == [pair for pair in unlimited.test if pair != (spanish, english)]
    references = [target for _, target in corpus.test]
    assert sacrebleu.corpus_bleu(references, [references]).score == pytest.approx(100)


def test_the_same_rule_in_every_split_on_either_side(tmp_path):
    extra = [huge_pair_in(name) for name in SPLIT_NAMES]
    limit_spanish = "a" * MAX_SENTENCE_CHARACTERS
    extra += [
        (limit_spanish, "Kept: exactly at the limit."),
        ("Más de 512 caracteres.", "b" * (MAX_SENTENCE_CHARACTERS + 1)),  # English too long
        ("Espacios" + " " * 2000 + "contados como uno.", "Whitespace runs count once."),
    ]
    corpus = load_spa_eng(write_spa_txt(tmp_path / "spa.txt", extra))
    assert sum(corpus.skipped_overlong.values()) == 4
    assert {name for name, count in corpus.skipped_overlong.items() if count} == set(SPLIT_NAMES)
    kept = [pair for name in SPLIT_NAMES for pair in corpus.split(name)]
    assert any(source == limit_spanish for source, _ in kept)
    assert any(target == "Whitespace runs count once." for _, target in kept)
    assert len(kept) == 302
    assert "train: 1" in corpus.skipped_summary() and "test: 1" in corpus.skipped_summary()


def test_sst2_skips_overlong_sentences_the_same_way(tmp_path):
    directory = tmp_path / "SST-2"
    directory.mkdir()
    long_review = "a very long review " * 30_000
    (directory / "train.tsv").write_text(f"sentence\tlabel\nfine . \t1\n{long_review}\t0\n")
    (directory / "dev.tsv").write_text("sentence\tlabel\ndull . \t0\n")
    (directory / "test.tsv").write_text(f"index\tsentence\n0\tok .\n1\t{long_review}\n")
    corpus = load_sst2(directory)
    assert corpus.train == [("fine .", 1)] and corpus.test == [("ok .", None)]
    assert corpus.skipped_overlong == {"train": 1, "validation": 0, "test": 1}
    assert corpus.skipped_summary() == "skipped 2 overlong examples (train: 1, test: 1)"
    assert len(load_sst2(directory, max_characters=None).train) == 2


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "512"])
def test_a_bad_limit_is_a_value_error_naming_it(bad):
    with pytest.raises(ValueError, match="max_characters must be a positive int or None"):
        drop_overlong({"train": []}, texts=lambda pair: pair, max_characters=bad)


def test_generated_corpora_report_nothing_skipped():
    from attention_layers.data import generate_translation_corpus

    corpus = generate_translation_corpus(num_pairs=50, seed=0)
    assert corpus.skipped_overlong == dict.fromkeys(SPLIT_NAMES, 0)
    assert corpus.skipped_summary() == ""
