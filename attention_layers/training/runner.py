"""The training runner: how both commands train, evaluate, save and export.

A command names a `Task`, which says *what* is trained (its flags and presets, corpus,
tokenizers, model and optimizer, evaluation and export); `run_command(task, argv)` says
*how*, the same for every task, in this order:

1. flags: the task's data and model flags (`Task.flags.add`) plus the shared training
   and output flags; with `--resume` the saved run's flags restored and checked; then, in
   one call, the task's preset filled in and its typed config made and checked
   (`Task.flags.resolve`), and the runner's `RunSettings`: all that the later steps see;
   the run's folder locked (one run writes in a folder at a time), and a fresh run
   refuses a folder that holds a run unless `--overwrite` (which removes its files);
2. data (`Task.prepare_data`): the corpus, then the tokenizers (learned, or read back
   when resuming); a fresh run then saves them and `config.json`;
3. each model (one, or the members of `--ensemble M`): what it trains with
   (`Task.member`: datasets, model, compile arguments, attention callback) made inside
   the distribution scope and compiled, its last checkpoint restored, then `fit` with
   per-epoch checkpoints, early stopping and the best epoch's weights;
4. the ending (`Task.conclude`: the final model and its evaluation), then the `.keras`
   model, `results.json` and the serving export, each written whole or not at all, and a
   closing summary.

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

import argparse
import dataclasses
import json
import sys
import time
import uuid

import keras

from attention_layers.data.pipelines import known_steps
from attention_layers.training.callbacks import (
    TrainingTimeLimit,
    make_callbacks,
    progress_verbosity,
)
from attention_layers.training.checkpoints import EpochCheckpoint, TrainingDiverged
from attention_layers.training.command_line import (
    add_output_flags,
    add_training_flags,
    restore_resumed_flags,
)
from attention_layers.training.configs import RunSettings
from attention_layers.training.devices import describe_device
from attention_layers.training.distribution import add_scale_flags, configure_scale
from attention_layers.training.flags import command_line_errors
from attention_layers.training.run_folder import (
    check_fresh_folder,
    run_folder_lock,
    start_fresh,
    what_was_kept,
)
from attention_layers.training.saving import export_run, print_summary, save_run
from attention_layers.training.state import build_training_state
from attention_layers.training.tasks.base import MemberRun, load_task, task_path
from attention_layers.utils.files import SaveError, atomic_write_text, remove_partials

# --- flags --------------------------------------------------------------------------------


def build_parser(task):
    """The command's parser: the task's data and model flags, then the shared ones."""
    parser = argparse.ArgumentParser(
        description=task.description,
        epilog=f"Flags shown with 'preset' default to the dataset's preset (see "
        f"{task.__module__}). Bad flags or data end with a message and exit code 2.",
    )
    task.flags.add(parser)
    add_training_flags(parser, recurrent_model=task.recurrent_model, example=task.example,
                       ensembles=task.ensembles)
    add_scale_flags(parser)
    add_output_flags(parser, task.default_output)
    return parser


def default_output(task, args):
    """The `--output` of a run that names none: the task's `default_output` (for a run on
    the user's files, `--train`, its `files_output`) filled in with the flags `args`."""
    pattern = task.default_output
    if task.files_output and getattr(args, "train", None) is not None:
        pattern = task.files_output
    return pattern.format(**vars(args))


def resolve_flags(task, parser, args, folder):
    """The task's config, checked (`TaskFlags.resolve`: the preset filled in), from the
    parsed flags `args`, or with `--resume` from the flags of the run in `folder`.

    `args` ends complete, as `config.json` records it."""
    given = {name for name, value in vars(args).items() if value is not None}
    if args.patience is not None and args.patience < 0:
        parser.error(f"--patience must be 0 or more; received {args.patience}.")
    if args.resume:
        restore_resumed_flags(parser, args, task, folder=folder)
    else:
        args.run_id = uuid.uuid4().hex
    return task.flags.resolve(parser, args, given)


# --- data ---------------------------------------------------------------------------------


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


# --- training -----------------------------------------------------------------------------


def make_plan(parser, args):
    """The run's `ScalePlan` (`configure_scale`), set up before any tensor exists."""
    try:
        plan = configure_scale(args)
    except ValueError as error:  # a scale flag that does not fit the cluster or devices
        parser.error(str(error))
    if getattr(args, "max_minutes", None) and plan.num_workers > 1:
        # Each worker's clock would stop it at its own step, and the others would wait
        # for it in the next all-reduce.
        parser.error("--max-minutes does not work with several workers (their clocks "
                     "could stop them at different steps); limit the run with --epochs.")
    return plan


def averaging(weight_averaging=0):
    """The optimizer's options that keep a moving average of the weights when
    `weight_averaging` (`--weight-averaging STEPS`) is above 0 (momentum `1 - 1/STEPS`);
    `{}` without."""
    steps = weight_averaging or 0
    return {"use_ema": True, "ema_momentum": 1 - 1 / steps} if steps else {}


def compiled_member(task, config, settings, data, run, seed, plan):
    """The task's `Member` for the model trained in folder `run`, made inside the plan's
    distribution scope, its model compiled there."""
    plots = plan.is_chief and not settings.no_attention_plots
    with plan.scope():
        member = task.member(config, data, MemberRun(
            run, seed, plan.batch_multiple, averaging(settings.weight_averaging), plots))
        member.model.compile(**member.compile_args, **plan.compile_kwargs())
    return member


def train_member(task, config, settings, data, run, seed, plan, max_seconds=None):
    """Trains (or resumes, or reloads when finished) one model in folder `run`, for at
    most `max_seconds` of training when given (`--max-minutes`). `data`: the task's
    `TaskData`.

    Returns:
        `(model, training_seconds, datasets)`: the model with its best epoch's weights,
        the seconds of training (a resumed run's include those before `--resume`) and
        the `DatasetSplits` it trained on.
    """
    keras.utils.set_random_seed(seed)
    member = compiled_member(task, config, settings, data, run, seed, plan)
    model, datasets = member.model, known_steps(member.datasets)
    print(f"Model: {config.describe_model() or task.name}, {model.count_params():,} "
          f"parameters, dtype policy {plan.precision}" + (", XLA" if plan.jit_compile else ""))
    checkpoint = EpochCheckpoint(run / "checkpoints", run_id=settings.run_id)
    with plan.scope():  # restoring builds the optimizer's variables: mirrored ones
        initial_epoch, finished = checkpoint.start(model, settings.resume, settings.epochs)
    if settings.resume:
        step = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
        print(f"Resuming after epoch {initial_epoch} (optimizer step {step})")
    callbacks = make_callbacks(
        run, checkpoint, patience=settings.patience or None, resume=settings.resume,
        tensorboard=plan.is_chief, max_seconds=max_seconds,
        averaged_weights=bool(settings.weight_averaging),
    )
    if member.attention_callback is not None:
        callbacks.append(member.attention_callback)
    if finished:  # `model` holds the best epoch's weights
        print(f"Training already finished after epoch {initial_epoch}; evaluating.")
        return model, 0.0, datasets
    build_training_state(model, datasets.train)  # one trace of the training step, not two
    start = time.perf_counter()
    try:
        model.fit(
            datasets.train, validation_data=datasets.validation, epochs=settings.epochs,
            initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
            verbose=progress_verbosity(),
        )
    except TrainingDiverged:
        raise TrainingDiverged(diverged_message(settings, checkpoint)) from None
    seconds = training_time(time.perf_counter() - start, checkpoint, callbacks, initial_epoch)
    return model, seconds, datasets


def training_time(seconds, checkpoint, callbacks, initial_epoch):
    """Says how training ended and how long it took; returns the seconds of training (a
    resumed run's include those before `--resume`)."""
    limit = next((c for c in callbacks if isinstance(c, TrainingTimeLimit)), None)
    if limit is not None and limit.stopped:
        best = checkpoint.state["best_epoch"]
        print(f"Stopped by --max-minutes after {checkpoint.training_seconds / 60:.1f} min of "
              f"training, in epoch {checkpoint.state['epoch']}; keeping epoch {best}'s weights "
              "(lowest validation loss)")
    if initial_epoch:  # the epochs before --resume count too
        total = max(seconds, checkpoint.training_seconds)
        print(f"Training took {seconds:.0f} s ({total:.0f} s in all, with the "
              f"{initial_epoch} epoch(s) before --resume)")
        return total
    print(f"Training took {seconds:.0f} s")
    return seconds


def diverged_message(settings, checkpoint):
    """What went wrong in a diverged run, what it kept, and what to do."""
    state = checkpoint.state
    if state:
        kept = (f"the checkpoint of epoch {state['epoch']} in {checkpoint.directory} is kept "
                f"(best: epoch {state['best_epoch']}, validation loss {state['best']:.4g})")
    else:
        kept = "no epoch finished, so no checkpoint was written"
    return (f"training diverged: {checkpoint.diverged}. Nothing of it was saved: {kept}; "
            "the model, the export and results.json were not written (earlier ones are as "
            f"they were). Train again with a lower --learning-rate (this run's: "
            f"{settings.learning_rate:g}).")


def train(task, config, settings, data, output, plan):
    """Trains the run's model, or each member of `--ensemble M` in `OUTPUT/member_I`;
    `data`: the task's `TaskData`.

    Returns:
        `(members, training_seconds, datasets)`: the trained models, the seconds of
        training and the last member's `DatasetSplits`.
    """
    count = (settings.ensemble or 1) if task.ensembles else 1
    max_seconds = None
    if settings.max_minutes:
        max_seconds = 60 * settings.max_minutes / count  # each member an equal share
    members, seconds = [], 0.0
    for index in range(count):
        # One member: the run's own folder; several: one folder each.
        run = output if count == 1 else output / f"member_{index}"
        if count > 1:
            print(f"\n--- Member {index + 1} of {count} (seed {settings.seed + index}) ---")
        model, member_seconds, datasets = train_member(
            task, config, settings, data, run, settings.seed + index, plan, max_seconds
        )
        members.append(model)
        seconds += member_seconds
    return members, seconds, datasets


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
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = default_output(task, args)
    if args.resume and args.overwrite:
        parser.error("--overwrite starts a new run in --output; it does not go with --resume.")
    # One block for the whole run: a bad flag, a folder in use, bad data -> one line, 2.
    with command_line_errors(parser, OSError, *task.data_errors):
        plan = make_plan(parser, args)
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


if __name__ == "__main__":
    # Started by `saving.export_in_tensorflow` with the task's import path that the parent
    # process ran (not one read from the folder), so it may import the task's module.
    if len(sys.argv) != 4 or sys.argv[1] != "export":
        sys.exit("usage: python -m attention_layers.training.runner export RUN_FOLDER TASK")
    export_run(sys.argv[2], load_task(sys.argv[3], allow_import=True))
