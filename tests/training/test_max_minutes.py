"""`--max-minutes`: training stops at the first step after the budget, keeps the best
epoch's weights, counts the time of resumed runs, and the command still evaluates, saves
and exports."""

import json

import keras
import numpy as np
import pytest

import train_translator
from attention_layers.training import command_line, distribution
from attention_layers.training.callbacks import TrainingTimeLimit
from attention_layers.training.checkpoints import EpochCheckpoint
from attention_layers.training.distribution import ScalePlan
from attention_layers.training.tasks.translation import TranslationTask
from tests.helpers import run_in_process as run
from tests.training.test_runner import TINY_TRANSLATOR


class StepClock(keras.callbacks.Callback):
    """A clock that advances one second per training step, and validation losses chosen
    by the test (so that the best epoch is known)."""

    def __init__(self, validation_losses):
        super().__init__()
        self.now = 0.0
        self.validation_losses = validation_losses

    def __call__(self):
        return self.now

    def on_train_batch_end(self, batch, logs=None):
        self.now += 1.0

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.validation_losses[epoch]


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def fit(model, callbacks, epochs=5):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    model.fit(x, x.sum(axis=1), batch_size=4, epochs=epochs, callbacks=callbacks,
              shuffle=False, verbose=0)  # 10 steps per epoch


def test_training_stops_at_the_first_step_after_the_limit_with_the_best_epochs_weights(
    tmp_path,
):
    model = tiny_model()
    clock = StepClock(validation_losses=[0.5, 0.9, 0.1])  # epoch 1 best of the two run
    checkpoint = EpochCheckpoint(tmp_path)
    limit = TrainingTimeLimit(13, checkpoint, clock=clock)
    best_epoch_weights = {}

    class Keep(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best_epoch_weights[epoch] = self.model.get_weights()

    fit(model, [clock, Keep(), checkpoint, limit])
    assert limit.stopped
    assert int(model.optimizer.iterations) == 13  # 1.3 epochs: the step after 13 s
    state = checkpoint.state
    assert (state["epoch"], state["best_epoch"], state["finished"]) == (2, 1, True)
    # The cut epoch was checkpointed, but the weights are epoch 1's, not the last ones.
    for kept, best, last in zip(model.get_weights(), best_epoch_weights[0],
                                best_epoch_weights[1], strict=True):
        np.testing.assert_array_equal(kept, best)
        assert not np.array_equal(kept, last)


def test_a_resumed_run_gets_only_the_time_that_is_left(tmp_path):
    checkpoint = EpochCheckpoint(tmp_path)
    fit(tiny_model(), [checkpoint], epochs=2)
    spent = checkpoint.training_seconds
    assert spent > 0
    model = tiny_model()
    clock = StepClock(validation_losses=[0.5] * 5)
    # A budget just above what was spent: the first step of the new run uses it up.
    limit = TrainingTimeLimit(spent + 0.5, checkpoint, clock=clock)
    fit(model, [clock, limit])
    assert limit.stopped
    assert int(model.optimizer.iterations) == 1


def test_the_limit_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="`seconds` must be positive; received 0"):
        TrainingTimeLimit(0, EpochCheckpoint(tmp_path))


def test_the_command_stops_by_the_clock_then_evaluates_saves_and_exports(tmp_path, capsys):
    output = tmp_path / "run"
    argv = [arg for arg in TINY_TRANSLATOR if arg != "--no-export"]
    argv[argv.index("--epochs") + 1] = "10000"
    code, out, err = run(
        train_translator,
        [*argv, "--max-minutes", "0.05", "--patience", "0", "--output", output], capsys,
    )
    assert code == 0, err
    state = json.loads((output / "checkpoints" / "state.json").read_text())
    # The message reports the clock the state recorded (a slow machine's
    # first step alone can outlast the 3-second budget).
    minutes = state["training_seconds"] / 60
    assert f"Stopped by --max-minutes after {minutes:.1f} min of training" in out
    assert state["finished"] and 1 <= state["epoch"] < 10000
    assert 3.0 <= state["training_seconds"] < 60
    results = json.loads((output / "results.json").read_text())
    assert "test_bleu" in results
    assert (output / "translator.keras").is_file()
    assert (output / "serving" / "1" / "saved_model.pb").is_file()
    # Resuming a run the clock ended trains no more.
    code, out, err = run(train_translator, ["--resume", "--output", output], capsys)
    assert code == 0, err
    assert "Training already finished" in out


def test_several_workers_refuse_the_limit(monkeypatch):
    monkeypatch.setattr(distribution, "configure_scale", lambda args: ScalePlan(
        distribution="multi-worker", precision="float32", jit_compile=False,
        steps_per_execution=1, num_replicas=2, num_workers=2,
    ))
    parser = command_line.build_parser(TranslationTask())
    args = parser.parse_args(["--max-minutes", "5"])
    with pytest.raises(SystemExit) as exit:
        distribution.scale_plan(parser, args)
    assert exit.value.code == 2
