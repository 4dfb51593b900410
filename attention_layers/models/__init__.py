"""Translators and the sentiment classifier, composed from `attention_layers.layers`."""

from attention_layers.models.classifier import (
    BiGRUClassifier,
    ClassifierEnsemble,
    HashedBigramEmbedding,
    TransformerClassifier,
)
from attention_layers.models.rnn_translator import ATTENTIONS, RNNTranslator
from attention_layers.models.transformer_translator import TransformerTranslator

__all__ = [
    "ATTENTIONS",
    "BiGRUClassifier",
    "ClassifierEnsemble",
    "HashedBigramEmbedding",
    "RNNTranslator",
    "TransformerClassifier",
    "TransformerTranslator",
]
