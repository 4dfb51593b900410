"""What is wrong with a `.keras` file that does not load, in one line that names it.

Keras answers "File not found" for an empty, truncated or non-zip `.keras` file and for a
folder, although the path exists, and wraps an error raised while a class is rebuilt from
its config (a size limit, an unknown argument) in a long `TypeError` with the whole config.
`check_keras_file` looks at the path before Keras does, and `load_error_summary` keeps
the cause of a failed load.

Example:

>>> check_keras_file("runs/translator/translator.keras")  # silent when it may load
>>> check_keras_file("empty.keras")
Traceback (most recent call last):
...
ModelFileError: empty.keras is empty (0 bytes): not a .keras file; it was not saved completely.
"""

import os
import pathlib
import stat
import zipfile


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message names the file and the reason."""


def check_keras_file(path):
    """Raises `ModelFileError` unless `path` can be a Keras model: a `.keras` zip archive,
    a folder holding an unzipped one (`config.json`), or another file that Keras reads
    (`.h5`), which is left to it.

    Args:
        path: the path given to `load_model`.

    Raises:
        ModelFileError: no such path, a folder without `config.json`, an empty file, or a
            `.keras` file that is not a zip archive (damaged, or cut short).
    """
    path = pathlib.Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read it ({error.strerror})") from error
    if stat.S_ISDIR(mode):
        if not (path / "config.json").is_file():
            raise ModelFileError(f"{path} is a folder, not a .keras file (a model saved "
                                 "by model.save('NAME.keras'))")
        return
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{path} is not a regular file (a pipe or a device), not a "
                             ".keras file")
    if not os.access(path, os.R_OK):
        raise ModelFileError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes): not a .keras file; it was not "
                             "saved completely.")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a .keras file (not a zip archive): it is "
                             "damaged or was cut short.")


def load_error_summary(error):
    """The cause of a failed `keras.saving.load_model`, in one line.

    Keras reports an error raised while rebuilding a class as `"<class> could not be
    deserialized properly ... config={...}. Exception encountered: <cause>"`: the cause
    is kept, the config dropped.
    """
    message = str(error)
    marker = "Exception encountered:"
    if marker in message:
        message = message.rsplit(marker, 1)[1]
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
