"""The training runner: how both commands train, evaluate, save and export.

A command names a `Task`, which says *what* is trained (its flags and presets, corpus,
tokenizers, model, evaluation and export); `run_command(task, argv)` says *how*, the same
for every task, in this order:

1. flags: the task's data and model flags plus the shared training and output flags;
   presets filled in, or with `--resume` the saved run's flags restored and checked;
   then the run's folder locked (one run writes in a folder at a time), and a fresh run
   refuses a folder that holds a run unless `--overwrite` (which removes its files);
2. data: the corpus, then the tokenizers (learned and saved, or read back when resuming);
3. each model (one, or the members of `--ensemble M`): built inside the distribution
   scope and compiled, its last checkpoint restored, then `fit` with per-epoch
   checkpoints, early stopping and the best epoch's weights;
4. evaluation, then the `.keras` model, `results.json` and the serving export, each
   written whole or not at all, and a closing summary.

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
import contextlib
import dataclasses
import fcntl
import importlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import uuid

import keras
import numpy as np

from attention_layers.training.command_line import (
    add_output_flags,
    add_training_flags,
    restore_resumed_flags,
)
from attention_layers.training.console import known_steps, progress_verbosity
from attention_layers.training.fit import (
    EpochCheckpoint,
    SaveError,
    TrainingDiverged,
    TrainingTimeLimit,
    TransformerSchedule,
    UsageError,
    command_line_errors,
    describe_device,
    make_callbacks,
    saving,
    write_atomically,
)
from attention_layers.training.scale import add_scale_flags, configure_scale
from attention_layers.utils.files import atomic_write_text, remove_partials

# The task classes, by the name a run's config.json records ("command").
TASKS = {
    "translator": "attention_layers.training.translation_task:TranslationTask",
    "classifier": "attention_layers.training.classification_task:ClassificationTask",
}
RESERVED_TOKENS = 4  # [PAD], [UNK], [START], [END]
# What a run of either command writes in its folder, besides its `{name}.keras` model and
# vocabularies: a fresh run refuses a folder that holds any of them (or a `member_*`
# folder), and `--overwrite` removes them, and nothing else.
RUN_FILES = ("config.json", "results.json", "training_log.csv")
RUN_FOLDERS = ("checkpoints", "logs", "attention", "serving")
LOCK_FILE = ".lock"  # held (flock) by the run writing in the folder; see `run_folder_lock`


class Task:
    """What a command trains. A subclass sets the attributes and implements the hooks.

    Attributes:
        name: `"translator"` or `"classifier"`: the model file is `OUTPUT/{name}.keras`
            and `config.json` records it, so `--resume` refuses another command's folder.
        description: the command's `--help` description.
        default_output: the default `--output`, a pattern with `{dataset}` (each
            `--dataset` has its own folder, so that runs do not mix).
        presets: `{dataset: {flag: value}}`, the defaults of each `--dataset`.
        run_defining: the flags that define the model and its data (`--resume` keeps them).
        recurrent_model: the `--model` name of the recurrent model (constant learning rate).
        example: what one batch holds, e.g. `"sentence pairs"`.
        data_errors: exception classes of bad data files (reported as usage errors).
        vocabulary_files: the file names of the tokenizers' vocabularies in `OUTPUT`.
    """

    name = None
    description = ""
    default_output = None
    presets = {}
    run_defining = ()
    recurrent_model = None
    example = "examples"
    data_errors = ()
    vocabulary_files = ()

    def add_flags(self, parser):
        """Adds the `data` and `model` flag groups."""
        raise NotImplementedError

    def fill_flags(self, parser, args, given):
        """A fresh run: checks the flags given (`given`: their names), fills the preset."""
        raise NotImplementedError

    def check_flags(self, parser, args):
        """Checks the complete flags (fresh or restored); `parser.error` on a bad set."""

    def load_corpus(self, args):
        raise NotImplementedError

    def tokenizer_class(self, args):
        raise NotImplementedError

    def build_tokenizers(self, args, corpus):
        """The tokenizers learned from the training split, in `vocabulary_files` order."""
        raise NotImplementedError

    def describe_data(self, args, corpus, tokenizers):
        raise NotImplementedError

    def make_datasets(self, args, corpus, tokenizers, seed, batch_multiple):
        """A `DatasetSplits` of batched `tf.data` datasets, train shuffled with `seed`,
        every batch's size a multiple of `batch_multiple` (`ScalePlan.batch_multiple`)."""
        raise NotImplementedError

    def build_model(self, args, tokenizers):
        """The model, not compiled; the runner compiles it in the distribution scope."""
        raise NotImplementedError

    def loss_and_metrics(self, args):
        """`{"loss": ..., "metrics": [...]}` for `compile` (with `--label-smoothing`)."""
        raise NotImplementedError

    def dummy_inputs(self):
        """A tiny batch whose call builds every weight (so a checkpoint can be loaded)."""
        raise NotImplementedError

    def describe_model(self, args):
        return args.model

    def attention_callback(self, args, corpus, datasets, tokenizers, run):
        """The `AttentionPlotCallback` of the run in folder `run`."""
        raise NotImplementedError

    def combine(self, models):
        """The one model that stands for several trained members (`--ensemble`)."""
        raise NotImplementedError(f"{self.name} has no ensembles")

    def final_model(self, args, models):
        """The model that is evaluated, saved and exported: the one trained, or the
        `combine`d members."""
        return models[0] if len(models) == 1 else self.combine(models)

    def evaluate(self, args, model, members, corpus, tokenizers, datasets):
        """Prints and returns the figures (a JSON-able dict) of the trained `model`."""
        raise NotImplementedError

    def headline(self, results):
        """The run's main figure, in a few words."""
        raise NotImplementedError

    def export(self, args, model, tokenizers, path):
        """Writes the serving SavedModel (TensorFlow backend); returns its path."""
        raise NotImplementedError

    def serving_example(self, path):
        """A shell command that loads the export in `path` and serves one input."""
        raise NotImplementedError


def task_named(name):
    """The `Task` whose `name` a run's `config.json` records."""
    module, _, cls = TASKS[name].partition(":")
    return getattr(importlib.import_module(module), cls)()


# --- flags --------------------------------------------------------------------------------


def build_parser(task):
    """The command's parser: the task's data and model flags, then the shared ones."""
    parser = argparse.ArgumentParser(
        description=task.description,
        epilog=f"Flags shown with 'preset' default to the dataset's preset (see "
        f"{task.__module__}). Bad flags or data end with a message and exit code 2.",
    )
    task.add_flags(parser)
    add_training_flags(parser, recurrent_model=task.recurrent_model, example=task.example)
    add_scale_flags(parser)
    add_output_flags(parser, task.default_output)
    return parser


def resolve_flags(task, parser, args, folder):
    """Fills the preset (or, with `--resume`, the flags of the run in `folder`) and checks
    the set."""
    given = {name for name, value in vars(args).items() if value is not None}
    if args.patience is not None and args.patience < 0:
        parser.error(f"--patience must be 0 or more; received {args.patience}.")
    if args.resume:
        args = restore_resumed_flags(
            parser, args, task.run_defining, command=task.name, folder=folder
        )
    else:
        task.fill_flags(parser, args, given)
        args.run_id = uuid.uuid4().hex
    if args.vocabulary_size < RESERVED_TOKENS + 1:
        parser.error(
            f"--vocabulary-size must be at least {RESERVED_TOKENS + 1} ({RESERVED_TOKENS} "
            f"reserved tokens and a word); received {args.vocabulary_size}."
        )
    if args.model == "transformer" and args.model_dim % args.heads:
        parser.error(f"--model-dim ({args.model_dim}) must be divisible by --heads ({args.heads}).")
    task.check_flags(parser, args)
    return args


# --- the run's folder ---------------------------------------------------------------------


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


def run_entries(folder):
    """The files and folders of a run (of either command) in `folder`, sorted."""
    names = {*RUN_FILES, *RUN_FOLDERS}
    for name in TASKS:
        task = task_named(name)
        names |= {f"{task.name}.keras", *task.vocabulary_files}
    entries = [folder / name for name in names if os.path.lexists(folder / name)]
    return sorted([*entries, *(path for path in folder.glob("member_*") if path.is_dir())])


def check_fresh_folder(args, folder):
    """A fresh run: refuses (`UsageError`) a folder that holds a run, unless `--overwrite`."""
    entries = run_entries(folder) if folder.is_dir() else []
    if entries and not args.overwrite:
        names = ", ".join(path.name + ("/" if path.is_dir() else "") for path in entries[:4])
        more = f" and {len(entries) - 4} more" if len(entries) > 4 else ""
        raise UsageError(
            f"--output {folder} already holds a run ({names}{more}); continue it with "
            "--resume, replace it with --overwrite (removes that run's files, no others), "
            "or give another --output."
        )


def start_fresh(output, overwrite=False):
    """Makes `output` ready for a new run: with `overwrite`, the previous run's files
    (`run_entries`) removed; no partial files.

    `config.json` goes first: until the new one is written at the end of `prepare_data`,
    the folder holds no run that `--resume` could mistake for this one.
    """
    output.mkdir(parents=True, exist_ok=True)
    if overwrite:
        (output / "config.json").unlink(missing_ok=True)
        for path in run_entries(output):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    remove_partials(output)


# --- data ---------------------------------------------------------------------------------


def prepare_data(task, args, output):
    """The corpus and the tokenizers; a fresh run also writes them and `config.json`."""
    start = time.perf_counter()
    corpus = task.load_corpus(args)
    if args.resume:
        remove_partials(output)
        kind = task.tokenizer_class(args)
        tokenizers = tuple(kind.load(output / name) for name in task.vocabulary_files)
    else:
        start_fresh(output, args.overwrite)
        tokenizers = task.build_tokenizers(args, corpus)
        for tokenizer, name in zip(tokenizers, task.vocabulary_files, strict=True):
            tokenizer.save(output / name)  # all or nothing, as every file below
        config = {**vars(args), "command": task.name}
        atomic_write_text(output / "config.json", json.dumps(config, indent=2))
    skipped = corpus.skipped_summary()
    print(f"{task.describe_data(args, corpus, tokenizers)}{'; ' + skipped if skipped else ''}"
          f" ({time.perf_counter() - start:.0f} s)")
    return corpus, tokenizers


# --- training -----------------------------------------------------------------------------


def make_plan(parser, args):
    """The run's `ScalePlan` (`configure_scale`), set up before any tensor exists."""
    with command_line_errors(parser, ValueError):
        plan = configure_scale(args)
    if getattr(args, "max_minutes", None) and plan.num_workers > 1:
        # Each worker's clock would stop it at its own step, and the others would wait
        # for it in the next all-reduce.
        parser.error("--max-minutes does not work with several workers (their clocks "
                     "could stop them at different steps); limit the run with --epochs.")
    return plan


def make_optimizer(args):
    """Adam: with Vaswani's warm-up schedule for a Transformer, clipped for an RNN; with a
    moving average of the weights when `--weight-averaging STEPS` is above 0."""
    steps = getattr(args, "weight_averaging", None) or 0
    averaging = {"use_ema": True, "ema_momentum": 1 - 1 / steps} if steps else {}
    if args.model == "transformer":
        # The schedule scaled so that its peak is --learning-rate.
        scale = args.learning_rate * (args.model_dim * args.warmup_steps) ** 0.5
        schedule = TransformerSchedule(args.model_dim, args.warmup_steps, scale)
        return keras.optimizers.Adam(
            schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9, **averaging
        )
    # Clipping keeps the recurrent gradients from exploding on long sentences.
    return keras.optimizers.Adam(args.learning_rate, clipnorm=1.0, **averaging)


def build_model(task, args, tokenizers, plan):
    """The task's model, compiled and built inside the plan's distribution scope."""
    with plan.scope():
        model = task.build_model(args, tokenizers)
        model.compile(optimizer=make_optimizer(args), **task.loss_and_metrics(args),
                      **plan.compile_kwargs())
        model(task.dummy_inputs())
    return model


def restore_or_clear(checkpoint, model, resume):
    """`(initial_epoch, state)`: the last checkpoint when resuming, else a clean start."""
    if not resume:
        return checkpoint.clear(), {}
    initial_epoch = checkpoint.restore(model)
    print(
        f"Resuming after epoch {initial_epoch} (optimizer step "
        f"{int(keras.ops.convert_to_numpy(model.optimizer.iterations))})"
    )
    return initial_epoch, checkpoint.state or {}


def train_member(task, args, corpus, tokenizers, run, seed, plan, max_seconds=None):
    """Trains (or resumes, or reloads when finished) one model in folder `run`, for at
    most `max_seconds` of training when given (`--max-minutes`).

    Returns:
        `(model, training_seconds, datasets)`: the model with its best epoch's weights,
        the seconds of training (a resumed run's include those before `--resume`) and
        the `DatasetSplits` it trained on.
    """
    keras.utils.set_random_seed(seed)
    datasets = known_steps(
        task.make_datasets(args, corpus, tokenizers, seed, plan.batch_multiple)
    )
    model = build_model(task, args, tokenizers, plan)
    print(
        f"Model: {task.describe_model(args)}, {model.count_params():,} parameters, dtype "
        f"policy {plan.precision}" + (", XLA" if plan.jit_compile else "")
    )
    checkpoint = EpochCheckpoint(run / "checkpoints", run_id=args.run_id)
    with plan.scope():  # restoring builds the optimizer's variables: mirrored ones
        initial_epoch, state = restore_or_clear(checkpoint, model, args.resume)
    callbacks = make_callbacks(
        run, checkpoint, patience=args.patience or None, resume=args.resume,
        tensorboard=plan.is_chief, max_seconds=max_seconds,
        averaged_weights=bool(getattr(args, "weight_averaging", None)),
    )
    if plan.is_chief and not args.no_attention_plots:
        callbacks.append(task.attention_callback(args, corpus, datasets, tokenizers, run))
    if state.get("finished") or initial_epoch >= args.epochs:
        print(f"Training already finished after epoch {initial_epoch}; evaluating.")
        best = checkpoint.best_weights(model)
        if best is not None:
            model.set_weights(best)
        return model, 0.0, datasets
    start = time.perf_counter()
    try:
        model.fit(
            datasets.train, validation_data=datasets.validation, epochs=args.epochs,
            initial_epoch=initial_epoch, callbacks=callbacks, shuffle=False,
            verbose=progress_verbosity(),
        )
    except TrainingDiverged:
        raise TrainingDiverged(diverged_message(args, checkpoint)) from None
    seconds = time.perf_counter() - start
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
        return model, total, datasets
    print(f"Training took {seconds:.0f} s")
    return model, seconds, datasets


def diverged_message(args, checkpoint):
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
            f"{args.learning_rate:g}).")


def all_finite(model):
    """Whether every weight of `model` is finite (no NaN, no inf)."""
    return all(np.isfinite(weights).all() for weights in model.get_weights())


def train(task, args, corpus, tokenizers, output, plan):
    """Trains the run's model, or each member of `--ensemble M` in `OUTPUT/member_I`.

    Returns:
        `(model, members, training_seconds, datasets)`.
    """
    count = getattr(args, "ensemble", None) or 1
    max_seconds = None
    if getattr(args, "max_minutes", None):
        max_seconds = 60 * args.max_minutes / count  # each member an equal share
    members, seconds = [], 0.0
    for index in range(count):
        # One member: the run's own folder; several: one folder each.
        run = output if count == 1 else output / f"member_{index}"
        if count > 1:
            print(f"\n--- Member {index + 1} of {count} (seed {args.seed + index}) ---")
        model, member_seconds, datasets = train_member(
            task, args, corpus, tokenizers, run, args.seed + index, plan, max_seconds
        )
        members.append(model)
        seconds += member_seconds
    model = task.final_model(args, members)
    return model, members, seconds, datasets


# --- saving -------------------------------------------------------------------------------


def export_in_tensorflow(output):
    """Writes a new version `OUTPUT/serving/<N>` from the saved run in a TensorFlow-backend
    subprocess (`export_run`); returns its path.

    The export is a TensorFlow SavedModel; a model trained on another backend is loaded
    from its `.keras` file into TensorFlow, which reads the same weights.
    """
    package_root = pathlib.Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(package_root), os.environ.get("PYTHONPATH")])
        ),
    }
    subprocess.run(
        [sys.executable, "-m", "attention_layers.training.runner", "export", str(output)],
        env=environment, check=True,
    )
    from attention_layers.export.saving import latest_version

    return latest_version(output / "serving")[1]


def export_run(output):
    """Writes the finished run's serving export as a new version in `OUTPUT/serving/`
    (TensorFlow Serving's layout, see `attention_layers.export.export_new_version`);
    returns its path, e.g. `OUTPUT/serving/2`."""
    output = pathlib.Path(output)
    args = argparse.Namespace(**json.loads((output / "config.json").read_text()))
    task = task_named(args.command)
    kind = task.tokenizer_class(args)
    tokenizers = tuple(kind.load(output / name) for name in task.vocabulary_files)
    model = keras.saving.load_model(output / f"{task.name}.keras")
    return export_version(task, args, model, tokenizers, output)


def export_version(task, args, model, tokenizers, output):
    """Writes `model`'s export as the next version in `OUTPUT/serving/`; returns its path.

    The previous version stays until the new one is whole; then all but the newest
    `KEEP_VERSIONS` (2) are removed.
    """
    from attention_layers.export.saving import export_new_version

    return export_new_version(
        output / "serving", lambda path: task.export(args, model, tokenizers, path)
    )


def save_run(task, args, model, tokenizers, results, output):
    """Writes the model, the export and `results.json`; returns `{what: path}`.

    Each file is written whole or not at all, so a failure keeps the previous one.

    Raises:
        TrainingDiverged: the model's weights are not finite (nothing is written).
        SaveError: a file could not be written (disk full, permissions); it names the file.
    """
    if not all_finite(model):
        raise TrainingDiverged("the trained model's weights are not finite; nothing was saved")
    paths = {"model": output / f"{task.name}.keras"}
    with saving(paths["model"]):
        write_atomically(paths["model"], model.save)
    print(f"Saved {paths['model']}")
    if not args.no_export:
        with saving(output / "serving"):
            if keras.backend.backend() == "tensorflow":
                paths["export"] = export_version(task, args, model, tokenizers, output)
            else:
                print("Exporting with the TensorFlow backend (a SavedModel is TensorFlow's) ...")
                paths["export"] = export_in_tensorflow(output)
        print(f"Saved the serving export in {paths['export']}")
    paths["results"] = output / "results.json"
    with saving(paths["results"]):
        atomic_write_text(paths["results"], json.dumps(results, indent=2))
    return paths


def print_summary(task, args, results, paths, output):
    """The closing lines: the figure, where everything is, what to run next."""
    lines = [f"\nDone: {task.headline(results)} (details in {paths['results']})",
             f"  model:       {paths['model']}"]
    if results["skipped_overlong"]["summary"]:
        lines.append(f"  data:        {results['skipped_overlong']['summary']}")
    if "export" in paths:
        lines.append(f"  export:      {paths['export']}")
    plots = sorted(output.rglob("attention/epoch_*"))
    if plots:
        views = sorted(output.rglob("attention/*.html"))
        lines.append(f"  attention:   {plots[-1].parent} (PNG per epoch, GIF"
                     + (f", HTML view {views[0]}" if views else "") + ")")
    lines.append(f"  TensorBoard: tensorboard --logdir {output / 'logs'}")
    if "export" in paths:
        lines.append(f"  serve:       {task.serving_example(paths['export'])}")
    print("\n".join(lines))


def entry_points(task):
    """A command script's `build_parser()` and `main(argv=None)`, for `task`."""

    def build_task_parser():
        return build_parser(task)

    def main(argv=None):
        """Trains, evaluates, saves and exports; returns the results (`results.json`)."""
        return run_command(task, argv)

    return build_task_parser, main


def what_was_kept(args, output):
    """What a run stopped in `output` keeps, and what `--resume` does with it (words)."""
    resume = f"--resume --output {args.output}"
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
    if state["finished"] or state["epoch"] >= args.epochs:
        return (f"kept the checkpoints of the finished training (epoch {state['epoch']}) in "
                f"{folder}; {resume} evaluates and saves without training again")
    return (f"kept the checkpoint of the last finished epoch ({state['epoch']}) in {folder}; "
            f"{resume} continues with epoch {state['epoch'] + 1}")


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
        args.output = task.default_output.format(dataset=args.dataset)
    if args.resume and args.overwrite:
        parser.error("--overwrite starts a new run in --output; it does not go with --resume.")
    plan = make_plan(parser, args)
    # A worker other than the chief keeps all its files in its own folder.
    output = plan.worker_dir(args.output)
    args = resolve_flags(task, parser, args, output)
    with contextlib.ExitStack() as stack:
        with command_line_errors(parser, OSError):
            stack.enter_context(run_folder_lock(output))
            if not args.resume:
                check_fresh_folder(args, output)
        try:
            return train_and_save(task, parser, args, plan, output)
        except TrainingDiverged as error:
            parser.exit(1, f"{parser.prog}: error: {error}\n")
        except SaveError as error:
            parser.exit(2, f"{parser.prog}: error: {error}; {what_was_kept(args, output)} "
                           "(after making room or fixing the folder's permissions).\n")
        except KeyboardInterrupt:
            parser.exit(130, f"{parser.prog}: interrupted (Ctrl-C): "
                             f"{what_was_kept(args, output)}.\n")


def train_and_save(task, parser, args, plan, output):
    """`run_command` in the run's locked folder: data, training, evaluation, saving."""
    if args.precision != plan.precision:  # a resumed run keeps its own
        plan = dataclasses.replace(plan, precision=args.precision)
        keras.config.set_dtype_policy(args.precision)
    keras.utils.set_random_seed(args.seed)
    with command_line_errors(parser, *task.data_errors, OSError):
        corpus, tokenizers = prepare_data(task, args, output)
    print(f"{describe_device()}\n{plan.describe()}")
    with command_line_errors(parser):
        model, members, seconds, datasets = train(task, args, corpus, tokenizers, output, plan)
    results = task.evaluate(args, model, members, corpus, tokenizers, datasets)
    results["training_seconds"] = seconds
    results["skipped_overlong"] = {**corpus.skipped_overlong, "summary": corpus.skipped_summary()}
    if not plan.is_chief:
        return results
    paths = save_run(task, args, model, tokenizers, results, output)
    print_summary(task, args, results, paths, output)
    return results


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "export":
        sys.exit("usage: python -m attention_layers.training.runner export RUN_FOLDER")
    export_run(sys.argv[2])
