"""Fit helpers, callbacks and metrics."""

from attention_layers.training.metrics import corpus_bleu, masked_accuracy, masked_loss

__all__ = ["corpus_bleu", "masked_accuracy", "masked_loss"]
