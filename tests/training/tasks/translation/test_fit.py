"""The shared training helpers: schedule, checkpoints that survive a crash, resumable early
stopping, command-line errors."""

import argparse
import json

import keras
import numpy as np
import pytest

from attention_layers.training import (
    EpochCheckpoint,
    ResumableEarlyStopping,
    TransformerSchedule,
    UsageError,
    command_line_errors,
    describe_device,
    make_callbacks,
)


def test_schedule_warms_up_linearly_then_decays_as_the_inverse_square_root():
    schedule = TransformerSchedule(64, warmup_steps=100, scale=2.0)
    rate = lambda iterations: float(schedule(iterations))  # noqa: E731
    peak = 2.0 / np.sqrt(64 * 100)
    # Keras passes iterations counted from 0; the paper's step counts from 1.
    np.testing.assert_allclose(rate(0), peak / 100, rtol=1e-5)
    np.testing.assert_allclose(rate(49), peak / 2, rtol=1e-5)
    np.testing.assert_allclose(rate(99), peak, rtol=1e-5)
    np.testing.assert_allclose(rate(399), peak / 2, rtol=1e-5)
    assert rate(98) < rate(99) > rate(100)


def test_schedule_round_trips_through_keras_serialization():
    original = TransformerSchedule(32, warmup_steps=7, scale=0.5)
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(original)))
    schedule = keras.saving.deserialize_keras_object(config)
    assert isinstance(schedule, TransformerSchedule)
    assert float(schedule(10)) == float(original(10))
    assert (schedule.model_dim, schedule.warmup_steps, schedule.scale) == (32, 7, 0.5)


def test_schedule_rejects_nonsense():
    with pytest.raises(ValueError, match="warmup_steps"):
        TransformerSchedule(64, warmup_steps=0)


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


class _ValidationLosses(keras.callbacks.Callback):
    """Puts the given `val_loss` values in the logs, one per epoch, as validation would."""

    def __init__(self, losses):
        super().__init__()
        self.losses = iter(losses)

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = next(self.losses)


def _data():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 3)).astype("float32")
    return features, features.sum(axis=1, keepdims=True)


def test_checkpoint_restores_weights_and_optimizer_and_keeps_last_and_best(tmp_path):
    features, targets = _data()
    model = _model()
    checkpoint = EpochCheckpoint(tmp_path / "checkpoints")
    # val_loss falls, then rises: epoch 2 stays the best.
    validation = _ValidationLosses([3.0, 1.0, 2.0, 2.5])
    model.fit(
        features, targets, batch_size=8, epochs=4, verbose=0, callbacks=[validation, checkpoint]
    )
    files = sorted(path.name for path in checkpoint.directory.iterdir())
    assert files == ["epoch_0002.weights.h5", "epoch_0004.weights.h5", "state.json"]
    state = dict(checkpoint.state)
    assert state.pop("training_seconds") > 0  # fit's wall clock up to epoch 4
    # The untrained model's loss (the first batch's), the divergence rule's reference.
    assert np.isfinite(state.pop("initial_loss"))
    assert state == {"epoch": 4, "best_epoch": 2, "best": 1.0, "finished": False}

    restored = _model()
    assert checkpoint.restore(restored) == 4
    assert int(restored.optimizer.iterations) == 4 * 4
    for before, after in zip(model.get_weights(), restored.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(
        model.optimizer.variables, restored.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(before), np.asarray(after))


def test_a_half_written_checkpoint_is_never_read(tmp_path):
    """A crash while saving leaves a temporary file that restore ignores."""
    features, targets = _data()
    model = _model()
    checkpoint = EpochCheckpoint(tmp_path)
    model.fit(features, targets, batch_size=8, epochs=1, verbose=0, callbacks=[checkpoint])
    (tmp_path / ".partial-123-epoch_0002.weights.h5").write_bytes(b"half a file")
    assert checkpoint.restore(_model()) == 1
    assert EpochCheckpoint(tmp_path / "empty").restore(_model()) == 0


def test_early_stopping_goes_on_counting_after_a_restart(tmp_path):
    features, targets = _data()
    model = _model()
    checkpoint = EpochCheckpoint(tmp_path)
    validation = _ValidationLosses([1.0, 0.5, 0.7])
    model.fit(
        features, targets, batch_size=8, epochs=3, verbose=0, callbacks=[validation, checkpoint]
    )
    best_model = _model()
    checkpoint._load(best_model, 2)
    best_weights = best_model.get_weights()

    # The process died; a new one resumes after epoch 3 with patience 2.
    resumed = _model()
    initial_epoch = checkpoint.restore(resumed)
    stopping = ResumableEarlyStopping(checkpoint, patience=2, restore_best_weights=True)
    history = resumed.fit(
        features, targets, batch_size=8, epochs=10, initial_epoch=initial_epoch, verbose=0,
        callbacks=[_ValidationLosses([0.9, 0.8]), stopping, checkpoint],
    )
    # Epoch 3 was already one without improvement: epoch 4 is the second, so it stops.
    assert len(history.history["loss"]) == 1
    assert stopping.stopped_epoch == 3 and stopping.best_epoch == 1
    for expected, actual in zip(best_weights, resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(expected, actual)
    assert checkpoint.state["finished"] is True
    assert json.loads((tmp_path / "state.json").read_text())["best_epoch"] == 2


def test_make_callbacks_writes_a_csv_log_and_epoch_curves(tmp_path):
    features, targets = _data()
    model = _model()
    checkpoint = EpochCheckpoint(tmp_path / "checkpoints", monitor="loss")
    callbacks = make_callbacks(tmp_path, checkpoint, patience=2)
    model.fit(features, targets, batch_size=8, epochs=2, verbose=0, callbacks=callbacks)
    lines = (tmp_path / "training_log.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,") and len(lines) == 3
    assert any((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert checkpoint.state["epoch"] == 2


def test_command_line_errors_exit_with_code_2_and_the_message(capsys):
    parser = argparse.ArgumentParser(prog="train")
    with pytest.raises(SystemExit) as exit_info, command_line_errors(parser):
        raise UsageError("--data x.txt: empty")
    assert exit_info.value.code == 2
    assert "train: error: --data x.txt: empty" in capsys.readouterr().err
    with pytest.raises(SystemExit), command_line_errors(parser):
        open("/nonexistent/spa.txt")  # noqa: SIM115
    assert "/nonexistent/spa.txt" in capsys.readouterr().err
    with pytest.raises(KeyError), command_line_errors(parser):
        raise KeyError("a bug, not a user error")


def test_describe_device_names_the_hardware_and_the_backend():
    text = describe_device()
    assert text.startswith("Training on ")
    assert ("GPU" in text) or ("CPU" in text and "cores" in text)
    assert keras.backend.backend() in text
