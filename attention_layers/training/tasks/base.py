"""`Task`: what a training command trains, and how a run's `config.json` names its task.

The runner (`attention_layers.training.runner`) does the training the same way for every
task; a subclass of `Task` gives the rest: its flags and presets, corpus, tokenizers,
model, evaluation and export. A run's `config.json` records the task's import path
(`"task": "attention_layers.training.tasks.translation:TranslationTask"`), so a new task
is one module and a short script; nothing central lists the tasks.
"""

import importlib
import sys

from attention_layers.training.schedules import clipped_adam, transformer_adam


class Task:
    """What a command trains. A subclass sets the attributes and implements the hooks.

    Attributes:
        name: e.g. `"translator"`: the model file is `OUTPUT/{name}.keras`. `config.json`
            records it and the task's import path, so `--resume` refuses another task's
            folder.
        description: the command's `--help` description.
        default_output: the default `--output`, a pattern with `{dataset}` (each
            `--dataset` has its own folder, so that runs do not mix).
        presets: `{dataset: {flag: value}}`, the defaults of each `--dataset`.
        run_defining: the flags that define the model and its data (`--resume` keeps them).
        resume_may_change: the task's flags that `--resume` may change (besides
            `--epochs`, `--patience` and `--max-minutes`).
        ensembles: whether the task `combine`s models: the runner then offers
            `--ensemble M` and trains M members.
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
    resume_may_change = ()
    ensembles = False
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

    def upgrade_config(self, saved):
        """Fills in, in place, the task's flags that a `config.json` written before them
        lacks (`--resume` on an older run)."""

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

    def make_optimizer(self, args, **averaging):
        """The optimizer, given the runner's moving-average options (`use_ema`,
        `ema_momentum`, from `--weight-averaging`): by default Adam with Vaswani's warm-up
        schedule for a Transformer, clipped Adam for a recurrent model."""
        if args.model == "transformer":
            return transformer_adam(
                args.learning_rate, args.model_dim, args.warmup_steps, **averaging
            )
        return clipped_adam(args.learning_rate, **averaging)

    def data_record(self, corpus):
        """`(record, note)`: what `results.json` records of the data beyond the figures, and
        a few words for the log and the summary (`""` when there is nothing to say). By
        default, the overlong examples that the corpus's loader skipped."""
        note = corpus.skipped_summary()
        return {"skipped_overlong": {**corpus.skipped_overlong, "summary": note}}, note

    def dummy_inputs(self):
        """A tiny batch whose call builds every weight (so a checkpoint can be loaded)."""
        raise NotImplementedError

    def describe_model(self, args):
        """The model in a few words, for the log (default: its `--model`, or the task's name)."""
        return getattr(args, "model", None) or self.name

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
