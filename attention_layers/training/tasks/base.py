"""`Task`: what a training command trains, and how a run's `config.json` names its task.

The runner (`attention_layers.training.runner`) does the training the same way for every
task: flags, resume, distribution, ensembles, weight averaging, checkpoints, saving. A
subclass of `Task` gives the rest through a few coarse hooks that take its typed config (a
`TaskConfig` dataclass, built once from the flags): its flags (a `TaskFlags`: the flag
groups, presets, and the one step that turns the parsed flags into the config), then one
hook a stage of the run: the data (`prepare_data` -> `TaskData`), what each model trains on
(`member` -> `Member`), the ending (`conclude`: the final model and its `Evaluation`) and
the export. A run's `config.json` records the
task's import path (`"task": "attention_layers.training.tasks.translation:TranslationTask"`),
so a new task is one module and a short script; nothing central lists the tasks.
"""

import dataclasses
import importlib
import sys

from attention_layers.training.configs import TaskConfig


@dataclasses.dataclass(frozen=True)
class DataReport:
    """What a run says of its data (`TaskData.report`).

    Attributes:
        line: the log's line, e.g. `"Data: builtin, 800 / 100 / 100 train / validation /
            test pairs; ..."`.
        record: what `results.json` records of the data beyond the figures.
        note: what the run left out of the data, in a few words for the log and the
            summary; `""` when there is nothing to say.
    """

    line: str
    record: dict = dataclasses.field(default_factory=dict)
    note: str = ""


def overlong_report(line, corpus):
    """A `DataReport` with `line` that records the overlong examples that the loader of
    `corpus` skipped (a corpus container with `skipped_overlong`)."""
    note = corpus.skipped_summary()
    record = {"skipped_overlong": {**corpus.skipped_overlong, "summary": note}}
    return DataReport(line, record, note)


def preset_note(record, describe, *args):
    """`"; "` and what a run's preset from the data chose, `describe(record, *args)`
    (`record`: its `data_preset`), or `""` when it chose nothing (`None`)."""
    if record is None:
        return ""
    try:
        return f"; {describe(record, *args)}"
    except (AttributeError, KeyError, TypeError, ValueError):  # a hand-edited record
        return "; preset from the data: config.json's data_preset is not readable"


def load_tokenizers(kind, folder, names):
    """The tokenizers of class `kind` saved in `folder` under `names`, in that order."""
    return tuple(kind.load(folder / name) for name in names)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """What `Task.conclude` found: `results`, the figures (a JSON-able dict, the start of
    `results.json`), `headline`, the main figure in a few words, `files`, `{file name:
    bytes}` that the runner writes in the run's folder beside `results.json` (a plot), and
    `example`, one input of the run's own data (a test sentence) for the summary's serving
    request, or None for the task's `serving_request`."""

    results: dict
    headline: str
    files: dict = dataclasses.field(default_factory=dict)
    example: str | None = None


@dataclasses.dataclass(frozen=True)
class TaskData:
    """What `Task.prepare_data` gives the runner.

    Attributes:
        corpus: the corpus (train, validation and test splits).
        tokenizers: the tokenizers, in `Task.vocabulary_files` order (the runner saves
            them there on a fresh run).
        report: the `DataReport` of the data.
        chosen: a fresh run's `{flag: value}` that the preset took from the data (flags
            that `TaskFlags.resolve` left unset, `None`; fields of the task's config); the
            runner records them in `config.json`. Empty when resuming.
    """

    corpus: object
    tokenizers: tuple
    report: DataReport
    chosen: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MemberRun:
    """What the runner says of one model it trains (`Task.member`): its `folder` (the
    run's, or `member_I` of an ensemble) and `seed` (it shuffles the training split);
    `batch_multiple`, which every batch's size is a multiple of (`ScalePlan`); `averaging`,
    the moving-average options to pass on to the optimizer (`use_ema`, `ema_momentum`,
    from `--weight-averaging`; `{}` without); `attention_plots`, whether to give an
    attention callback."""

    folder: object
    seed: int = 0
    batch_multiple: int = 1
    averaging: dict = dataclasses.field(default_factory=dict)
    attention_plots: bool = True


@dataclasses.dataclass(frozen=True)
class Member:
    """What one model trains with (`Task.member`).

    Attributes:
        model: the model, built (called once on a tiny batch, so that a checkpoint can be
            loaded into it) but not compiled.
        datasets: a `DatasetSplits` of batched `tf.data` datasets, train shuffled with the
            member's seed.
        compile_args: `{"optimizer": ..., "loss": ..., "metrics": [...]}` for `compile`.
        attention_callback: the `AttentionPlotCallback` of the model, or `None`.
    """

    model: object
    datasets: object
    compile_args: dict
    attention_callback: object = None


class TaskFlags:
    """A task's flags, in one object (`Task.flags`) that the runner calls twice: `add` when
    it builds the command's parser, `resolve` once the flags are parsed. Its code may call
    `command_line`'s helpers; nothing calls back into it.

    Attributes:
        presets: `{dataset: {flag: value}}`, the defaults of each `--dataset`.
        run_defining: the flags that define the model and its data (`--resume` keeps them).
        resume_may_change: the task's flags that `--resume` may change (besides
            `--epochs`, `--patience` and `--max-minutes`).
        saved_defaults: `{flag: value}` of the task's flags that a `config.json` written
            before them lacks (`--resume` and an export read them so).
    """

    presets = {}
    run_defining = ()
    resume_may_change = ()
    saved_defaults = {}

    def add(self, parser):
        """Adds the `data` and `model` flag groups to `parser` (the runner adds the
        training, distribution and output flags)."""
        raise NotImplementedError

    def resolve(self, parser, args, given):
        """The task's config (its `TaskConfig`), checked, from the parsed flags `args`.

        A fresh run (`args.resume` false) checks the flags given (`given`: their names)
        against each other and fills the unset ones (`None`) in `args` from the preset;
        with `--resume`, `args` holds the saved run's flags already. Then it checks the
        complete set (`args.output` is the run's `--output`). `parser.error` on a bad set;
        `args`, completed, is what `config.json` records."""
        raise NotImplementedError


class Task:
    """What a command trains. A subclass sets the attributes and implements the hooks.

    The runner calls, in this order: the task's `flags` (`add`, then `resolve`, which
    gives the task's `config`, a `config_class`); `prepare_data`; `member` for each model;
    `conclude`; `export` (and `tokenizers`, when an export reads a finished run back).
    The hooks take the `config`, never the parsed flags. How a task does each stage (its
    corpus, preset from the data, tokenizers, model, optimizer, attention plots,
    evaluation) is its own business, in its own file.

    Attributes:
        name: e.g. `"translator"`: the model file is `OUTPUT/{name}.keras`. `config.json`
            records it and the task's import path, so `--resume` refuses another task's
            folder.
        config_class: the task's `TaskConfig` dataclass.
        flags: the task's `TaskFlags`.
        description: the command's `--help` description.
        default_output: the default `--output`, a pattern of the flags, e.g.
            `"runs/translator-{dataset}"` (each `--dataset` has its own folder, so that
            runs do not mix).
        files_output: the default `--output` of a run on the user's files (`--train`), a
            pattern of the flags, or `None` (`default_output`).
        ensembles: whether `conclude` combines several models: the runner then offers
            `--ensemble M` and trains M members.
        recurrent_model: the `--model` name of the recurrent model (constant learning rate).
        example: what one batch holds, e.g. `"sentence pairs"`.
        data_errors: exception classes of bad data files (reported as usage errors).
        vocabulary_files: the file names of the tokenizers' vocabularies in `OUTPUT`.
        serving_request: a JSON request for the export's `predict` (the summary's `curl`
            line), or `None`.
    """

    name = None
    config_class = TaskConfig
    flags = TaskFlags()
    description = ""
    default_output = None
    files_output = None
    ensembles = False
    recurrent_model = None
    example = "examples"
    data_errors = ()
    vocabulary_files = ()
    serving_request = None

    def prepare_data(self, config, settings, output, ready_folder):
        """The run's data, a `TaskData`: the corpus, then the tokenizers (read back from
        the vocabularies in the run's folder `output` when resuming, `settings.resume`;
        else learned, after the preset's flags that depend on the data are chosen), and
        the `DataReport` (`overlong_report` records what the corpus's loader skipped);
        `UsageError` (or one of `data_errors`) on bad data. `settings`: the runner's
        `RunSettings`. Call `ready_folder()` once the corpus is read and checked, before
        the tokenizers: with `--overwrite` it removes the old run (so bad data leaves it
        as it was, and a run killed later holds no old `config.json`)."""
        raise NotImplementedError

    def tokenizers(self, config, corpus=None, folder=None):
        """The tokenizers, in `vocabulary_files` order: learned from the training split of
        `corpus`, or (with `folder`) read back from the vocabularies saved there (a
        finished run's export)."""
        raise NotImplementedError

    def member(self, config, data, run):
        """What one model trains with, a `Member`: its datasets, the model, its compile
        arguments and its attention callback (with `run.attention_plots`). `data`: the
        `TaskData`; `run`: the runner's `MemberRun`. The runner calls it in the
        distribution scope, with the member's seed set."""
        raise NotImplementedError

    def conclude(self, config, members, data, datasets):
        """The ending: `(model, evaluation)`, the model that is saved and exported, made
        from the trained `members` (one, or the `--ensemble` members of a task that
        `ensembles`), and its figures, printed and returned as an `Evaluation`.
        `datasets`: the last member's `DatasetSplits`."""
        raise NotImplementedError

    def export(self, config, model, tokenizers, path):
        """Writes the serving SavedModel in `path` (TensorFlow backend); returns its path."""
        raise NotImplementedError


# The tasks of the runs written before `config.json` recorded a task's import path: they
# name it by `"command"`. New tasks are never added here.
LEGACY_COMMANDS = {
    "translator": "attention_layers.training.tasks.translation:TranslationTask",
    "classifier": "attention_layers.training.tasks.classification:ClassificationTask",
}


def task_path(task):
    """The import path `"module:Class"` of `task` (a `Task`), as `config.json` records it."""
    return f"{type(task).__module__}:{type(task).__qualname__}"


def load_task(path, allow_import=False):
    """The `Task` whose import path is `path` (`"module:Class"`).

    A run folder's `config.json` names its task, and a crafted folder could name any
    module: reading a run must not run its code (as Keras' safe mode refuses code in a
    `.keras` file). So a module outside `attention_layers` is looked up only among those
    already imported: the script that defines a task imports it before it resumes, reads
    or exports a run of it.

    Args:
        path: `"module:Class"`.
        allow_import: import a module that is not imported yet; only for paths this
            program wrote itself (the export subprocess), never for one read from a file.

    Raises:
        ValueError: `path` does not name a `Task` subclass, or names a module that is not
            imported.
    """
    module, _, name = str(path).partition(":")
    ours = module == "attention_layers" or module.startswith("attention_layers.")
    if not (ours or allow_import or module in sys.modules):
        raise ValueError(
            f"{path!r} names a task in a module that is not imported; a run folder never "
            "makes Python import code (import the task's module first)"
        )
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"{path!r} is not a task's import path ({error})") from None
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ValueError(f"{path!r} is not a Task")
    return cls()


def task_of_config(config):
    """The `Task` that wrote a run's `config` (a dict): its `"task"` import path, or for a
    run written before that, its `"command"`; `None` when neither names one."""
    path = config.get("task") or LEGACY_COMMANDS.get(config.get("command"))
    return load_task(path) if isinstance(path, str) else None
