"""GLUE SST-2 (Stanford Sentiment Treebank, binary): movie-review sentences and phrases."""

import pathlib

from attention_layers.data.corpora import (
    MAX_SENTENCE_CHARACTERS,
    SentimentCorpus,
    drop_overlong,
)
from attention_layers.data.download import RemoteArchive, fetch_archive_members
from attention_layers.data.reading import MalformedLines, read_lines

# The archive GLUE's download script fetches; the checksums are those of its three files.
SST2_ARCHIVE = RemoteArchive(
    name="SST-2",
    url="https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
    members={
        "SST-2/train.tsv": "5c47819a1d04cfabc7afcc79a919c97b0b367101ad42d3ff148d67bf501384c2",
        "SST-2/dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
        "SST-2/test.tsv": "69a938605609b3e6663b4487918fe1565eb293734e6e520d0366d1d412fd2a13",
    },
)
_LABELLED_HEADER = "sentence\tlabel"
_TEST_HEADER = "index\tsentence"


def read_sst2_file(path, *, labelled=True, strict=False):
    """Reads one SST-2 file as `(sentence, label)` pairs.

    `train.tsv` and `dev.tsv` rows are `sentence<SPACE><TAB>label` (a few rows lack the
    space); `test.tsv` rows are `index<TAB>sentence`, without labels. The header line is
    skipped. A row without a tab, with an empty sentence or with a label other than 0 or
    1 is malformed.

    Args:
        path: the `.tsv` file.
        labelled: `True` for train and dev, `False` for test.
        strict: raise on the first malformed row instead of skipping it.

    Returns:
        A list of `(sentence, label)`: label 1 (positive) or 0 (negative), `None` when
        `labelled` is `False`.

    Raises:
        CorpusFormatError: the file is not UTF-8, or a row is malformed and `strict`.

    Warns:
        MalformedLineWarning: once, with the count, when malformed rows were skipped.

    Example:

    ```python
    read_sst2_file("SST-2/dev.tsv")[0]  # ("it 's a charming and often affecting journey .", 1)
    read_sst2_file("SST-2/test.tsv", labelled=False)[0]  # ("uneasy mishmash of ...", None)
    ```
    """
    header = _LABELLED_HEADER if labelled else _TEST_HEADER
    malformed = MalformedLines(path, strict)
    examples = []
    for line_number, line in enumerate(read_lines(path), start=1):
        if line_number == 1 and line == header:
            continue
        if labelled:
            sentence, tab, label = line.rpartition("\t")
        else:
            _, tab, sentence = line.partition("\t")
            label = None
        sentence = sentence.strip()
        if not tab:
            malformed.report(line_number, "no tab", line)
        elif not sentence:
            malformed.report(line_number, "empty sentence", line)
        elif labelled and label not in ("0", "1"):
            malformed.report(line_number, f"label {label!r} is not 0 or 1", line)
        else:
            examples.append((sentence, None if label is None else int(label)))
    malformed.warn()
    return examples


def load_sst2(path=None, *, strict=False, cache_dir=None, max_characters=MAX_SENTENCE_CHARACTERS):
    """Loads GLUE SST-2: train (67,349), validation = GLUE dev (872), unlabelled test (1,821).

    Sentences are lower-cased and tokenized as in the Penn Treebank (`it 's`, `do n't`);
    train holds phrases as well as full sentences. A sentence longer than
    `max_characters` is skipped and counted in `skipped_overlong`, in every split, as
    `load_spa_eng` does (none of GLUE's is).

    Args:
        path: the local `SST-2` directory (holding `train.tsv`, `dev.tsv`, `test.tsv`), or
            its parent. `None` downloads `SST-2.zip` (once, into the Keras cache) and
            checks each file's SHA-256.
        strict: raise on a malformed row instead of skipping it with a warning.
        cache_dir: where downloads are kept (default: as `keras.utils.get_file`).
        max_characters: the longest sentence kept (default 512); `None` keeps all.

    Returns:
        A `SentimentCorpus`; the test labels are `None`.

    Raises:
        CorpusFormatError: a file is not UTF-8, or a row is malformed and `strict`.
        ChecksumError: the download is not the expected archive (nothing is cached).

    Example:

    ```python
    corpus = load_sst2(pathlib.Path(os.environ["ATTENTION_DATA_DIR"]) / "SST-2")
    corpus.validation[0]  # ("it 's a charming and often affecting journey .", 1)
    ```
    """
    if path is None:
        files = fetch_archive_members(SST2_ARCHIVE, cache_dir)
        directory = files["SST-2/train.tsv"].parent
    else:
        directory = pathlib.Path(path)
        if not (directory / "train.tsv").exists() and (directory / "SST-2").is_dir():
            directory = directory / "SST-2"
    kept, skipped = drop_overlong(
        {
            "train": read_sst2_file(directory / "train.tsv", strict=strict),
            "validation": read_sst2_file(directory / "dev.tsv", strict=strict),
            "test": read_sst2_file(directory / "test.tsv", labelled=False, strict=strict),
        },
        texts=lambda example: example[:1],
        max_characters=max_characters,
    )
    return SentimentCorpus(**kept, skipped_overlong=skipped)
