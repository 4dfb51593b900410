"""A run's settings, typed: the task's (`TaskConfig`, one subclass per task) and the runner's
(`RunSettings`), each built once from the parsed flags, or from a run's `config.json`.

The command line and `config.json` speak flags (an `argparse.Namespace`, a dict with one
key per flag, kept as it was so that old runs resume); past that point the runner works
with `RunSettings` and hands the task its own `TaskConfig`, whose fields are the flags the
task reads. A flag may feed both (`--seed` seeds the task's corpus and the runner's
members).
"""

import dataclasses


def _from_flags(cls, flags):
    """`cls` with each field's value in `flags` (a `Namespace` or a dict); the flags that
    are not fields are left out, the fields that `flags` lacks (a `config.json` written
    before the flag) keep their defaults."""
    values = flags if isinstance(flags, dict) else vars(flags)
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{name: value for name, value in values.items() if name in names})


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """The settings of a task: a subclass (a frozen dataclass) per task, one field per flag
    that the task reads, its own flags and the training flags it uses (`batch_size`,
    `learning_rate`, ...). Each field has a default (`None` for a flag that a preset fills),
    so that a `config.json` written before a flag still makes a config.

    Example:

    ```python
    @dataclasses.dataclass(frozen=True)
    class ReversalConfig(TaskConfig):
        num_examples: int = 200
        max_length: int = 8
        seed: int = 0

    config = ReversalConfig.from_flags(parser.parse_args())
    ```
    """

    @classmethod
    def from_flags(cls, flags):
        """The config of the parsed `flags` (a `Namespace`) or of a `config.json` (a dict)."""
        return _from_flags(cls, flags)

    def describe_model(self):
        """The model in a few words, for the log (default: its `model` field, if any)."""
        return getattr(self, "model", None)


@dataclasses.dataclass(frozen=True)
class CorpusTaskConfig(TaskConfig):
    """The settings that both shipped tasks share: the flags of `command_line`'s
    `add_dataset_flags` (`--dataset`, `--data`), `add_file_flags` (`--train`,
    `--validation`, `--test`, `--encoding`), `add_model_size_flags` and
    `add_training_flags`, and the vocabulary and length of their tokenizers. A task that
    trains from a corpus with those flags subclasses it and adds its own fields.
    """

    dataset: str = "builtin"
    data: str | None = None
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    encoding: str = "utf-8"
    model: str | None = None
    vocabulary_size: int | None = None
    layers: int | None = None
    model_dim: int | None = None
    heads: int | None = None
    feed_forward_dim: int | None = None
    embedding_dim: int | None = None
    units: int | None = None
    dropout: float | None = None
    max_length: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    warmup_steps: int | None = None
    label_smoothing: float = 0.0
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """The runner's own settings, the same for every task.

    Attributes:
        output: the run's folder (`--output`).
        resume: continue the run in `output` (`--resume`).
        overwrite: a fresh run replaces the run in `output` (`--overwrite`).
        epochs: the most epochs.
        patience: early stopping's patience; 0 or `None` turns it off.
        max_minutes: the most minutes of training, over all members; `None`: no limit.
        seed: the run's seed; member `I` of an ensemble trains with `seed + I`.
        ensemble: the members trained (`--ensemble M`, for a task that `ensembles`).
        weight_averaging: the time constant in steps of the weights' moving average; 0 or
            `None` keeps none.
        learning_rate: the peak learning rate (named when training diverged).
        precision: the dtype policy, e.g. `"mixed_bfloat16"`.
        no_export, no_attention_plots: skip the serving export, the attention plots.
        run_id: the run's identity, written in its checkpoints.
    """

    output: str | None = None
    resume: bool = False
    overwrite: bool = False
    epochs: int | None = None
    patience: int | None = None
    max_minutes: float | None = None
    seed: int = 0
    ensemble: int | None = None
    weight_averaging: int | None = None
    learning_rate: float | None = None
    precision: str = "float32"
    no_export: bool = False
    no_attention_plots: bool = False
    run_id: str | None = None

    @classmethod
    def from_flags(cls, flags):
        """The settings of the parsed `flags` (a `Namespace`) or of a `config.json` (a dict)."""
        return _from_flags(cls, flags)
