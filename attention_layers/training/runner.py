"""The training runner: how both commands train, evaluate, save and export.

A command names a `Task`, which says *what* is trained (its flags and presets, corpus,
tokenizers, model and optimizer, evaluation and export); `run_command(task, argv)` says
*how*, the same for every task, in this order, each step in its own module:

1. flags (`command_line`): the task's data and model flags (`Task.flags.add`) plus the
   shared training and output flags; the distribution plan (`distribution`); with `--resume` the saved
   run's flags restored and checked (`resume`); then, in one call, the task's preset
   filled in and its typed config made and checked (`Task.flags.resolve`), and the
   runner's `RunSettings`: all that the later steps see. The run's folder is locked
   (`run_folder`: one run writes in a folder at a time), and a fresh run refuses a folder
   that holds a run unless `--overwrite` (which removes its files);
2. data (`prepare_data`, here: `Task.prepare_data`): the corpus, then the tokenizers
   (learned, or read back when resuming); a fresh run then saves them and `config.json`;
3. each model (`fitting`: one, or the members of `--ensemble M`): what it trains with
   (`Task.member`: datasets, model, compile arguments, attention callback) made inside
   the distribution scope and compiled, its last checkpoint restored, then `fit` with
   per-epoch checkpoints, early stopping and the best epoch's weights;
4. the ending (`Task.conclude`: the final model and its evaluation), then (`saving`) the
   `.keras` model, `results.json` and the serving export, each written whole or not at
   all, and a closing summary.

Every file that a later step or a user loads is written under a temporary name and
renamed (`write_atomically`), so `kill -9` at any moment leaves the old file or the new
one; `--overwrite` removes `config.json` before anything else, so a folder with a
`config.json` always holds that run's vocabularies and checkpoints. A diverged epoch (a
loss or weights that are not finite, a validation loss that blew up) is never saved
(`EpochCheckpoint`), and a run that cannot finish (diverged, a file that cannot be
written, Ctrl-C) ends with one line saying what was kept and how `--resume` goes on.

    python -m attention_layers.training.runner export runs/translator-builtin

writes the serving export of a finished run (TensorFlow backend; the commands call it in a
subprocess when they train on another backend).
"""

import dataclasses
import json
import sys
import time

import keras

from attention_layers.training.checkpoints import TrainingDiverged
from attention_layers.training.command_line import build_parser, parse_flags, resolve_flags
from attention_layers.training.configs import RunSettings
from attention_layers.training.devices import describe_device
from attention_layers.training.distribution import scale_plan
from attention_layers.training.fitting import train
from attention_layers.training.flags import command_line_errors
from attention_layers.training.run_folder import (
    check_fresh_folder,
    run_folder_lock,
    start_fresh,
    what_was_kept,
)
from attention_layers.training.saving import export_run, print_summary, save_run
from attention_layers.training.tasks.base import load_task, task_path
from attention_layers.utils.files import SaveError, atomic_write_text, remove_partials


def entry_points(task):
    """A command script's `build_parser()` and `main(argv=None)`, for `task`."""

    def build_task_parser():
        return build_parser(task)

    def main(argv=None):
        """Trains, evaluates, saves and exports; returns the results (`results.json`)."""
        return run_command(task, argv)

    return build_task_parser, main


def run_command(task, argv=None):
    """Runs a training command for `task` with the command-line `argv`.

    One line and an exit code end a run that cannot finish: 2 for what the user fixes
    (flags, data, a folder in use or holding another run, a file that could not be written:
    disk full, permissions), 1 when training diverged, 130 on Ctrl-C; each says what was
    kept and how `--resume` goes on.

    Returns:
        The run's results (the dict written to `results.json`).
    """
    parser = build_parser(task)
    args = parse_flags(task, parser, argv)
    # One block for the whole run: a bad flag, a folder in use, bad data -> one line, 2.
    with command_line_errors(parser, OSError, *task.data_errors):
        plan = scale_plan(parser, args)
        # A worker other than the chief keeps all its files in its own folder.
        output = plan.worker_dir(args.output)
        config = resolve_flags(task, parser, args, output)
        settings = RunSettings.from_flags(args)
        with run_folder_lock(output):
            if not settings.resume:
                check_fresh_folder(task, settings, output)
            try:
                return train_and_save(task, parser, args, config, settings, plan, output)
            except TrainingDiverged as error:
                parser.exit(1, f"{parser.prog}: error: {error}\n")
            except SaveError as error:
                parser.exit(2, f"{parser.prog}: error: {error}; "
                               f"{what_was_kept(settings, output)} "
                               "(after making room or fixing the folder's permissions).\n")
            except KeyboardInterrupt:
                parser.exit(130, f"{parser.prog}: interrupted (Ctrl-C): "
                                 f"{what_was_kept(settings, output)}.\n")


def train_and_save(task, parser, args, config, settings, plan, output):
    """`run_command` in the run's locked folder: data, training, evaluation, saving.

    `args`: the complete flags, which `config.json` records; the rest of the run sees them
    as the task's `config` and the runner's `settings` (`RunSettings`).
    """
    if settings.precision != plan.precision:  # a resumed run keeps its own
        plan = dataclasses.replace(plan, precision=settings.precision)
        keras.config.set_dtype_policy(settings.precision)
    keras.utils.set_random_seed(settings.seed)
    data = prepare_data(task, config, settings, output, vars(args))
    config = dataclasses.replace(config, **data.chosen)  # with the flags chosen from the data
    print(f"{describe_device()}\n{plan.describe()}")
    members, seconds, datasets = train(task, config, settings, data, output, plan)
    model, evaluation = task.conclude(config, members, data, datasets)
    results = {**evaluation.results, "training_seconds": seconds, **data.report.record}
    if not plan.is_chief:
        return results
    paths = save_run(task, config, settings, model, data.tokenizers, results, output,
                     evaluation.files)
    print_summary(task, evaluation.headline, paths, output, data.report.note,
                  evaluation.example)
    return results


def prepare_data(task, config, settings, output, flags=None):
    """The task's `TaskData` (`Task.prepare_data`; its `ready_folder` removes the partial
    files of a resumed run, or makes a fresh run's folder ready, `start_fresh`). A fresh
    run then sets, in `flags` (a dict: the complete flags), those that the task's preset
    took from the corpus (`TaskData.chosen`), and writes the tokenizers and `config.json`,
    which records `flags`."""
    start = time.perf_counter()

    def ready_folder():  # the corpus is read: the folder is made ready for what follows
        if settings.resume:
            remove_partials(output)
        else:
            start_fresh(task, output, settings.overwrite)

    data = task.prepare_data(config, settings, output, ready_folder)
    if not settings.resume:
        flags.update(data.chosen)
        for tokenizer, name in zip(data.tokenizers, task.vocabulary_files, strict=True):
            tokenizer.save(output / name)  # all or nothing, as every file below
        record = {**flags, "command": task.name, "task": task_path(task)}
        atomic_write_text(output / "config.json", json.dumps(record, indent=2))
    report = data.report
    print(f"{report.line}{'; ' + report.note if report.note else ''}"
          f" ({time.perf_counter() - start:.0f} s)")
    return data


if __name__ == "__main__":
    # Started by `saving.export_in_tensorflow` with the task's import path that the parent
    # process ran (not one read from the folder), so it may import the task's module.
    if len(sys.argv) != 4 or sys.argv[1] != "export":
        sys.exit("usage: python -m attention_layers.training.runner export RUN_FOLDER TASK")
    export_run(sys.argv[2], load_task(sys.argv[3], allow_import=True))
