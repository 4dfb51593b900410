"""The readers for users' own files: every format gives the same pairs or examples, every
bad input is one message naming the file, the line and what is wrong."""

import collections
import json
import warnings

import pytest

from attention_layers.data.reading import CorpusFormatError, MalformedLineWarning
from attention_layers.data.user_corpora import (
    class_names,
    load_labelled_files,
    load_translation_files,
    read_labelled_texts,
    read_translation_pairs,
    reverse_direction,
)

# French-German pairs: neither side is the English of the Tatoeba layout, and the French
# has a comma inside a sentence, a quote and accents.
PAIRS = [
    ("Il a dit « oui », puis il est parti.", "Er sagte „ja“ und ging dann."),
    ('"Le chat" dort.', "Die Katze schläft."),
    ("Où est la gare ?", "Wo ist der Bahnhof?"),
]


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_every_translation_format_reads_the_same_pairs(tmp_path):
    fr, de = zip(*PAIRS, strict=True)
    write(tmp_path / "aligned.fr", "\n".join(fr) + "\n")
    write(tmp_path / "aligned.de", "\r\n".join(de) + "\r\n")  # CRLF on one side only
    # The header names the columns in the other order, with a third column to ignore.
    tsv = "id\tDE\tfr\n" + "".join(f"{i}\t{d}\t{f}\n" for i, (f, d) in enumerate(PAIRS))
    write(tmp_path / "pairs.tsv", "\ufeff" + tsv)  # a byte order mark
    csv_text = "fr,de\n" + "".join('"{}","{}"\n'.format(f.replace('"', '""'), d) for f, d in PAIRS)
    write(tmp_path / "pairs.csv", csv_text)
    jsonl = "".join(
        json.dumps({"id": i, "translation": {"de": d, "fr": f}}, ensure_ascii=False) + "\n\n"
        for i, (f, d) in enumerate(PAIRS)
    )
    write(tmp_path / "pairs.jsonl", jsonl)
    for name in ("aligned", "pairs.tsv", "pairs.csv", "pairs.jsonl"):
        assert read_translation_pairs(tmp_path / name, "fr", "de") == PAIRS, name
        assert read_translation_pairs(tmp_path / name, "de", "fr") == [(d, f) for f, d in PAIRS]


def test_a_tatoeba_file_holds_english_first_in_either_direction(tmp_path):
    path = write(
        tmp_path / "fra.txt",
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM)\nHi.\tSalut !\n",
    )
    assert read_translation_pairs(path, "fr", "en") == [("Va !", "Go."), ("Salut !", "Hi.")]
    assert read_translation_pairs(path, "en", "fr") == [("Go.", "Va !"), ("Hi.", "Salut !")]
    # Neither side English: a headerless file says what it needs.
    with pytest.raises(
        CorpusFormatError, match=r"fra\.txt:1: the header names no columns 'fr' and 'de'"
    ):
        read_translation_pairs(path, "fr", "de")
    # A header of other codes is a header, not a first pair read as English and French.
    other = write(tmp_path / "other.tsv", "de\tit\nHallo\tCiao\n")
    with pytest.raises(CorpusFormatError, match=r"the header names no columns 'en' and 'fr'"):
        read_translation_pairs(other, "en", "fr")


@pytest.mark.parametrize(
    ("files", "read", "message"),
    [
        ({"x.de": "a\nb\nc\n", "x.en": "a\nb\n"}, "x", r"x\.de has 3 lines and .*x\.en has 2"),
        (
            {"x.de": "a\n"},
            "x",
            r"x: no such file, and no line-aligned pair x\.de \+ x\.en .*missing: .*x\.en",
        ),
        (
            {"x.tsv": "de\ten\nHallo\tHello\nnur eins\n"},
            "x.tsv",
            r"x\.tsv:3: expected 2 columns, got 1: 'nur eins'",
        ),
        (
            {"x.csv": "de,fr\nHallo,Salut\n"},
            "x.csv",
            r"x\.csv:1: the header names no columns 'de' and 'en' \(it has 'de', 'fr'\)",
        ),
        ({"x.csv": 'de,en\n"Hallo,Hello\n'}, "x.csv", r"x\.csv:2: not valid CSV"),
        (
            {"x.jsonl": '{"translation": {"de": "Hallo"}}\n'},
            "x.jsonl",
            r"x\.jsonl:1: no 'en' sentence; the keys are 'de'",
        ),
        (
            {"x.jsonl": '{"translation": {"de": "a", "en": "b"}}\n[1, 2]\n'},
            "x.jsonl",
            r"x\.jsonl:2: expected a JSON object, got list",
        ),
        ({"x.jsonl": "{not json\n"}, "x.jsonl", r"x\.jsonl:1: not valid JSON"),
        ({}, "x.tsv", r"x\.tsv: no such file, and no line-aligned pair x\.tsv\.de"),
    ],
    ids=[
        "counts_differ",
        "one_file_missing",
        "short_row",
        "code_matches_no_column",
        "open_quote",
        "missing_key",
        "not_an_object",
        "not_json",
        "no_file",
    ],
)
def test_bad_translation_files_name_the_file_and_line(tmp_path, files, read, message):
    for name, text in files.items():
        write(tmp_path / name, text)
    with pytest.raises(CorpusFormatError, match=message):
        read_translation_pairs(tmp_path / read, "de", "en")


def test_undecodable_bytes_name_the_line_and_another_encoding_reads_them(tmp_path):
    path = write(tmp_path / "x.tsv", "de\ten\nGrüße\tGreetings\n", encoding="latin-1")
    with pytest.raises(
        CorpusFormatError, match=r"x\.tsv: not valid UTF-8 at byte offset 8 \(line 2\)"
    ):
        read_translation_pairs(path, "de", "en")
    assert read_translation_pairs(path, "de", "en", encoding="latin-1") == [("Grüße", "Greetings")]


def test_empty_files_and_one_sided_pairs(tmp_path):
    write(tmp_path / "empty.tsv", "")
    with pytest.raises(CorpusFormatError, match=r"empty\.tsv: no sentence pairs"):
        load_translation_files(tmp_path / "empty.tsv", source_language="de", target_language="en")
    write(tmp_path / "x.de", "Hallo\n\nWelt\n\n")
    write(tmp_path / "x.en", "Hello\n\n\nthere\n")
    with pytest.warns(
        MalformedLineWarning, match=r"skipped 2 malformed line\(s\); the first: .*x\.de:3"
    ):
        pairs = read_translation_pairs(tmp_path / "x", "de", "en")
    assert pairs == [("Hallo", "Hello")]  # line 2 is blank on both sides: no warning for it


def test_splits_taken_from_train_are_grouped_by_source_and_the_test_side_is_unseen(tmp_path):
    # 400 sources, each with two translations, and targets shared across sources.
    lines = [(f"quelle {i} .", f"target {i % 150}") for i in range(400) for _ in range(2)]
    write(tmp_path / "t.tsv", "src\ttgt\n" + "".join(f"{s}\t{t}\n" for s, t in lines))
    corpus = load_translation_files(
        tmp_path / "t.tsv", source_language="src", target_language="tgt", seed=3
    )
    sources = {name: {s for s, _ in corpus.split(name)} for name in ("train", "validation", "test")}
    assert not sources["train"] & sources["validation"] and not sources["train"] & sources["test"]
    assert 20 <= len(sources["validation"]) <= 70  # 10% of 400 sources, in expectation
    seen_targets = {t for s, t in corpus.train + corpus.validation}
    assert all(t not in seen_targets for _, t in corpus.test)
    # Given files are used as they are: nothing dropped from them, nothing split off train.
    write(tmp_path / "dev.tsv", "tgt\tsrc\ntarget 1\tquelle 1 .\n")
    given = load_translation_files(
        tmp_path / "t.tsv",
        tmp_path / "dev.tsv",
        tmp_path / "dev.tsv",
        source_language="src",
        target_language="tgt",
    )
    assert given.validation == given.test == [("quelle 1 .", "target 1")]
    assert len(given.train) == len(lines)


def test_reversing_a_corpus_swaps_pairs_and_inverts_alignments():
    from attention_layers.data import generate_translation_corpus

    corpus = generate_translation_corpus(num_pairs=50, seed=0)
    reverse = reverse_direction(corpus)
    assert reverse.train[0] == corpus.train[0][::-1]
    alignment = corpus.alignments["train"][0]
    assert reverse.alignments["train"][0] == {s: t for t, s in alignment.items()}
    assert reverse_direction(reverse) == corpus


def test_multi30k_reads_in_both_directions(data_dir):
    prefix = data_dir / "multi30k" / "test_2016_flickr"
    pairs = read_translation_pairs(prefix, "de", "en")
    assert len(pairs) == 1000
    assert pairs[0][1].startswith("A man in an orange hat")
    assert read_translation_pairs(prefix, "en", "de")[0] == pairs[0][::-1]
    corpus = load_translation_files(prefix, source_language="de", target_language="en")
    assert len(corpus.train) + len(corpus.validation) + len(corpus.test) <= 1000
    assert len(corpus.train) > 750 and corpus.test


# Classification.


def test_every_labelled_format_reads_the_same_examples(tmp_path):
    examples = [("a fine film", "pos"), ("dull, and long", "neg"), ("so-so", "meh")]
    write(
        tmp_path / "x.csv",
        "id,sentence,label\n"
        + "".join(f'{i},"{t}",{lab}\n' for i, (t, lab) in enumerate(examples)),
    )
    write(tmp_path / "x.tsv", "label\ttext\n" + "".join(f"{lab}\t{t}\n" for t, lab in examples))
    write(
        tmp_path / "x.jsonl",
        "".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in examples),
    )
    for label in {lab for _, lab in examples}:
        (tmp_path / "folder" / label).mkdir(parents=True)
    for i, (text, label) in enumerate(examples):
        write(tmp_path / "folder" / label / f"{i}.txt", text + "\n")
    for name in ("x.csv", "x.tsv", "x.jsonl"):
        read = read_labelled_texts(tmp_path / name)
        assert [(t, lab) for t, lab, _ in read] == examples, name
    assert read_labelled_texts(tmp_path / "x.tsv")[1][2] == f"{tmp_path / 'x.tsv'}:3"
    read = read_labelled_texts(tmp_path / "folder")
    assert sorted((t, lab) for t, lab, _ in read) == sorted(examples)


def test_classes_are_numeric_when_labels_are_integers():
    assert class_names(["10", "2", "0"]) == ("0", "2", "10")
    assert class_names(["very positive", "negative", "neutral"]) == (
        "negative",
        "neutral",
        "very positive",
    )


def test_json_integer_labels_and_other_column_names(tmp_path):
    write(
        tmp_path / "x.jsonl",
        "".join(json.dumps({"review": f"text {i}", "stars": i % 3}) + "\n" for i in range(30)),
    )
    corpus = load_labelled_files(
        tmp_path / "x.jsonl", text_column="review", label_column="stars", seed=1
    )
    assert corpus.classes == ("0", "1", "2")
    everything = corpus.train + corpus.validation + corpus.test
    assert sorted(everything) == sorted((f"text {i}", i % 3) for i in range(30))


def test_the_split_taken_from_train_is_stratified_and_seeded(tmp_path):
    rows = [(f"text {i}", "rare" if i % 10 == 0 else "common") for i in range(400)]
    write(tmp_path / "x.tsv", "text\tlabel\n" + "".join(f"{t}\t{lab}\n" for t, lab in rows))
    corpus = load_labelled_files(tmp_path / "x.tsv", seed=5)
    counts = {
        name: collections.Counter(corpus.split(name)[i][1] for i in range(len(corpus.split(name))))
        for name in ("validation", "test")
    }
    rare = corpus.classes.index("rare")
    assert counts["validation"][rare] == counts["test"][rare] == 4  # 10% of the 40 rare ones
    assert sum(counts["validation"].values()) == 40
    assert load_labelled_files(tmp_path / "x.tsv", seed=5) == corpus
    assert load_labelled_files(tmp_path / "x.tsv", seed=6).validation != corpus.validation


@pytest.mark.parametrize(
    ("train", "validation", "message"),
    [
        (
            "text\tlabel\na\tx\nb\tx\n",
            None,
            r"train\.tsv: every example is labelled 'x'; a classifier needs two classes",
        ),
        (
            "text\tlabel\na\tx\nb\ty\n",
            "text\tlabel\nc\tx\nd\tz\n",
            r"dev\.tsv:3: label 'z' does not occur in the training file .*train\.tsv \(its classes: x, y\)",
        ),
        (
            "sentence\tstars\na\tx\n",
            None,
            r"train\.tsv:1: no label column 'label'; the header has 'sentence', 'stars'",
        ),
        ("text\tlabel\na\t\n", None, r"train\.tsv:2: empty label for 'a'"),
        ("text\tlabel\na\n", None, r"train\.tsv:2: expected 2 columns, got 1"),
        ("", None, r"train\.tsv: no labelled examples"),
    ],
    ids=["one_class", "unseen_label", "no_label_column", "empty_label", "short_row", "empty_file"],
)
def test_bad_labelled_files_name_the_file_and_line(tmp_path, train, validation, message):
    write(tmp_path / "train.tsv", train)
    if validation is not None:
        write(tmp_path / "dev.tsv", validation)
    with pytest.raises(CorpusFormatError, match=message):
        load_labelled_files(tmp_path / "train.tsv", tmp_path / "dev.tsv" if validation else None)


def test_a_folder_without_class_folders_is_refused(tmp_path):
    write(tmp_path / "a.txt", "text")
    with pytest.raises(CorpusFormatError, match="needs one sub-folder per class"):
        read_labelled_texts(tmp_path)


def test_sst5_has_five_string_classes(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corpus = load_labelled_files(
            data_dir / "SST-5" / "train.tsv", data_dir / "SST-5" / "dev.tsv"
        )
    assert corpus.classes == ("negative", "neutral", "positive", "very negative", "very positive")
    assert len(corpus.validation) == 1101
    assert len(corpus.train) + len(corpus.test) == 8544
