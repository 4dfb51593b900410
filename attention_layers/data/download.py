"""Downloading a corpus archive once, and keeping only members whose checksum is right."""

import dataclasses
import hashlib
import os
import pathlib
import zipfile

import keras


class ChecksumError(ValueError):
    """A download is not the expected file; nothing of it was kept in the cache.

    Example:

    ```python
    try:
        corpus = load_spa_eng()
    except ChecksumError as error:  # a proxy's error page, a truncated or changed file
        print(error)  # names the URL, the member, the actual and the expected SHA-256
    ```
    """


@dataclasses.dataclass(frozen=True)
class RemoteArchive:
    """A zip file on the web and the SHA-256 of the members we use.

    Attributes:
        name: the cache folder, under `<cache_dir>/datasets/`.
        url: where to download the zip from (`file://` URLs work too).
        members: `{path inside the zip: sha256 of its content}`.

    Example:

    ```python
    archive = RemoteArchive(
        name="spa-eng",
        url="http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",
        members={"spa-eng/spa.txt": "6ec60e21...574c"},  # the full 64 hex digits
    )
    ```
    """

    name: str
    url: str
    members: dict


def fetch_archive_members(archive, cache_dir=None):
    """Returns local copies of an archive's members, downloading and verifying them once.

    The zip is fetched with `keras.utils.get_file`; each member is checked against its
    SHA-256 before anything is written, then written under a temporary name and renamed,
    and the zip is deleted. A wrong checksum, a damaged zip or a failed download leaves
    the cache as it was. Members found in the cache are checked again, since they may have
    been left by an older version.

    Args:
        archive: a `RemoteArchive`.
        cache_dir: the cache root; default `$KERAS_HOME` or `~/.keras`, as for Keras.

    Returns:
        A dict `{member: pathlib.Path}` of the verified files.

    Raises:
        ChecksumError: the download does not hold the expected members.
        OSError: the download failed (for example, no internet access).

    Example:

    ```python
    files = fetch_archive_members(SPA_ENG_ARCHIVE)
    files["spa-eng/spa.txt"]  # ~/.keras/datasets/spa-eng/spa.txt
    ```
    """
    cache_root = pathlib.Path(cache_dir or os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
    directory = cache_root / "datasets" / archive.name
    targets = {member: directory / pathlib.PurePosixPath(member).name for member in archive.members}
    if all(
        path.is_file() and _sha256(path.read_bytes()) == archive.members[member]
        for member, path in targets.items()
    ):
        return targets

    # get_file falls back to /tmp when the cache root does not exist yet.
    directory.mkdir(parents=True, exist_ok=True)
    try:
        zip_path = pathlib.Path(
            keras.utils.get_file(
                fname=f"{archive.name}.zip",
                origin=archive.url,
                cache_dir=str(cache_root),
                cache_subdir=str(pathlib.Path("datasets") / archive.name),
            )
        )
    except Exception as error:
        _remove_if_empty(directory)
        raise OSError(
            f"Could not download {archive.url}: {error}. Without internet access, pass the "
            "path of a local copy instead."
        ) from error
    try:
        contents = _verified_members(zip_path, archive)
    except ChecksumError:
        zip_path.unlink(missing_ok=True)
        _remove_if_empty(directory)
        raise
    zip_path.unlink()  # the verified members are all we keep

    for member, data in contents.items():
        partial = targets[member].with_name(targets[member].name + ".partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, targets[member])
        finally:
            partial.unlink(missing_ok=True)
    return targets


def _verified_members(zip_path, archive):
    try:
        with zipfile.ZipFile(zip_path) as zipped:
            contents = {member: zipped.read(member) for member in archive.members}
    except (zipfile.BadZipFile, KeyError) as error:
        raise ChecksumError(
            f"{archive.url} is not the expected archive ({error}); the download was deleted"
        ) from error
    for member, data in contents.items():
        actual = _sha256(data)
        if actual != archive.members[member]:
            raise ChecksumError(
                f"{archive.url}: {member} has sha256 {actual}, expected "
                f"{archive.members[member]}; the download was deleted"
            )
    return contents


def _remove_if_empty(directory):
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty: it holds files from an earlier, verified download


def _sha256(data):
    return hashlib.sha256(data).hexdigest()
