"""Tests of `attention_layers.text`: normalization and tokenizers."""
