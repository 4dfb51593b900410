"""Reading corpus files: strict UTF-8, and malformed lines skipped with a warning or raised."""

import pathlib
import warnings


class CorpusFormatError(ValueError):
    """A corpus file is not UTF-8, or has a malformed line and `strict=True` was asked.

    The message starts with the file, then the line number (`spa.txt:3: ...`) or the
    byte offset (`spa.txt: not valid UTF-8 at byte offset 16 (line 2)`).

    Example:

    ```python
    try:
        corpus = load_spa_eng("spa.txt", strict=True)
    except CorpusFormatError as error:
        print(error)  # spa.txt:3: expected 2 or 3 tab-separated columns, got 1: 'broken'
    ```
    """


class MalformedLineWarning(UserWarning):
    """Malformed lines were skipped while reading a corpus file.

    Issued once per file, with the count and the first skipped line.

    Example:

    ```python
    with warnings.catch_warnings():
        warnings.simplefilter("error", MalformedLineWarning)  # make skipping fatal
        corpus = load_spa_eng("spa.txt")
    ```
    """


def read_lines(path, encoding="utf-8"):
    """Reads a text file (UTF-8 unless told) as a list of lines, without their line endings.

    Lines are split on `\\n` only (a `\\r` before it is dropped), never on the other
    Unicode line separators, which can occur inside a sentence. A leading byte order mark
    is ignored.

    Args:
        path: the file.
        encoding: a Python codec name (`"utf-8"`, `"latin-1"`, `"cp1252"`, ...).

    Returns:
        The lines, as a list of strings; a final newline does not make an empty last line.

    Raises:
        LookupError: `encoding` names no codec.
        CorpusFormatError: the file is not valid in `encoding` (the message names the file, the
            byte offset of the first invalid byte and its line), or it is not a regular
            file: a pipe or a device, whose reading could wait forever for a writer.
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir() and not path.is_file():
        raise CorpusFormatError(
            f"{path} is not a regular file (a pipe, a device or a socket); give a file"
        )
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line_number = data.count(b"\n", 0, error.start) + 1
        name = "UTF-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
        raise CorpusFormatError(
            f"{path}: not valid {name} at byte offset {error.start} (line {line_number}): "
            f"{error.reason}"
        ) from error
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


class MalformedLines:
    """Collects the malformed lines of one file: raises at once, or warns once at the end.

    Args:
        path: the file being read, for messages.
        strict: raise `CorpusFormatError` at the first malformed line instead of skipping.
    """

    def __init__(self, path, strict):
        self.path = pathlib.Path(path)
        self.strict = strict
        self.count = 0
        self._first = None

    def report(self, line_number, reason, line):
        """Records (or, when strict, raises on) line `line_number` (1-based)."""
        message = f"{self.path}:{line_number}: {reason}: {line[:80]!r}"
        if self.strict:
            raise CorpusFormatError(message)
        self.count += 1
        if self._first is None:
            self._first = message

    def warn(self):
        """Issues one `MalformedLineWarning` with the count, if any line was skipped."""
        if self.count:
            warnings.warn(
                f"{self.path}: skipped {self.count} malformed line(s); the first: {self._first}",
                MalformedLineWarning,
                stacklevel=3,
            )
