"""The flags and `--resume` logic that `train_translator.py` and `train_classifier.py` share.

Both commands take the same training and output flags, write their flags to
`OUTPUT/config.json`, and with `--resume` read them back: a resumed run keeps every flag
that defines its model and data, and refuses one given with another value.
"""

import argparse
import copy
import dataclasses
import json
import pathlib

from attention_layers.text.tokenizers import RESERVED_TOKENS
from attention_layers.training.flags import (
    codec,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from attention_layers.training.tasks.base import task_path


def add_count_flags(group, helps, metavar="N"):
    """Adds an optional positive-int flag for each `flag: help` of `helps`, in order."""
    for flag, help_text in helps.items():
        group.add_argument(flag, type=positive_int, metavar=metavar, help=help_text)


def add_dataset_flags(parser, presets, *, dataset_help, data_help, size_flag, size_help):
    """Starts the `data` group: `--dataset`, `--data` and the generated corpus's size.

    Args:
        parser: the command's `argparse.ArgumentParser`.
        presets: `{dataset: {flag: value}}`; `--dataset` is one of its names (default
            `builtin`, the generated corpus).
        dataset_help, data_help: the help of `--dataset` and of `--data PATH` (a local copy
            of the real corpus).
        size_flag, size_help: the flag (e.g. `"--num-pairs"`) of the generated corpus's
            size, a positive int, and its help.

    Returns:
        The `data` argument group, for the task's other data flags.
    """
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", choices=sorted(presets), default="builtin", help=dataset_help)
    data.add_argument("--data", metavar="PATH", help=data_help)
    add_count_flags(data, {size_flag: size_help})
    return data


def add_file_flags(data, *, train_help, validation_help, test_help):
    """The user's own files, in the `data` group: `--train PATH`, then `--validation PATH`,
    `--test PATH` (each split out of train when not given) and `--encoding`, which go with
    `--train` only. Each `*_help` is the task's words for its flag."""
    data.add_argument("--train", metavar="PATH", help=train_help)
    data.add_argument("--validation", metavar="PATH", help=f"--train only: {validation_help}")
    data.add_argument("--test", metavar="PATH", help=f"--train only: {test_help}")
    data.add_argument("--encoding", type=codec, default="utf-8",
                      help="--train only: the files' codec (default utf-8; a BOM is skipped).")


def add_model_size_flags(model, *, layers_help, recurrent):
    """The sizes of both models, then `--dropout`, in the `model` group.

    Args:
        model: the `model` argument group.
        layers_help: what `--layers` counts, e.g. `"encoder blocks"`.
        recurrent: `{flag: help}` of the recurrent model's sizes (positive ints).
    """
    add_count_flags(model, {
        "--layers": f"transformer only: {layers_help} (preset).",
        "--model-dim": "transformer only: d_model (preset).",
        "--heads": "transformer only: attention heads (preset).",
        "--feed-forward-dim": "transformer only: feed-forward hidden size (preset).",
        **recurrent,
    })
    model.add_argument("--dropout", type=unit_interval, metavar="P", help="dropout rate (preset).")


def check_dataset_flags(parser, args, *, real_dataset, size_flag):
    """`parser.error` for `--data` with the generated corpus, or its size with a real one."""
    if args.dataset == "builtin" and args.data is not None:
        parser.error(
            f"--data is for --dataset {real_dataset}; the builtin corpus is generated."
        )
    if args.dataset != "builtin" and getattr(args, size_flag[2:].replace("-", "_")) is not None:
        parser.error(f"{size_flag} is for --dataset builtin.")


def misplaced_flags(parser, given, model, only_for):
    """`parser.error` when a flag of another `--model` was given.

    Args:
        given: the names of the flags given.
        model: the chosen `--model`.
        only_for: `{model: flag names that apply to that model only}`.
    """
    wrong = [name for other, names in only_for.items() if other != model for name in names]
    misplaced = sorted(name for name in wrong if name in given)
    if misplaced:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in misplaced)
        parser.error(f"{flags} do(es) not apply to --model {model}.")


def fill_preset(args, preset):
    """Gives every flag still unset (`None`) its value in `preset`."""
    for name, value in preset.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def add_training_flags(parser, *, recurrent_model, example, ensembles=False):
    """The `training` group: epochs, batch size, learning rate and schedule, patience,
    weight averaging, label smoothing, the time limit and (for a task that can combine
    models) `--ensemble`.

    Args:
        parser: the command's `argparse.ArgumentParser`.
        recurrent_model: the `--model` name of the recurrent model (constant learning
            rate), or None for a task without one.
        example: what one batch holds, e.g. `"sentence pairs"`.
        ensembles: whether to add `--ensemble M` (the task combines trained models).
    """
    training = parser.add_argument_group("training")
    add_count_flags(training, {
        "--epochs": "the most epochs; early stopping may end sooner (preset).",
        "--batch-size": f"{example} per batch, over all devices (preset).",
    })
    constant = f"; {recurrent_model}: constant" if recurrent_model else ""
    training.add_argument(
        "--learning-rate", type=positive_float, metavar="LR",
        help="peak learning rate of Adam. Transformer: reached after --warmup-steps, then "
        f"decays as 1/sqrt(step) (Vaswani et al. 2017, §5.3){constant} (preset).",
    )
    add_count_flags(training, {
        "--warmup-steps": "transformer only: warm-up steps of the learning rate (preset).",
    })
    training.add_argument(
        "--patience", type=int, metavar="N",
        help="stop after N epochs without a lower validation loss and keep the best "
        "epoch's weights; 0 disables early stopping (preset).",
    )
    training.add_argument(
        "--weight-averaging", type=non_negative_int, metavar="STEPS",
        help="keep an exponential moving average of the weights with a time constant of "
        "STEPS steps (Polyak averaging, momentum 1 - 1/STEPS) and validate, checkpoint and "
        "save the average; 0 turns it off (preset).",
    )
    training.add_argument(
        "--label-smoothing", type=unit_interval, metavar="EPS",
        help="train against targets that put 1 - EPS on the true class and spread EPS "
        "over all classes (Szegedy et al. 2016; Vaswani et al. 2017, §5.4); 0 turns it "
        "off (preset).",
    )
    training.add_argument(
        "--max-minutes", type=positive_float, metavar="N",
        help="stop at the first step after N minutes of training (wall clock, counted "
        "across --resume; with --ensemble M, N/M per member), keep the best epoch's "
        "weights (the cut epoch is validated too), then evaluate, save and export as "
        "usual. Default: no limit.",
    )
    if ensembles:
        add_count_flags(training, {
            "--ensemble": "train M models one after the other (seeds --seed, --seed + 1, "
            "...; each in OUTPUT/member_I) and save their combination (the classifier: "
            "their mean, a ClassifierEnsemble) (preset).",
        }, metavar="M")
    return training


def settle_flags(parser, args, config_class, fresh=None):
    """The task's config, `config_class.from_flags(args)`, after the checks and fills that
    every task shares, in one call: for a fresh run, `fresh` (`FreshRun`) says how to
    check `--data` and the size flag (`check_dataset_flags`), the other models' flags
    (`misplaced_flags`) and fills the unset flags from its preset (`fill_preset`); a
    resumed run's flags are restored whole (`fresh=None`). Then, for both, the vocabulary
    and Transformer sizes (`check_vocabulary_size`, `check_transformer_sizes`)."""
    if fresh is not None:
        check_dataset_flags(parser, args, real_dataset=fresh.real_dataset,
                            size_flag=fresh.size_flag)
        misplaced_flags(parser, fresh.given, args.model or fresh.preset["model"],
                        fresh.only_for)
        fill_preset(args, fresh.preset)
    config = config_class.from_flags(args)
    if config.vocabulary_size is not None:
        check_vocabulary_size(parser, config)
    if config.model_dim is not None and config.heads is not None:
        check_transformer_sizes(parser, config)
    return config


@dataclasses.dataclass(frozen=True)
class FreshRun:
    """What `settle_flags` checks and fills in a fresh run.

    Args:
        given: the names of the flags given.
        preset: `{flag name: value}` for the flags still unset, `"model"` among them.
        only_for: `{model: flag names that apply to that model only}`.
        real_dataset: the real corpus's `--dataset` (that `--data` is for).
        size_flag: the generated corpus's size flag (`"--num-pairs"`).
    """

    given: frozenset
    preset: dict
    only_for: dict
    real_dataset: str
    size_flag: str


def check_vocabulary_size(parser, args):
    """`parser.error` when `--vocabulary-size` leaves no room for a word beside the reserved
    tokens."""
    reserved = len(RESERVED_TOKENS)
    if args.vocabulary_size < reserved + 1:
        parser.error(
            f"--vocabulary-size must be at least {reserved + 1} ({reserved} reserved tokens "
            f"and a word); received {args.vocabulary_size}."
        )


def check_transformer_sizes(parser, args):
    """`parser.error` when a Transformer's `--model-dim` does not split over its `--heads`."""
    if args.model == "transformer" and args.model_dim % args.heads:
        parser.error(f"--model-dim ({args.model_dim}) must be divisible by --heads ({args.heads}).")


def add_output_flags(parser, default_output):
    """The `output` group: `--output`, `--resume`, `--overwrite`, `--no-attention-plots`,
    `--no-export`. `default_output` is a pattern with `{dataset}`."""
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output", metavar="DIR",
        help="where the run writes its files; one run per folder (default: "
        f"{default_output.format(dataset='DATASET')}, e.g. "
        f"{default_output.format(dataset='builtin')}).",
    )
    output.add_argument(
        "--resume", action="store_true",
        help="continue the run in --output from its last completed epoch (also after "
        "kill -9 or Ctrl-C), with its saved flags; --epochs may be raised.",
    )
    output.add_argument(
        "--overwrite", action="store_true",
        help="start a new run in an --output that holds one: its files (model, export, "
        "checkpoints, logs, plots, results, vocabularies, config) are removed first, "
        "other files are kept. Without it a fresh run refuses such a folder.",
    )
    output.add_argument("--no-attention-plots", action="store_true",
                        help="do not plot attention under OUTPUT/attention/ every epoch.")
    output.add_argument("--no-export", action="store_true",
                        help="do not write the serving SavedModel.")
    return output


# Flags that `--resume` may change for every task (`--epochs` and `--patience` too); a task
# adds its own (`TaskFlags.resume_may_change`). The saved ones apply when they are not given.
RESUME_MAY_CHANGE = ("max_minutes",)


def _saved_value_problem(parser, name, value, required=()):
    """Why `value`, read from a saved `config.json`, is not a value of flag `name` (a few
    words), or `None`: the flag's type and choices, as if it were typed on the command line.
    `None` (a flag that does not apply) is accepted unless `name` is in `required` (a flag
    that every run of that dataset sets, e.g. `model_dim`)."""
    actions = [action for action in parser._actions if action.dest == name]
    if not actions or (value is None and name not in required):
        return None
    action = next((a for a in actions if a.choices or a.type), actions[0])
    flag = action.option_strings[0] if action.option_strings else name
    wrong = f'"{name}" is {value!r}, not a value of {flag}'
    if value is None:
        return wrong
    if not action.option_strings or action.nargs == 0:  # store_true / store_const
        return None if isinstance(value, bool) or value in (a.const for a in actions) else wrong
    if action.choices is not None and value not in action.choices:
        return f"{wrong} (one of {', '.join(map(str, action.choices))})"
    kind = action.type or str
    if isinstance(value, bool) or (kind is str and not isinstance(value, str)):
        return wrong
    try:
        valid = kind(str(value)) == value
    except (ValueError, TypeError, ArithmeticError, argparse.ArgumentTypeError):
        valid = False
    return None if valid else f"{wrong} ({getattr(kind, '__name__', 'its type')})"


def _preset_flags(presets, saved):
    """The flags that the preset of a saved run's dataset (and, where a preset holds one
    per `--model`, of its model) sets to a value: every such run has them."""
    preset = presets.get(saved.get("dataset")) if isinstance(saved.get("dataset"), str) else None
    preset = dict(preset or {})
    per_model = preset.get(saved.get("model")) if isinstance(saved.get("model"), str) else None
    if isinstance(per_model, dict):
        preset.update(per_model)
    return {name for name, value in preset.items() if value is not None}


def _saved_command(saved, run_defining):
    """The command that wrote a saved config: recorded, or (older runs) told by its flags."""
    if "command" in saved:
        return f"a {saved['command']}"
    return "same" if all(name in saved for name in run_defining) else "another command's"


def upgrade_config(saved, task_defaults=None):
    """Fills in, in place, the flags that a `config.json` written before them lacks: the
    shared ones, then the task's, `task_defaults` (`TaskFlags.saved_defaults`)."""
    if "mixed_precision" in saved and "precision" not in saved:  # written before --precision
        saved["precision"] = "mixed_float16" if saved["mixed_precision"] else "float32"
    saved.setdefault("weight_averaging", 0)  # written before --weight-averaging
    saved.setdefault("label_smoothing", 0.0)  # written before --label-smoothing
    for name, value in (task_defaults or {}).items():
        saved.setdefault(name, copy.deepcopy(value))
    return saved


def read_saved_config(parser, saved_path):
    """The saved run's flags (a dict) from `saved_path`; `parser.error` when there is no
    run's `config.json` there."""
    if saved_path.exists() and not saved_path.is_file():  # a pipe would be waited on forever
        parser.error(f"--resume: {saved_path} is not a regular file (a pipe, a device, a "
                     "socket or a folder); it is not a run's config.json.")
    if not saved_path.is_file():
        parser.error(f"--resume: {saved_path} not found; there is no run to resume there.")
    try:
        saved = json.loads(saved_path.read_text())
    except (ValueError, OSError) as error:
        parser.error(f"--resume: {saved_path} is not a run's config.json ({error}).")
    if not isinstance(saved, dict):
        parser.error(f"--resume: {saved_path} is not a run's config.json.")
    return saved


def _check_written_by(parser, args, saved, task):
    """`parser.error` unless `task` wrote the saved run: its import path, or for a run
    written before that was recorded, its command's name (or its flags)."""
    if "task" in saved:
        same = saved["task"] == task_path(task)
        written_by = f"a {saved.get('command', saved['task'])}"
    else:
        written_by = _saved_command(saved, task.flags.run_defining)
        same = written_by in (f"a {task.name}", "same")
    if not same:
        parser.error(
            f"--resume: {args.output} holds {written_by!s} run, not a {task.name} run; "
            "resume it with its own command, or give another --output."
        )


def _restore_run_defining(parser, args, saved, run_defining):
    """Gives each flag of `run_defining` its saved value; `parser.error` on one given with
    another value."""
    for name in run_defining:
        value = getattr(args, name)
        default = parser.get_default(name)
        if value is not None and value != default and value != saved.get(name):
            parser.error(
                f"--resume: --{name.replace('_', '-')}={value} differs from the run being "
                f"resumed ({saved.get(name)!r}); resume without it or use another --output."
            )
        setattr(args, name, saved.get(name))


def restore_resumed_flags(parser, args, task, *, folder=None):
    """With `--resume`: the flags of the run in `--output`, checked against those given.

    Every flag in the task's `run_defining` (`task.flags`, a `TaskFlags`) takes its saved
    value; one given with another value ends the command (`parser.error`, exit code 2), and
    so does a folder that another task (`config.json`'s `"task"`, or before it `"command"`)
    or no run wrote. `--epochs`, `--patience`, `--max-minutes` and the task's
    `resume_may_change` may change (when not given, the saved ones apply). A config written
    by an older version is upgraded first (`upgrade_config`, with the task's
    `saved_defaults`).
    The run is read from `folder` (default: `--output`). Each saved value must be one the
    flag takes; a flag that the task's preset for the run's dataset sets must not be `null`.
    """
    saved_path = pathlib.Path(folder or args.output) / "config.json"
    flags = task.flags
    saved = upgrade_config(read_saved_config(parser, saved_path), flags.saved_defaults)
    run_defining = flags.run_defining
    _restore_run_defining(parser, args, saved, run_defining)
    _check_written_by(parser, args, saved, task)
    missing = [name for name in (*run_defining, "epochs", "patience") if name not in saved]
    if missing:
        parser.error(f"--resume: {saved_path} lacks {', '.join(missing)}; it is not a "
                     f"complete {task.name} run.")
    may_change = (*RESUME_MAY_CHANGE, *flags.resume_may_change)
    required = _preset_flags(flags.presets, saved)
    for name in (*run_defining, "epochs", "patience", *may_change):
        problem = _saved_value_problem(parser, name, saved.get(name), required)
        if problem:
            parser.error(f"--resume: {saved_path}: {problem}; the file was edited or is "
                         f"not a {task.name} run's. Fix the value, or start a new run.")
    args.epochs = args.epochs or saved["epochs"]
    args.patience = saved["patience"] if args.patience is None else args.patience
    for name in may_change:  # the saved one when not given
        if getattr(args, name, None) is None:
            setattr(args, name, saved.get(name))
    args.run_id = saved.get("run_id")
    return args
