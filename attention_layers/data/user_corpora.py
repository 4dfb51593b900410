"""Corpora from the files users bring: sentence pairs in any two languages, texts with any labels.

Translation pairs are read from line-aligned files (`PATH.de` + `PATH.en`, the layout of
Moses, OPUS, fairseq and Multi30k), a TSV or CSV whose header names the language codes, a
Tatoeba/manythings file (`fra.txt`: English, the other language, an attribution), or JSON
lines as Hugging Face datasets write them (`{"translation": {"de": ..., "en": ...}}`).
Labelled texts are read from a CSV/TSV with a header, JSON lines, or a folder with one
sub-folder of `.txt` files per class (`keras.utils.text_dataset_from_directory`'s layout).

Every reader names the file, the line and what is wrong (`CorpusFormatError`); the
commands print that one line and exit with code 2.
"""

import dataclasses
import pathlib
import random
import re

from attention_layers.data.corpora import (
    MAX_SENTENCE_CHARACTERS,
    SPLIT_NAMES,
    TranslationCorpus,
    _no_skips,
    _Splits,
    drop_overlong,
    source_group_key,
    split_indices_by_key,
)
from attention_layers.data.reading import CorpusFormatError, MalformedLines, read_lines
from attention_layers.data.spa_eng import deduplicate_test_split
from attention_layers.data.tables import cell, find_column, read_rows, table_format

TEXT_COLUMNS = ("text", "sentence")
# A first row of cells like these (`de`, `pt-BR`) is a header, never a sentence pair.
_CODE_LIKE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
LABEL_COLUMNS = ("label",)


def _primary(code):
    return code.replace("_", "-").split("-")[0].casefold()


def _check_languages(source_language, target_language):
    for name, code in (("source", source_language), ("target", target_language)):
        if not isinstance(code, str) or not code.strip() or any(c in code for c in "/\\ \t."):
            raise ValueError(
                f"The {name} language must be a code such as 'de' or 'pt-BR'; got {code!r}"
            )
    if source_language.casefold() == target_language.casefold():
        raise ValueError(f"The source and target languages are both {source_language!r}")


def read_translation_pairs(path, source_language, target_language, *, encoding="utf-8"):
    """Reads `(source, target)` sentence pairs from a user's file or pair of files.

    1. If `path` is not a file, `PATH.<source>` and `PATH.<target>` are read as
       line-aligned files: line i of one translates line i of the other.
    2. JSON lines (`.jsonl`, `.json`): each object's `"translation"` (or the object
       itself) maps language codes to sentences.
    3. CSV (`.csv`) or TSV (anything else): a header line naming both codes picks the
       columns; a TSV without one is read as Tatoeba's: English in column 1, the other
       language in column 2, an attribution in column 3 ignored.
    4. A pair with one side empty is skipped with one `MalformedLineWarning`.

    Codes are matched ignoring case; any codes work (`de`, `pt-BR`, `zh`), since nothing
    here depends on the language.

    Args:
        path: a file, or the common prefix of two line-aligned files.
        source_language: the code of the language translated from.
        target_language: the code of the language translated to.
        encoding: a Python codec name (default UTF-8; a byte order mark is ignored).

    Returns:
        A list of `(source, target)` string pairs, stripped of surrounding spaces.

    Raises:
        CorpusFormatError: naming the file and line: counts of aligned files differ, a
            row is short, a column or key for a code is missing, bytes do not decode.
        ValueError: a language code is empty or both are the same.

    Example:

    ```python
    read_translation_pairs("multi30k/test_2016_flickr", "de", "en")[0]
    # ("Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.", "A man in an orange ...")
    ```
    """
    _check_languages(source_language, target_language)
    path = pathlib.Path(path)
    if path.is_dir():
        raise CorpusFormatError(
            f"{path} is a folder; give a file of pairs, or the prefix PATH of "
            f"PATH.{source_language} and PATH.{target_language}"
        )
    if not path.exists():
        return _read_aligned(path, source_language, target_language, encoding)
    rows = read_rows(path, encoding=encoding)
    malformed = MalformedLines(path, strict=False)
    if not rows:
        return []
    if table_format(path) == "jsonl":
        pairs = [
            (number, *_json_pair(path, number, row, source_language, target_language))
            for number, row in rows
        ]
    else:
        pairs = _table_pairs(path, rows, source_language, target_language)
    kept = []
    for number, source, target in pairs:
        if source and target:
            kept.append((source, target))
        else:
            malformed.report(number, "empty sentence", f"{source}\t{target}")
    malformed.warn()
    return kept


def _read_aligned(prefix, source_language, target_language, encoding):
    paths = [pathlib.Path(f"{prefix}.{code}") for code in (source_language, target_language)]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise CorpusFormatError(
            f"{prefix}: no such file, and no line-aligned pair {paths[0].name} + "
            f"{paths[1].name} beside it (missing: {', '.join(missing)})"
        )
    sources, targets = (read_lines(path, encoding) for path in paths)
    if len(sources) != len(targets):
        raise CorpusFormatError(
            f"{paths[0]} has {len(sources):,} lines and {paths[1]} has {len(targets):,}; "
            "line-aligned files must have as many lines"
        )
    malformed = MalformedLines(paths[0], strict=False)
    pairs = []
    for number, (source, target) in enumerate(zip(sources, targets, strict=True), start=1):
        source, target = source.strip(), target.strip()
        if source and target:
            pairs.append((source, target))
        elif source or target:  # a blank line on both sides is just a blank line
            malformed.report(number, "empty sentence on one side", f"{source}\t{target}")
    malformed.warn()
    return pairs


def _json_pair(path, number, row, source_language, target_language):
    sentences = row.get("translation", row)
    if not isinstance(sentences, dict):
        raise CorpusFormatError(f'{path}:{number}: "translation" is not an object')
    folded = {str(key).casefold(): value for key, value in sentences.items()}
    pair = []
    for code in (source_language, target_language):
        value = folded.get(code.casefold())
        if not isinstance(value, str):
            raise CorpusFormatError(
                f"{path}:{number}: no {code!r} sentence; the keys are "
                f"{', '.join(map(repr, sentences)) or 'none'}"
            )
        pair.append(value.strip())
    return tuple(pair)


def _table_pairs(path, rows, source_language, target_language):
    first = [value.strip().casefold() for value in rows[0][1]]
    codes = (source_language.casefold(), target_language.casefold())
    if all(code in first for code in codes):
        columns = [first.index(code) for code in codes]
        body = rows[1:]
    elif (
        table_format(path) == "tsv"
        and "en" in map(_primary, codes)
        and not all(_CODE_LIKE.fullmatch(value.strip()) for value in rows[0][1])
    ):
        # Tatoeba/manythings: English, then the other language (then an attribution).
        columns = [1, 0] if _primary(codes[1]) == "en" else [0, 1]
        body = rows
    else:
        raise CorpusFormatError(
            f"{path}:1: the header names no columns {source_language!r} and "
            f"{target_language!r} (it has {', '.join(map(repr, rows[0][1]))}); a file "
            "without a header is read as Tatoeba's (English first) only when one side is 'en'"
        )
    width = max(columns) + 1
    return [
        (
            number,
            cell(path, number, row, columns[0], width),
            cell(path, number, row, columns[1], width),
        )
        for number, row in body
    ]


def load_translation_files(
    train,
    validation=None,
    test=None,
    *,
    source_language,
    target_language,
    validation_fraction=0.1,
    test_fraction=0.1,
    seed=0,
    encoding="utf-8",
    max_characters=MAX_SENTENCE_CHARACTERS,
):
    """Loads a translation corpus from a user's files, in the direction asked.

    The splits not given are taken from `train`, grouped by source sentence (case and
    spacing ignored) as `load_spa_eng` does; a test split taken from train is then
    de-duplicated (`deduplicate_test_split`: no test sentence, on either side, was seen
    in training). Given validation and test files are used as they are.

    Args:
        train: the training pairs (see `read_translation_pairs` for the formats).
        validation: the validation pairs, or `None` to split them off `train`.
        test: the test pairs, or `None` to split them off `train`.
        source_language: the code of the language translated from, e.g. `"de"`.
        target_language: the code of the language translated to, e.g. `"en"`.
        validation_fraction: the expected fraction of train's source sentences moved to
            validation when `validation` is `None`.
        test_fraction: the same for test.
        seed: changes which sentences are split off.
        encoding: the files' codec.
        max_characters: the longest sentence kept (default 512; see `drop_overlong`).

    Returns:
        A `TranslationCorpus` of `(source, target)` pairs.

    Raises:
        CorpusFormatError: a file is malformed, or the training file holds no pair.

    Example:

    ```python
    corpus = load_translation_files("data/train", source_language="de", target_language="en")
    len(corpus.train), len(corpus.validation), len(corpus.test)
    ```
    """
    read = lambda path: read_translation_pairs(  # noqa: E731
        path, source_language, target_language, encoding=encoding
    )
    pairs = read(train)
    if not pairs:
        raise CorpusFormatError(f"{train}: no sentence pairs")
    splits = split_indices_by_key(
        [source_group_key(source) for source, _ in pairs],
        validation_fraction=0.0 if validation is not None else validation_fraction,
        test_fraction=0.0 if test is not None else test_fraction,
        seed=seed,
    )
    split_pairs = {name: [pairs[index] for index in indices] for name, indices in splits.items()}
    for name, given in (("validation", validation), ("test", test)):
        if given is not None:
            split_pairs[name] = read(given)
    kept, skipped = drop_overlong(
        split_pairs, texts=lambda pair: pair, max_characters=max_characters
    )
    corpus = TranslationCorpus(**kept, skipped_overlong=skipped)
    return deduplicate_test_split(corpus) if test is None else corpus


def reverse_direction(corpus):
    """The same corpus translated the other way: every pair `(a, b)` becomes `(b, a)`.

    Gold alignments (the generated corpus's) are inverted with it: `{target: source}`
    becomes `{source: target}`.

    Example:

    >>> corpus = TranslationCorpus(train=[("Hola.", "Hello.")], validation=[], test=[])
    >>> reverse_direction(corpus).train
    [('Hello.', 'Hola.')]
    """
    flipped = {name: [(b, a) for a, b in corpus.split(name)] for name in SPLIT_NAMES}
    alignments = None
    if corpus.alignments is not None:
        alignments = {
            name: [{s: t for t, s in alignment.items()} for alignment in per_split]
            for name, per_split in corpus.alignments.items()
        }
    return dataclasses.replace(corpus, **flipped, alignments=alignments)


@dataclasses.dataclass(frozen=True)
class LabelledCorpus(_Splits):
    """Texts with class labels, split three ways.

    Each split is a list of `(text, label)`: `label` is an index into `classes`.

    Attributes:
        train: the training examples.
        validation: examples for model selection.
        test: held-out examples.
        classes: the class names (strings), in label order: integers in numeric order
            (`"2"` before `"10"`), other names sorted.
        skipped_overlong: `{split: count}` of the examples skipped as too long.

    Example:

    ```python
    corpus = load_labelled_files("sst5/train.tsv", "sst5/dev.tsv")
    corpus.classes  # ('negative', 'neutral', 'positive', 'very negative', 'very positive')
    ```
    """

    classes: tuple = ()
    skipped_overlong: dict = dataclasses.field(default_factory=_no_skips)


def read_labelled_texts(path, *, text_column=None, label_column=None, encoding="utf-8"):
    """Reads `(text, label, where)` triples from a user's labelled file or folder.

    1. A folder: each sub-folder is a class, named by the folder; each `.txt` file in it
       (at any depth) is one example, as `keras.utils.text_dataset_from_directory` reads.
    2. JSON lines: each object's text and label keys.
    3. CSV (`.csv`) or TSV (anything else) with a header line naming the columns.
    The text column is `text_column`, else `text` or `sentence`; the label column is
    `label_column`, else `label`. Labels may be strings or integers (kept as strings).
    An example with an empty text is skipped with a `MalformedLineWarning`.

    Args:
        path: the file or folder.
        text_column: the name of the text column or key.
        label_column: the name of the label column or key.
        encoding: a Python codec name.

    Returns:
        A list of `(text, label, where)`: `where` is `"file:line"` (or the `.txt` file),
        for messages about that example.

    Raises:
        CorpusFormatError: naming the file and line: no such file, a missing column or
            key, an empty label, a short row, undecodable bytes.

    Example:

    ```python
    read_labelled_texts("SST-5/dev.tsv")[0]  # ("in his first stab ...", "neutral", "...:2")
    ```
    """
    path = pathlib.Path(path)
    if path.is_dir():
        return _read_class_folders(path, encoding)
    if not path.exists():
        raise CorpusFormatError(f"{path}: no such file or folder")
    text_names = (text_column,) if text_column else TEXT_COLUMNS
    label_names = (label_column,) if label_column else LABEL_COLUMNS
    rows = read_rows(path, encoding=encoding)
    if not rows:
        return []
    if table_format(path) == "jsonl":
        examples = [
            _json_example(path, number, row, text_names, label_names) for number, row in rows
        ]
    else:
        header = rows[0][1]
        text_at = find_column(path, header, text_names, "text")
        label_at = find_column(path, header, label_names, "label")
        width = max(text_at, label_at) + 1
        examples = [
            (
                cell(path, number, row, text_at, width),
                cell(path, number, row, label_at, width),
                number,
            )
            for number, row in rows[1:]
        ]
    malformed = MalformedLines(path, strict=False)
    kept = []
    for text, label, number in examples:
        if not label:
            raise CorpusFormatError(f"{path}:{number}: empty label for {text[:60]!r}")
        if text:
            kept.append((text, label, f"{path}:{number}"))
        else:
            malformed.report(number, "empty text", label)
    malformed.warn()
    return kept


def _json_example(path, number, row, text_names, label_names):
    values = []
    for names, what in ((text_names, "text"), (label_names, "label")):
        key = next((name for name in names if name in row), None)
        if key is None or isinstance(row[key], (dict, list)) or row[key] is None:
            raise CorpusFormatError(
                f"{path}:{number}: no {what} under {' or '.join(map(repr, names))}; "
                f"the keys are {', '.join(map(repr, row)) or 'none'}"
            )
        values.append(str(row[key]).strip())
    return values[0], values[1], number


def _read_class_folders(path, encoding):
    folders = sorted(
        child for child in path.iterdir() if child.is_dir() and not child.name.startswith(".")
    )
    if not folders:
        raise CorpusFormatError(
            f"{path}: a folder of examples needs one sub-folder per class (of .txt files); "
            "it has none"
        )
    examples = []
    for folder in folders:
        for file in sorted(folder.rglob("*.txt")):
            text = " ".join(" ".join(read_lines(file, encoding)).split())
            if text:
                examples.append((text, folder.name, str(file)))
    return examples


def class_names(labels):
    """The sorted class names: integers in numeric order, other strings sorted."""
    names = set(labels)
    try:
        return tuple(sorted(names, key=int))
    except ValueError:
        return tuple(sorted(names))


def stratified_split(labels, fractions, seed):
    """Indices per split, each class shuffled (seeded) and cut by `fractions`.

    Args:
        labels: one label per example.
        fractions: `{split name: fraction}` for the splits taken out; the rest is train.
        seed: the shuffle's seed.

    Returns:
        `{"train": [...], <split>: [...]}`, indices in increasing order. A class keeps at
        least one example in train.

    Example:

    >>> splits = stratified_split(["a"] * 10 + ["b"] * 10, {"validation": 0.1}, seed=0)
    >>> sorted(len(indices) for indices in splits.values())
    [2, 18]
    """
    rng = random.Random(seed)
    by_class = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    splits = {"train": [], **{name: [] for name in fractions}}
    for label in sorted(by_class, key=str):
        indices = by_class[label]
        rng.shuffle(indices)
        start = 0
        for name, fraction in fractions.items():
            count = min(round(len(indices) * fraction), len(indices) - start - 1)
            splits[name].extend(indices[start : start + max(count, 0)])
            start += max(count, 0)
        splits["train"].extend(indices[start:])
    return {name: sorted(indices) for name, indices in splits.items()}


def load_labelled_files(
    train,
    validation=None,
    test=None,
    *,
    text_column=None,
    label_column=None,
    validation_fraction=0.1,
    test_fraction=0.1,
    seed=0,
    encoding="utf-8",
    max_characters=MAX_SENTENCE_CHARACTERS,
):
    """Loads a classification corpus with any labels from a user's files.

    The splits not given are taken from `train`, stratified by class and seeded
    (`stratified_split`). The classes are the training file's labels.

    Args:
        train: the training examples (see `read_labelled_texts` for the formats).
        validation: the validation examples, or `None` for a stratified 10% of train.
        test: the test examples, or `None` for a stratified 10% of train.
        text_column: the text column or key (default `text`, else `sentence`).
        label_column: the label column or key (default `label`).
        validation_fraction: the fraction of each class moved to validation.
        test_fraction: the same for test.
        seed: changes which examples are split off.
        encoding: the files' codec.
        max_characters: the longest text kept (default 512; see `drop_overlong`).

    Returns:
        A `LabelledCorpus` whose labels index its `classes`.

    Raises:
        CorpusFormatError: a file is malformed or empty, train holds one class only, or a
            validation or test label does not occur in train (file and line named).

    Example:

    ```python
    corpus = load_labelled_files("reviews.csv", text_column="review")
    corpus.classes, corpus.train[0]
    ```
    """
    read = lambda path: read_labelled_texts(  # noqa: E731
        path, text_column=text_column, label_column=label_column, encoding=encoding
    )
    examples = read(train)
    if not examples:
        raise CorpusFormatError(f"{train}: no labelled examples")
    classes = class_names(label for _, label, _ in examples)
    if len(classes) < 2:
        raise CorpusFormatError(
            f"{train}: every example is labelled {classes[0]!r}; a classifier needs two "
            "classes or more"
        )
    fractions = {
        name: fraction
        for name, given, fraction in (
            ("validation", validation, validation_fraction),
            ("test", test, test_fraction),
        )
        if given is None
    }
    indices = stratified_split([label for _, label, _ in examples], fractions, seed)
    split_examples = {
        name: [examples[index] for index in chosen] for name, chosen in indices.items()
    }
    for name, given in (("validation", validation), ("test", test)):
        if given is not None:
            split_examples[name] = read(given)
    index_of = {name: position for position, name in enumerate(classes)}
    for name in ("validation", "test"):
        for _, label, where in split_examples[name]:
            if label not in index_of:
                raise CorpusFormatError(
                    f"{where}: label {label!r} does not occur in the training file {train} "
                    f"(its classes: {', '.join(classes)})"
                )
    numbered = {
        name: [(text, index_of[label]) for text, label, _ in split_examples[name]]
        for name in SPLIT_NAMES
    }
    kept, skipped = drop_overlong(
        numbered, texts=lambda example: example[:1], max_characters=max_characters
    )
    return LabelledCorpus(**kept, classes=classes, skipped_overlong=skipped)
