"""Command-line types and errors: `argparse` types with one-line messages, `UsageError`,
and `command_line_errors`, which turns a user's mistake into `error: ...` and exit code 2.

```python
parser.add_argument("--epochs", type=positive_int)
args = parser.parse_args()
with command_line_errors(parser, CorpusFormatError):   # bad data -> one line, exit code 2
    corpus = load_corpus(args.data)
```
"""

import argparse
import codecs
import contextlib

import numpy as np

from attention_layers.utils.checks import SizeLimitError


class UsageError(ValueError):
    """A problem with a command's flags or data that its user can fix; exit code 2."""


@contextlib.contextmanager
def command_line_errors(parser, *errors):
    """Turns expected errors into `parser.error(message)`: usage, message, exit code 2.

    Wrap the code that reads the user's flags and files, so that a wrong path or a
    malformed file ends with one clear line instead of a traceback. `UsageError`,
    `SizeLimitError` (flags that ask for a model above the size limits), `FileNotFoundError`,
    `IsADirectoryError`, `PermissionError` and `UnicodeDecodeError` are always caught, plus
    the given `errors` (e.g. `CorpusFormatError`).

    Args:
        parser: the `argparse.ArgumentParser` of the command.
        *errors: more exception classes to report this way.

    Example:

    >>> with command_line_errors(parser, CorpusFormatError):
    ...     corpus = load_spa_eng(args.data, strict=True)
    """
    caught = (
        UsageError,
        SizeLimitError,
        FileNotFoundError,
        IsADirectoryError,
        PermissionError,
        UnicodeDecodeError,
        *errors,
    )
    try:
        yield
    except caught as error:
        message = str(error)
        if isinstance(error, OSError) and error.filename and str(error.filename) not in message:
            message = f"{error.filename}: {message}"
        parser.error(message)


# The largest count a flag takes: TensorFlow sizes and shapes are int32 (a --batch-size of
# 10**23 overflowed inside tf.data); a flag whose size is allocated has its own limit too.
MAX_FLAG_INT = 2**31 - 1
# `keras.utils.set_random_seed` takes what NumPy does.
MAX_SEED = 2**32 - 1


def _int_in_range(text, minimum, maximum):
    value = int(text)
    if value < minimum:
        raise ValueError(text)
    if value > maximum:
        raise argparse.ArgumentTypeError(f"{text} is more than {maximum:,}, the largest allowed")
    return value


def positive_int(text):
    """`argparse` type: an int from 1 to `MAX_FLAG_INT`."""
    return _int_in_range(text, 1, MAX_FLAG_INT)


def non_negative_int(text):
    """`argparse` type: an int from 0 to `MAX_FLAG_INT`."""
    return _int_in_range(text, 0, MAX_FLAG_INT)


def seed_int(text):
    """`argparse` type: a random seed, an int from 0 to `MAX_SEED` (NumPy's range)."""
    return _int_in_range(text, 0, MAX_SEED)


def positive_float(text):
    """`argparse` type: a float > 0."""
    value = float(text)
    if not value > 0 or not np.isfinite(value):
        raise ValueError(text)
    return value


def unit_interval(text):
    """`argparse` type: a float in [0, 1)."""
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


def closed_unit_interval(text):
    """`argparse` type: a float in [0, 1]."""
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def codec(text):
    """`argparse` type: the name of a text codec Python knows (`utf-8`, `latin-1`, ...)."""
    try:
        info = codecs.lookup(text)
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a codec Python knows (e.g. utf-8, latin-1, cp1252)"
        ) from None
    if not getattr(info, "_is_text_encoding", True):  # "rot13", "base64": bytes, not text
        raise argparse.ArgumentTypeError(f"{text!r} is not a text codec (e.g. utf-8, latin-1)")
    return text


# argparse prints "invalid <name> value" using the function's name.
positive_int.__name__ = "positive int"
non_negative_int.__name__ = "int >= 0"
seed_int.__name__ = "seed (int >= 0)"
positive_float.__name__ = "positive float"
unit_interval.__name__ = "fraction in [0, 1)"
closed_unit_interval.__name__ = "fraction in [0, 1]"
