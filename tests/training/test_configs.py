"""The runner/task seam: typed configs built once from the flags or a run's config.json,
and the few hooks a task implements."""

import dataclasses

import pytest

from attention_layers.training import command_line
from attention_layers.training.configs import RunSettings
from attention_layers.training.tasks.base import Task, TaskFlags
from attention_layers.training.tasks.classification import (
    ClassificationConfig,
    ClassificationTask,
)
from attention_layers.training.tasks.translation import TranslationConfig, TranslationTask

HOOKS = {
    "prepare_data", "member", "conclude", "export",  # a stage of the run each
    "tokenizers",  # read back from a finished run's folder for its export
}


def public_methods(cls):
    return {name for name, value in vars(cls).items()
            if callable(value) and not isinstance(value, type) and not name.startswith("_")}


def test_a_task_implements_five_hooks_and_its_flags_two():
    assert public_methods(Task) == HOOKS
    assert public_methods(TaskFlags) == {"add", "resolve"}  # the flags: one call each


def resolved(task, argv):
    """The complete flags of a fresh run with `argv` (nothing runs)."""
    parser = command_line.build_parser(task)
    args = parser.parse_args(argv)
    command_line.resolve_flags(task, parser, args, folder=None)
    return args


def test_the_flags_split_into_the_tasks_config_and_the_runners_settings():
    args = resolved(TranslationTask(), ["--model", "rnn", "--attention", "luong-general",
                                        "--epochs", "3", "--seed", "7", "--output", "x"])
    config, settings = TranslationConfig.from_flags(args), RunSettings.from_flags(args)
    assert (config.model, config.attention, config.cell, config.seed) == (
        "rnn", "luong-general", "gru", 7)
    assert config.describe_model() == "rnn with luong-general attention"
    assert (settings.epochs, settings.seed, settings.output, settings.resume) == (3, 7, "x", False)
    assert not hasattr(config, "epochs") and not hasattr(settings, "attention")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model = "transformer"


def test_a_config_json_written_before_a_flag_gives_its_default():
    saved = {"dataset": "builtin", "model": "transformer", "max_length": 32, "layers": 1,
             "command": "classifier", "mixed_precision": False}  # no teacher, pooling_heads...
    config = ClassificationConfig.from_flags(saved)
    assert (config.teacher, config.pooling_heads, config.quantize_embeddings) == (None,) * 3
    assert (config.model, config.max_length, config.label_smoothing) == ("transformer", 32, 0.0)
    assert ClassificationTask().config_class is ClassificationConfig
