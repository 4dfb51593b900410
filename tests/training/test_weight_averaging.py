"""`--weight-averaging`: the optimizer's moving average of the weights is what is validated,
checkpointed and kept, and a run resumed from a checkpoint trains on as if never stopped."""

import keras
import numpy as np
import pytest

from attention_layers.training.callbacks import AveragedWeights
from attention_layers.training.checkpoints import EpochCheckpoint
from attention_layers.training.fitting import averaging
from attention_layers.training.tasks.translation import TranslationConfig, TranslationTask

MOMENTUM = 0.8
X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
Y = (X @ np.array([1.0, -2.0, 0.5], "float32"))[:, None]


def averaged_model():
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, "tanh"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=MOMENTUM), "mse")
    return model


def fit(model, callbacks, epochs, initial_epoch=0):
    model.fit(X, Y, batch_size=8, epochs=epochs, initial_epoch=initial_epoch,
              validation_data=(X, Y), callbacks=callbacks, shuffle=False, verbose=0)


class NumpyAverage(keras.callbacks.Callback):
    """The moving average computed independently: the first step copies the weights."""

    def __init__(self):
        super().__init__()
        self.average = None
        self.last = None

    def on_train_batch_end(self, batch, logs=None):
        self.last = self.model.get_weights()
        if self.average is None:
            self.average = [w.copy() for w in self.last]
        else:
            self.average = [MOMENTUM * a + (1 - MOMENTUM) * w
                            for a, w in zip(self.average, self.last, strict=True)]


def test_the_average_is_validated_checkpointed_and_kept(tmp_path):
    model = averaged_model()
    reference = NumpyAverage()
    checkpoint = EpochCheckpoint(tmp_path)
    history = model.fit(X, Y, batch_size=8, epochs=2, validation_data=(X, Y), shuffle=False,
                        verbose=0, callbacks=[reference, AveragedWeights(checkpoint), checkpoint])
    for kept, expected, raw in zip(model.get_weights(), reference.average, reference.last,
                                   strict=True):
        np.testing.assert_allclose(kept, expected, rtol=1e-5, atol=1e-6)
        assert not np.allclose(kept, raw, atol=1e-4)
    # Validation scored the average, not the raw weights.
    np.testing.assert_allclose(history.history["val_loss"][-1],
                               model.evaluate(X, Y, verbose=0), rtol=1e-5)
    saved = averaged_model()
    checkpoint.restore(saved)
    for kept, restored in zip(model.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_allclose(kept, restored, rtol=1e-6)


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    whole = averaged_model()
    checkpoint = EpochCheckpoint(tmp_path / "whole")
    fit(whole, [AveragedWeights(checkpoint), checkpoint], epochs=3)

    class Killed(Exception):
        pass

    class KillAtEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise Killed

    checkpoint = EpochCheckpoint(tmp_path / "resumed")
    with pytest.raises(Killed):
        fit(averaged_model(), [AveragedWeights(checkpoint), checkpoint, KillAtEpoch2()],
            epochs=3)
    resumed = averaged_model()
    initial_epoch = checkpoint.restore(resumed)
    assert initial_epoch == 1
    fit(resumed, [AveragedWeights(checkpoint), checkpoint], epochs=3,
        initial_epoch=initial_epoch)
    for expected, actual in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_the_flag_sets_the_optimizers_momentum():
    config = TranslationConfig(model="rnn", learning_rate=1e-3)
    task = TranslationTask()
    optimizer = task.compile_args(config, **averaging(250))["optimizer"]
    assert optimizer.use_ema and optimizer.ema_momentum == pytest.approx(0.996)
    assert not task.compile_args(config, **averaging(0))["optimizer"].use_ema
