"""Compiled decoders: each traces once, and TensorFlow does not take decoders compiled
for several models or beam widths for one function retracing."""

import logging

import keras
import numpy as np
import pytest

from attention_layers.decoding import beam_search_decode, greedy_decode
from attention_layers.decoding.compiled import _COMPILED
from attention_layers.models import TransformerTranslator

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="tf.function: the TensorFlow backend"
)


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = TransformerTranslator(20, 20, num_layers=1, model_dim=8, num_heads=2,
                                  feed_forward_dim=16)
    model.build()
    return model


@pytest.mark.slow
def test_each_decoder_traces_once_and_is_not_logged_as_retracing(caplog):
    models = [_model(seed) for seed in range(2)]
    sources = [np.full((batch, length), 5, "int32") for batch, length in ((2, 5), (3, 7))]
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for source in sources:  # another batch and source length: no new trace
            for model in models:
                greedy_decode(model, source, 3)
                for width in (1, 2):  # one decoder per beam width
                    beam_search_decode(model, source, 3, beam_width=width)
    for model in models:
        tracings = [function.experimental_get_tracing_count()
                    for function in _COMPILED[model].values()]
        assert tracings == [1, 1, 1]  # greedy and two beam widths, each traced once
    # 6 decoders traced in the first 6 calls: TensorFlow warns of "retracing" from 5 traces
    # of one function, so it must count each decoder apart.
    assert not [record for record in caplog.records if "retracing" in record.getMessage()]
