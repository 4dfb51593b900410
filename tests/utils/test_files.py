"""All-or-nothing writes: modes follow the umask, a crash or a kill leaves the old content."""

import os
import pathlib
import stat
import subprocess
import sys
import tempfile

import pytest

from attention_layers.utils import files
from attention_layers.utils.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    remove_partials,
)

FILES_MODULE = pathlib.Path(files.__file__)


@pytest.fixture
def set_umask():
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder):
    return sorted(entry.name for entry in pathlib.Path(folder).iterdir() if entry.name[0] == ".")


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_file_mode_follows_the_umask(tmp_path, set_umask, mask, expected):
    set_umask(mask)
    path = atomic_write_text(tmp_path / "config.json", "{}\n")
    assert path.read_text() == "{}\n"
    assert mode(path) == expected
    assert files.umask() == mask


@pytest.mark.parametrize("mask, expected", [(0o022, 0o755), (0o027, 0o750)])
def test_folder_made_like_mkdtemp_gets_the_umask_mode(tmp_path, set_umask, mask, expected):
    set_umask(mask)
    with atomic_path(tmp_path / "serving") as temporary:
        temporary.mkdir(mode=0o700)  # what tempfile.mkdtemp does
        (temporary / "inner").mkdir(mode=0o700)
        descriptor, name = tempfile.mkstemp(dir=temporary)  # 0600
        os.close(descriptor)
    assert mode(tmp_path / "serving") == expected
    assert mode(tmp_path / "serving" / "inner") == expected
    assert mode(tmp_path / "serving" / pathlib.Path(name).name) == expected & 0o666


def test_replaces_a_file_and_keeps_its_ending(tmp_path):
    path = tmp_path / "epoch_0001.weights.h5"
    path.write_bytes(b"old")
    with atomic_path(path) as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.endswith(".weights.h5")
        assert not temporary.exists()
        temporary.write_bytes(b"new")
    assert path.read_bytes() == b"new"
    assert leftovers(tmp_path) == []


def test_an_exception_in_the_body_leaves_the_old_file(tmp_path):
    path = atomic_write_bytes(tmp_path / "model.keras", b"good model")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_path(path) as temporary:
            temporary.write_bytes(b"half a mod")
            raise RuntimeError("crash while saving")
    assert path.read_bytes() == b"good model"
    assert leftovers(tmp_path) == []


def test_writing_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Nothing was written"):
        with atomic_path(tmp_path / "model.keras"):
            pass
    assert not (tmp_path / "model.keras").exists()


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_replaces_a_non_empty_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(files, "_exchange", lambda first, second: False)
    export = tmp_path / "serving"
    export.mkdir()
    (export / "saved_model.pb").write_text("old")
    (export / "old_only.txt").write_text("old")
    with atomic_path(export) as temporary:
        temporary.mkdir()
        (temporary / "saved_model.pb").write_text("new")
    assert sorted(p.name for p in export.iterdir()) == ["saved_model.pb"]
    assert (export / "saved_model.pb").read_text() == "new"
    assert leftovers(tmp_path) == []


def test_kill_during_a_write_leaves_the_old_file_and_the_next_run_cleans_up(tmp_path):
    path = atomic_write_text(tmp_path / "translator.keras", "good model")
    # The module alone, loaded by path: the child does not import TensorFlow.
    child = f"""
import importlib.util, os
spec = importlib.util.spec_from_file_location("files", {str(FILES_MODULE)!r})
files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(files)
with files.atomic_path({str(path)!r}) as temporary:
    temporary.write_text("half")
    os.kill(os.getpid(), 9)
"""
    result = subprocess.run([sys.executable, "-c", child], timeout=60)
    assert result.returncode == -9
    assert path.read_text() == "good model"
    (leftover,) = leftovers(tmp_path)
    assert leftover.startswith(".partial-") and leftover.endswith("-translator.keras")
    assert remove_partials(tmp_path) == [tmp_path / leftover]
    assert leftovers(tmp_path) == []
    assert path.read_text() == "good model"


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_remove_partials_keeps_writes_in_progress_and_old_export_leftovers_go(tmp_path):
    live = tmp_path / f".partial-{os.getpid()}-0123abcd-model.keras"
    live.write_text("being written")
    dead = tmp_path / f".partial-{dead_pid()}-0123abcd-model.keras"
    dead.write_text("killed")
    legacy = tmp_path / ".serving.partial-k2x_9abc"  # tempfile.mkdtemp's name, earlier exports
    (legacy / "variables").mkdir(parents=True)
    unrelated = tmp_path / ".hidden-config"
    unrelated.write_text("keep")
    assert remove_partials(tmp_path) == sorted([dead, legacy])
    assert live.exists() and unrelated.exists()
    assert remove_partials(tmp_path / "missing") == []


def test_remove_partials_puts_back_a_previous_version_whose_destination_is_gone(tmp_path):
    pid = dead_pid()
    previous = tmp_path / f".previous-{pid}-0123abcd-serving"
    previous.mkdir()
    (previous / "saved_model.pb").write_text("old export")
    stale = tmp_path / f".previous-{pid}-89abcdef-vocabulary.txt"
    stale.write_text("old")
    (tmp_path / "vocabulary.txt").write_text("new")
    assert remove_partials(tmp_path) == [stale]
    assert (tmp_path / "serving" / "saved_model.pb").read_text() == "old export"
    assert (tmp_path / "vocabulary.txt").read_text() == "new"
    assert leftovers(tmp_path) == []
