"""`--resume`: the saved run's flags read back from its `config.json`, upgraded when an older
version wrote it, checked, and restored into the parsed flags.

A resumed run keeps every flag that defines its model and data (the task's `run_defining`)
and refuses one given with another value; `--epochs`, `--patience`, `--max-minutes` and the
task's `resume_may_change` may change.
"""

import argparse
import copy
import json
import pathlib

from attention_layers.training.tasks.base import task_path

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
