"""`build_training_state`: the optimizer's, loss' and metrics' variables exist before `fit`,
so that `fit` creates none while it traces its step (TensorFlow traces a step that creates
variables twice), and training is the same as without it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from attention_layers.training.metrics import masked_accuracy, masked_loss
from attention_layers.training.state import build_training_state

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="the TensorFlow trainer's behaviour"
)


def _model_and_data():
    keras.utils.set_random_seed(0)
    tokens = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 8)(tokens)
    model = keras.Model(tokens, keras.layers.Dense(20)(hidden))
    model.compile(keras.optimizers.Adam(1e-2), loss=masked_loss(), metrics=[masked_accuracy])
    ids = np.random.default_rng(0).integers(1, 20, size=(48, 6)).astype("int32")
    # Two batch shapes (lengths 6 and 4), as bucketing by length gives.
    data = tf.data.Dataset.from_tensor_slices((ids, ids)).batch(16).concatenate(
        tf.data.Dataset.from_tensor_slices((ids[:, :4], ids[:, :4])).batch(16)
    )
    return model, data


def _fit_and_count_new_variables(model, data):
    before = {id(v) for v in model.variables + model.optimizer.variables + model.metrics_variables}
    history = model.fit(data, epochs=2, verbose=0, shuffle=False).history
    after = {id(v) for v in model.variables + model.optimizer.variables + model.metrics_variables}
    return len(after - before), history


def test_the_state_is_built_before_fit_and_fit_creates_no_variable():
    model, data = _model_and_data()
    assert not model.optimizer.built
    assert build_training_state(model, data)
    assert model.optimizer.built and model.optimizer.variables
    created, _ = _fit_and_count_new_variables(model, data)
    assert created == 0


def test_without_it_fit_creates_the_optimizers_variables_while_tracing():
    model, data = _model_and_data()
    created, _ = _fit_and_count_new_variables(model, data)
    assert created > 0  # what build_training_state spares: variables made inside the trace


def test_training_is_the_same_with_the_state_built_first():
    model, data = _model_and_data()
    build_training_state(model, data)
    _, built_first = _fit_and_count_new_variables(model, data)
    model, data = _model_and_data()
    _, as_before = _fit_and_count_new_variables(model, data)
    assert built_first == as_before  # the same losses, to the last bit


def test_under_a_strategy_keras_builds_it_and_nothing_is_done_here():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model, data = _model_and_data()
    assert not build_training_state(model, data)
    assert not model.optimizer.built


def test_arrays_before_a_fit_on_arrays_give_the_same_state_and_the_same_training():
    model, data = _model_and_data()
    ids = np.concatenate([x for x, _ in data.take(3)])  # the 48 rows of length 6
    assert build_training_state(model, (ids, ids))  # shapes and dtypes only
    assert model.optimizer.built
    before = len(model.optimizer.variables)
    built_first = model.fit(ids, ids, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert len(model.optimizer.variables) == before
    model, _ = _model_and_data()
    as_before = model.fit(ids, ids, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert built_first.history == as_before.history  # the same losses, to the last bit
