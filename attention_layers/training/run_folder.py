"""A run's folder: one writer at a time, what a run keeps there, and what a stopped one left.
"""

import contextlib
import fcntl
import json
import os
import shutil

from attention_layers.training.checkpoints import EpochCheckpoint
from attention_layers.training.flags import UsageError
from attention_layers.training.tasks.base import LEGACY_COMMANDS, load_task, task_of_config
from attention_layers.utils.files import remove_partials

# What a run writes in its folder, besides its `{name}.keras` model and vocabularies: a
# fresh run refuses a folder that holds any of them (or a `member_*` folder), and
# `--overwrite` removes them, and nothing else.
RUN_FILES = ("config.json", "results.json", "training_log.csv")
RUN_FOLDERS = ("checkpoints", "logs", "attention", "serving")
LOCK_FILE = ".lock"  # held (flock) by the run writing in the folder; see `run_folder_lock`



@contextlib.contextmanager
def run_folder_lock(folder):
    """Holds `folder/.lock` while a run writes in `folder`: one writer per folder.

    The lock is the operating system's (`flock`, exclusive), released when the process
    ends however it ends (`kill -9` included), so a crashed run never leaves its folder
    locked; the file stays, and only tells a second run the holder's process id.

    Raises:
        UsageError: another process holds the lock.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = (handle.read().split() or ["unknown"])[-1]  # the pid written last
            raise UsageError(
                f"--output {folder} is in use by another run (process {holder}); wait for "
                "it to end, or give another --output."
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def saved_task(folder):
    """The `Task` that wrote the run in `folder` (its `config.json`), or `None`."""
    if not (folder / "config.json").is_file():  # a FIFO would be waited on forever
        return None
    try:
        config = json.loads((folder / "config.json").read_text())
        return task_of_config(config) if isinstance(config, dict) else None
    except (OSError, ValueError):  # no run, or not one that names a task we can load
        return None


def run_entries(folder, task):
    """The files and folders of a run in `folder`, sorted: `task`'s, the saved run's (its
    `config.json` names its task) and those of the built-in commands' runs."""
    tasks = [task, saved_task(folder), *map(load_task, LEGACY_COMMANDS.values())]
    names = {*RUN_FILES, *RUN_FOLDERS}
    for each in filter(None, tasks):
        names |= {f"{each.name}.keras", *each.vocabulary_files}
    entries = [folder / name for name in names if os.path.lexists(folder / name)]
    return sorted([*entries, *(path for path in folder.glob("member_*") if path.is_dir())])


def check_fresh_folder(task, settings, folder):
    """A fresh run: refuses (`UsageError`) a folder that holds a run, unless `--overwrite`
    (`settings`: the run's `RunSettings`)."""
    entries = run_entries(folder, task) if folder.is_dir() else []
    if entries and not settings.overwrite:
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in entries[:4])
        more = f" and {len(entries) - 4} more" if len(entries) > 4 else ""
        raise UsageError(
            f"--output {folder} already holds a run ({names}{more}); continue it with "
            "--resume, replace it with --overwrite (removes that run's files, no others), "
            "or give another --output."
        )


def start_fresh(task, output, overwrite=False):
    """Makes `output` ready for a new run: with `overwrite`, the previous run's files
    (`run_entries`) removed; no partial files.

    `config.json` goes first: until the new one is written at the end of `prepare_data`,
    the folder holds no run that `--resume` could mistake for this one.
    """
    output.mkdir(parents=True, exist_ok=True)
    if overwrite:
        (output / "config.json").unlink(missing_ok=True)
        for path in run_entries(output, task):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    remove_partials(output)


def what_was_kept(settings, output):
    """What a run stopped in `output` keeps, and what `--resume` does with it (words);
    `settings`: the run's `RunSettings`."""
    resume = f"--resume --output {settings.output}"
    if not (output / "config.json").is_file():
        return "the run had not started training, nothing to keep; run the command again"
    members = sorted(output.glob("member_*/checkpoints"))
    if members:
        epochs = ", ".join(
            f"{folder.parent.name} epoch {(EpochCheckpoint(folder).state or {}).get('epoch', 0)}"
            for folder in members
        )
        return f"kept the checkpoints of the members ({epochs}); {resume} goes on from them"
    folder = output / "checkpoints"
    state = EpochCheckpoint(folder).state
    if not state:
        return f"no epoch had finished, no checkpoint to keep; {resume} trains from the start"
    if state["finished"] or state["epoch"] >= settings.epochs:
        return (f"kept the checkpoints of the finished training (epoch {state['epoch']}) in "
                f"{folder}; {resume} evaluates and saves without training again")
    return (f"kept the checkpoint of the last finished epoch ({state['epoch']}) in {folder}; "
            f"{resume} continues with epoch {state['epoch'] + 1}")

