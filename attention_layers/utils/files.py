"""All-or-nothing files: a reader, or a process killed at any moment, sees the old or the new.

Every file or folder that a later step or a user loads is written under a temporary name
in the same folder, flushed to disk, and renamed into place; a rename within one file
system is atomic. The temporary name is `.partial-<pid>-<random>-<name>`: it keeps the
name's ending (Keras insists on `.weights.h5` and `.keras`) and the writer's process id,
so that `remove_partials` can tell the leftovers of a killed writer from a write in
progress.

Permissions follow the umask, as for a file made by `open(path, "w")` or `mkdir`
(`0o666 & ~umask` for files, `0o777 & ~umask` for folders), whatever the library that
wrote the temporary file chose (`tempfile.mkstemp` and `mkdtemp` give 0600 and 0700).

Example:

>>> atomic_write_text("run/config.json", '{"epochs": 3}\\n')
>>> with atomic_path("run/model.keras") as temporary:
...     model.save(temporary)  # a kill here leaves the previous run/model.keras intact
"""

import contextlib
import ctypes
import ctypes.util
import functools
import os
import pathlib
import re
import shutil
import sys
import uuid

PARTIAL_PREFIX = ".partial-"
PREVIOUS_PREFIX = ".previous-"
# Our temporary names, and those of the exports written before this module existed
# (`tempfile.mkdtemp(prefix=".<name>.partial-")`, `.<name>.previous-`).
_PARTIAL_NAME = re.compile(r"^\.(?P<kind>partial|previous)-(?P<pid>\d+)-[0-9a-f]{8}-(?P<name>.+)$")
_LEGACY_NAME = re.compile(r"^\.(?P<name>.+)\.(partial|previous)-[a-z0-9_]{8}$")

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def atomic_write_bytes(path, data):
    """Writes `data` (bytes) to `path`, all or nothing.

    Args:
        path: the file to write; its folder must exist.
        data: the new content.

    Returns:
        `path`, as a `pathlib.Path`.
    """
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return pathlib.Path(path)


def atomic_write_text(path, text, encoding="utf-8"):
    """Writes `text` to `path` (UTF-8 by default), all or nothing.

    Args:
        path: the file to write; its folder must exist.
        text: the new content (`str`).
        encoding: the text encoding.

    Returns:
        `path`, as a `pathlib.Path`.
    """
    return atomic_write_bytes(path, text.encode(encoding))


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary name beside `path`; on success, moves what was written there to `path`.

    The body writes a file or a folder at the yielded `pathlib.Path` (which does not exist
    yet). When the body returns, the content is flushed to disk (`fsync`), given the
    umask's permissions (a folder's files and subfolders too) and renamed to `path`,
    replacing a previous file or folder there. If the body raises, the temporary content
    is deleted and `path` is left as it was.

    A folder replaces a previous folder in one step (Linux `renameat2` with
    `RENAME_EXCHANGE`); where that is unavailable the previous folder is renamed aside
    first, so a kill between the two renames leaves it under a `.previous-` name, from
    which `remove_partials` puts it back.

    Args:
        path: the destination. Its folder must exist.

    Yields:
        The temporary `pathlib.Path`, in the same folder as `path`.

    Raises:
        FileNotFoundError: if the body wrote nothing at the temporary name.
    """
    path = pathlib.Path(path)
    temporary = _temporary_name(path, PARTIAL_PREFIX)
    try:
        yield temporary
        if not temporary.exists():
            raise FileNotFoundError(f"Nothing was written at {temporary} (for {path}).")
        _sync_and_set_modes(temporary)
        if temporary.is_dir() and not temporary.is_symlink():
            _replace_folder(temporary, path)
        else:
            os.replace(temporary, path)
        _fsync_folder(path.parent)
    finally:
        _remove(temporary)


def remove_partials(folder, name=None):
    """Deletes what killed writers left in `folder`: their `.partial-*` files and folders.

    A leftover whose writer is still running (its process id is alive) is kept: it is a
    write in progress. A previous version moved aside (`.previous-*`, see `atomic_path`)
    whose destination is missing is put back instead of deleted. The exports of earlier
    versions (`.<name>.partial-XXXXXXXX`, from `tempfile.mkdtemp`) are removed too.

    Args:
        folder: the folder to clean; a missing folder is nothing to clean.
        name: only the leftovers of writes to `folder / name`; pass it when `folder`
            is shared with files this program did not write (a user's export folder).

    Returns:
        The sorted list of removed `pathlib.Path`s.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in sorted(folder.iterdir()):
        match = _PARTIAL_NAME.match(entry.name) or _LEGACY_NAME.match(entry.name)
        if not match or name not in (None, match["name"]):
            continue
        if "pid" in match.groupdict():
            if _process_alive(int(match["pid"])):
                continue
            destination = folder / match["name"]
            if match["kind"] == "previous" and not os.path.lexists(destination):
                os.rename(entry, destination)
                continue
        removed.append(entry)
        _remove(entry)
    return removed


def umask():
    """The process's current umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_and_set_modes(temporary):
    mask = umask()
    if temporary.is_dir():
        for root, folders, files in os.walk(temporary):
            for name in files:
                _fsync_file(os.path.join(root, name))
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
            for name in folders:
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
        os.chmod(temporary, 0o777 & ~mask)
    else:
        _fsync_file(temporary)
        os.chmod(temporary, 0o666 & ~mask)


def _replace_folder(temporary, path):
    if not path.exists():
        with contextlib.suppress(FileExistsError, OSError):
            os.rename(temporary, path)
            return
    if _exchange(temporary, path):
        return  # the previous version is now at `temporary`, deleted by the caller
    aside = _temporary_name(path, PREVIOUS_PREFIX)
    os.rename(path, aside)
    try:
        os.rename(temporary, path)
    except BaseException:
        os.rename(aside, path)
        raise
    finally:
        _remove(aside)


def _temporary_name(path, prefix):
    return path.with_name(f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


@functools.cache
def _renameat2():
    libc_name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(libc_name), "renameat2", None) if libc_name else None


def _exchange(first, second):
    """Swaps two paths in one atomic step (Linux >= 3.15); False where unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return result == 0


def _fsync_file(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_folder(folder):
    # Makes the rename itself durable; some file systems cannot sync a folder.
    with contextlib.suppress(OSError):
        _fsync_file(folder)


def _process_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def write_atomically(path, write):
    """Calls `write(temporary_path)`, then renames the file to `path` (`atomic_path`).

    A rename within a folder is atomic, so a process killed at any moment (`kill -9`)
    leaves either the old file or the new one, never half of one. The temporary name keeps
    `path`'s ending (Keras insists on `.keras` and `.weights.h5`); `remove_partials`
    deletes those that a killed process left.

    Args:
        path: the file to write.
        write: `callable(temporary_path)` that writes the whole file.
    """
    with atomic_path(path) as temporary:
        write(temporary)


class SaveError(RuntimeError):
    """A file could not be written (disk full, no permission, a read-only folder).

    The commands end with one line that names the file and what the run kept, and exit
    code 2 (the user fixes the disk or the folder, then `--resume` goes on).

    Attributes:
        path: the file (or folder) that was being written.
        reason: why, in words (e.g. `"No space left on device"`).
    """

    def __init__(self, path, reason):
        super().__init__(f"could not write {path}: {reason}")
        self.path = pathlib.Path(path)
        self.reason = reason


@contextlib.contextmanager
def saving(path):
    """Turns a failed write of `path` (an `OSError`, or TensorFlow's own error while it
    writes a SavedModel) into a `SaveError` that names `path`."""
    try:
        yield
    except OSError as error:
        reason = f"{error.strerror} (errno {error.errno})" if error.strerror else str(error)
        raise SaveError(path, reason) from error
    except Exception as error:
        tensorflow = sys.modules.get("tensorflow")
        if tensorflow is None or not isinstance(error, tensorflow.errors.OpError):
            raise
        raise SaveError(path, (error.message or type(error).__name__).splitlines()[0]) from error
