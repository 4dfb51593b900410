"""The training commands' rooms: flags and their types, the typed settings of a run
(`configs`), callbacks, schedules, devices and distribution, metrics and evaluation, the
runner and its steps (`command_line`, `resume`, `run_folder`, `fitting`, `saving`) and the
tasks (`training/tasks/`).

`evaluate_bleu` needs TensorFlow (text normalization) and is imported on first use, so that
`import attention_layers`, which registers the schedule and metrics defined here, stays
backend-neutral.
"""

import importlib

from attention_layers.training.callbacks import ResumableEarlyStopping, make_callbacks
from attention_layers.training.checkpoints import EpochCheckpoint
from attention_layers.training.command_line import add_output_flags, add_training_flags
from attention_layers.training.devices import describe_device, gpu_names
from attention_layers.training.flags import (
    UsageError,
    command_line_errors,
    positive_float,
    positive_int,
    unit_interval,
)
from attention_layers.training.metrics import (
    SmoothedSparseCrossentropy,
    corpus_bleu,
    masked_accuracy,
    masked_loss,
)
from attention_layers.training.resume import restore_resumed_flags
from attention_layers.training.schedules import TransformerSchedule

__all__ = [
    "EpochCheckpoint",
    "ResumableEarlyStopping",
    "TransformerSchedule",
    "UsageError",
    "add_output_flags",
    "add_training_flags",
    "command_line_errors",
    "corpus_bleu",
    "describe_device",
    "evaluate_bleu",
    "gpu_names",
    "make_callbacks",
    "masked_accuracy",
    "masked_loss",
    "SmoothedSparseCrossentropy",
    "positive_float",
    "positive_int",
    "restore_resumed_flags",
    "unit_interval",
]


def __getattr__(name):
    if name == "evaluate_bleu":
        module = importlib.import_module("attention_layers.training.evaluation")
        globals()[name] = module.evaluate_bleu
        return module.evaluate_bleu
    raise AttributeError(f"module 'attention_layers.training' has no attribute {name!r}")
