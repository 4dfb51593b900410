"""The Tatoeba Spanish-English sentence pairs (manythings.org `spa.txt`), Spanish -> English."""

import pathlib

from attention_layers.data.corpora import (
    MAX_SENTENCE_CHARACTERS,
    TranslationCorpus,
    drop_overlong,
    source_group_key,
    split_indices_by_key,
)
from attention_layers.data.download import RemoteArchive, fetch_archive_members
from attention_layers.data.reading import MalformedLines, read_lines

# The archive the TensorFlow translation tutorial downloads. Its `spa.txt` (118,964 pairs,
# manythings.org release of 2018-05-13) is what the checksum pins; a local copy passed
# as `path` is read as it is, since users may hold a newer or a filtered release.
SPA_ENG_ARCHIVE = RemoteArchive(
    name="spa-eng",
    url="http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
    members={
        "spa-eng/spa.txt": "6ec60e212f812ee3430f7568ea6f33b6fb080e32193c5952e8da0ee8ba45574c",
    },
)


def read_spa_eng_pairs(path, *, strict=False):
    """Reads `spa.txt` as `(spanish, english)` pairs, in file order.

    Each line is `English<TAB>Spanish`, optionally followed by `<TAB>attribution` (current
    manythings.org releases), which is ignored. A line without a tab, with an empty side
    or with too many columns is malformed.

    Args:
        path: the `spa.txt` file.
        strict: raise on the first malformed line instead of skipping it.

    Returns:
        A list of `(spanish, english)` string pairs, stripped of surrounding spaces.

    Raises:
        CorpusFormatError: the file is not UTF-8 (message: file and byte offset), or a
            line is malformed and `strict` is set (message: file and line number).

    Warns:
        MalformedLineWarning: once, with the count, when malformed lines were skipped.

    Example:

    ```python
    pairs = read_spa_eng_pairs("spa.txt")
    pairs[0]  # ("Ve.", "Go.")
    ```
    """
    malformed = MalformedLines(path, strict)
    pairs = []
    for line_number, line in enumerate(read_lines(path), start=1):
        columns = line.split("\t")
        if len(columns) not in (2, 3):
            malformed.report(
                line_number, f"expected 2 or 3 tab-separated columns, got {len(columns)}", line
            )
            continue
        english, spanish = columns[0].strip(), columns[1].strip()
        if not english or not spanish:
            malformed.report(line_number, "empty sentence", line)
            continue
        pairs.append((spanish, english))
    malformed.warn()
    return pairs


def load_spa_eng(
    path=None,
    *,
    validation_fraction=0.1,
    test_fraction=0.1,
    seed=0,
    strict=False,
    cache_dir=None,
    max_characters=MAX_SENTENCE_CHARACTERS,
):
    """Loads the Tatoeba Spanish-English pairs, split by Spanish sentence.

    The split is deterministic and grouped by source: all the translations of one
    Spanish sentence (compared ignoring case and spacing) go to the same split, so no test
    sentence was seen in training. Pairs keep the file's order within a split (the file is
    sorted by length): shuffle when batching.

    A pair with a side longer than `max_characters` (whitespace runs counted as one
    character) is valid but skipped, in every split, and counted in the corpus's
    `skipped_overlong`: one such line in the test split would otherwise make BLEU 0.

    Args:
        path: a local `spa.txt`, or a directory holding one. `None` downloads
            `spa-eng.zip` (once, into the Keras cache) and checks its `spa.txt` against
            the SHA-256 of the canonical release.
        validation_fraction: the expected fraction of Spanish sentences in validation.
        test_fraction: the expected fraction of Spanish sentences in test.
        seed: changes which sentences go to which split.
        strict: raise on a malformed line instead of skipping it with a warning.
        cache_dir: where downloads are kept (default: as `keras.utils.get_file`).
        max_characters: the longest sentence kept (default 512); `None` keeps all.

    Returns:
        A `TranslationCorpus` of `(spanish, english)` pairs; `skipped_overlong` counts
        the pairs skipped per split.

    Raises:
        CorpusFormatError: see `read_spa_eng_pairs`.
        ChecksumError: the downloaded file is not the expected one (nothing is cached).

    Example:

    ```python
    corpus = load_spa_eng(os.environ["ATTENTION_DATA_DIR"])  # or load_spa_eng() to download
    corpus.train[0]  # ("Ve.", "Go.")
    ```
    """
    if path is None:
        path = fetch_archive_members(SPA_ENG_ARCHIVE, cache_dir)["spa-eng/spa.txt"]
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "spa.txt"
    pairs = read_spa_eng_pairs(path, strict=strict)
    splits = split_indices_by_key(
        [source_group_key(spanish) for spanish, _ in pairs],
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    kept, skipped = drop_overlong(
        {name: [pairs[index] for index in indices] for name, indices in splits.items()},
        texts=lambda pair: pair,
        max_characters=max_characters,
    )
    return TranslationCorpus(**kept, skipped_overlong=skipped)
