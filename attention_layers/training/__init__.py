"""Fit helpers, callbacks, metrics and test BLEU for the training commands."""

from attention_layers.training.command_line import (
    add_output_flags,
    add_training_flags,
    restore_resumed_flags,
)
from attention_layers.training.evaluation import evaluate_bleu
from attention_layers.training.fit import (
    EpochCheckpoint,
    EpochScalarLogger,
    ResumableEarlyStopping,
    TransformerSchedule,
    UsageError,
    command_line_errors,
    describe_device,
    gpu_names,
    make_callbacks,
    positive_float,
    positive_int,
    tensorboard_callback,
    unit_interval,
)
from attention_layers.training.metrics import corpus_bleu, masked_accuracy, masked_loss

__all__ = [
    "EpochCheckpoint",
    "EpochScalarLogger",
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
    "positive_float",
    "positive_int",
    "restore_resumed_flags",
    "tensorboard_callback",
    "unit_interval",
]
