"""Rows of the files users bring: CSV, TSV and JSON lines, each row with its line number.

The corpus readers for a user's own data (`user_corpora.py`) read through these two
functions, so that every format reports a bad row the same way: the file, the line, and
what is wrong (`data.csv:7: expected 2 columns, got 1: 'hola'`).
"""

import csv
import io
import json
import pathlib

from attention_layers.data.reading import CorpusFormatError, read_lines

# A file's format follows its suffix; any other suffix (`.txt`, none) is read as TSV, the
# layout of the Tatoeba/manythings files (`fra.txt`) and of GLUE.
JSON_LINES_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)


def table_format(path):
    """The format `read_rows` reads `path` as: `"jsonl"`, `"csv"` or `"tsv"`, by suffix."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix in JSON_LINES_SUFFIXES:
        return "jsonl"
    return "csv" if suffix in CSV_SUFFIXES else "tsv"


def read_rows(path, *, encoding="utf-8"):
    """Reads the non-blank rows of a CSV, TSV or JSON-lines file, with their line numbers.

    1. The file is decoded (`encoding`, a UTF-8 byte order mark ignored, CRLF read as LF).
    2. CSV is read with the `csv` module's quoting rules (a quoted field may hold commas,
       quotes doubled, even newlines); TSV is split on tabs only, with quotes kept as text,
       since sentences quote freely (`He said "hi".`); JSON lines are one object a line.
    3. Blank lines are skipped.

    Args:
        path: the file; its suffix picks the format (`table_format`).
        encoding: a Python codec name.

    Returns:
        A list of `(line_number, row)`: `row` is a list of strings (CSV, TSV) or a dict
        (JSON lines); `line_number` counts from 1 and is the row's first line.

    Raises:
        CorpusFormatError: the file cannot be decoded (byte offset and line named), a JSON
            line is not an object, or a CSV quote is never closed (line named).

    Example:

    ```python
    read_rows("pairs.tsv")  # [(1, ["en", "fr"]), (2, ["Go.", "Va !"]), ...]
    ```
    """
    path = pathlib.Path(path)
    lines = read_lines(path, encoding)
    kind = table_format(path)
    if kind == "jsonl":
        return [(number, _json_object(path, number, line)) for number, line in _numbered(lines)]
    if kind == "tsv":
        return [(number, line.split("\t")) for number, line in _numbered(lines)]
    reader = csv.reader(io.StringIO("\n".join(lines)), strict=True)
    rows, first_line = [], 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((first_line, row))
            first_line = reader.line_num + 1
    except csv.Error as error:
        raise CorpusFormatError(f"{path}:{first_line}: not valid CSV: {error}") from error
    return rows


def _numbered(lines):
    return [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _json_object(path, number, line):
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise CorpusFormatError(f"{path}:{number}: not valid JSON: {error.msg}") from error
    if not isinstance(value, dict):
        raise CorpusFormatError(
            f"{path}:{number}: expected a JSON object, got {type(value).__name__}: {line[:80]!r}"
        )
    return value


def find_column(path, header, names, what):
    """The index in `header` of the first of `names` it holds (case and spaces ignored).

    Raises:
        CorpusFormatError: none is there; the message names the file, what was looked
            for and the columns the header has.
    """
    folded = [cell.strip().casefold() for cell in header]
    for name in names:
        if name.casefold() in folded:
            return folded.index(name.casefold())
    wanted = " or ".join(repr(name) for name in names)
    raise CorpusFormatError(
        f"{path}:1: no {what} column {wanted}; the header has {', '.join(map(repr, header))}"
    )


def cell(path, number, row, index, width):
    """`row[index]` stripped, or a `CorpusFormatError` naming the line when the row is short."""
    if index >= len(row):
        raise CorpusFormatError(
            f"{path}:{number}: expected {width} columns, got {len(row)}: {' | '.join(row)[:80]!r}"
        )
    return row[index].strip()
