"""The command line of `train_translator.py` and `train_classifier.py`: the runner's first
step, from `argv` to the task's typed config.

1. `build_parser`: the task's data and model flags (`Task.flags.add`, built from the
   helpers here: `add_dataset_flags`, `add_model_size_flags`, ...) plus the shared
   training, scale and output flags;
2. `parse_flags`: `argv` parsed, the default `--output` filled in (the runner then makes
   the distribution plan, `distribution.scale_plan`, before any tensor exists);
3. `resolve_flags`: with `--resume` the saved run's flags restored and checked
   (`attention_layers.training.resume`), then the task's preset filled in and its typed
   config made and checked (`TaskFlags.resolve`, with `settle_flags` here).

Both commands write their flags to `OUTPUT/config.json`; `--resume` reads them back.
"""

import argparse
import dataclasses
import uuid

from attention_layers.text.tokenizers import RESERVED_TOKENS
from attention_layers.training.distribution import add_scale_flags
from attention_layers.training.flags import (
    codec,
    non_negative_int,
    positive_float,
    positive_int,
    unit_interval,
)
from attention_layers.training.resume import restore_resumed_flags

# --- the parser -----------------------------------------------------------------------------


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


def parse_flags(task, parser, argv=None):
    """`argv` parsed by `parser` (`build_parser(task)`), `--output` filled in when not
    given (`default_output`); `parser.error` on `--resume` with `--overwrite`."""
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = default_output(task, args)
    if args.resume and args.overwrite:
        parser.error("--overwrite starts a new run in --output; it does not go with --resume.")
    return args


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


# --- flags the tasks and the runner share -----------------------------------------------------


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
