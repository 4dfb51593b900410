"""Tests of `attention_layers.data`: corpora, bad input, downloads and `tf.data` pipelines."""
