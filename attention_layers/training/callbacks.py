"""Callbacks that make a training run survive `kill -9`, divergence and time limits.

`EpochCheckpoint` (`checkpoints.py`) saves every epoch whole or not at all and refuses to
save a diverged one; `ResumableEarlyStopping` and `TrainingTimeLimit` carry on after a resume; `AveragedWeights`
validates and keeps the moving average of the weights; `make_callbacks` puts them in order:

```python
checkpoint = EpochCheckpoint(output / "checkpoints")
initial_epoch = checkpoint.restore(model) if args.resume else checkpoint.clear()
model.fit(..., initial_epoch=initial_epoch,
          callbacks=make_callbacks(output, checkpoint, patience=3))
```
"""

import pathlib
import sys
import time

import keras


class AveragedWeights(keras.callbacks.SwapEMAWeights):
    """Validates, checkpoints and keeps the optimizer's moving average of the weights.

    With `use_ema=True` the optimizer keeps an exponential moving average of the weights
    (Polyak & Juditsky 1992; "checkpoint averaging" without the checkpoints). This callback
    is Keras' `SwapEMAWeights(swap_on_epoch=True)`: at the end of every epoch the average
    goes into the model (and the raw weights into the average's slots), so validation,
    the `EpochCheckpoint`, early stopping's best weights and the saved model all see the
    average; the next epoch swaps back and trains the raw weights. It must come before
    those callbacks. A checkpoint therefore holds the swapped pair, and a resumed run
    swaps back before its first epoch, so that it continues training the raw weights.

    Args:
        checkpoint: the run's `EpochCheckpoint` (does a resumed run start from one?).
    """

    def __init__(self, checkpoint):
        super().__init__(swap_on_epoch=True)
        self.checkpoint = checkpoint

    def on_train_begin(self, logs=None):
        # Every checkpoint was written after the end-of-epoch swap.
        self._ema_weights_in_model = bool(self.checkpoint.state)


class TrainingTimeLimit(keras.callbacks.Callback):
    """Stops `fit` at the first step boundary after `seconds` of wall-clock training, and
    keeps the best epoch's weights.

    Keras then ends the cut epoch as usual (validation, `on_epoch_end`), so the
    `EpochCheckpoint` records it and marks the run finished; at the end of training the
    weights of the best epoch by the checkpoint's `monitor` (the cut one included) are
    loaded, with or without early stopping. The time already spent by the checkpoint's
    earlier runs counts, so a resumed run gets only what is left.

    Args:
        seconds: the budget, wall clock.
        checkpoint: the run's `EpochCheckpoint` (for the time spent and the best weights).
        clock: the function that reads the time in seconds (default `time.perf_counter`).

    Attributes:
        stopped: whether the limit ended training.

    Example:

    >>> checkpoint = EpochCheckpoint("runs/demo/checkpoints")
    >>> limit = TrainingTimeLimit(20 * 60, checkpoint)
    >>> model.fit(train, validation_data=validation, epochs=30, callbacks=[checkpoint, limit])
    """

    def __init__(self, seconds, checkpoint, clock=time.perf_counter):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"`seconds` must be positive; received {seconds}.")
        self.seconds = seconds
        self.checkpoint = checkpoint
        self.clock = clock
        self.stopped = False

    def on_train_begin(self, logs=None):
        self._deadline = self.clock() + self.seconds - self.checkpoint.training_seconds

    def on_train_batch_end(self, batch, logs=None):
        if self.clock() >= self._deadline:
            self.model.stop_training = True
            self.stopped = True

    def on_train_end(self, logs=None):
        if self.stopped:
            best = self.checkpoint.best_weights(self.model)
            if best is not None:
                self.model.set_weights(best)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`keras.callbacks.EarlyStopping` that carries on counting after a resume.

    A plain `EarlyStopping` forgets its best value and patience when the process dies;
    this one starts from the `EpochCheckpoint`'s record (best value, best epoch, and the
    best epoch's weights for `restore_best_weights`). Give both the same `monitor` and
    `min_delta`; `monitor` is minimized.

    Args:
        checkpoint: the run's `EpochCheckpoint`.
        **kwargs: passed to `EarlyStopping` (`patience`, `restore_best_weights`, ...).
    """

    def __init__(self, checkpoint, **kwargs):
        kwargs.setdefault("monitor", checkpoint.monitor)
        kwargs.setdefault("min_delta", checkpoint.min_delta)
        super().__init__(mode="min", **kwargs)
        self.checkpoint = checkpoint

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        state = self.checkpoint.state
        if not state or state["best_epoch"] is None:
            return
        # Keras counts epochs from 0: the last completed one is `epoch - 1`.
        self.best = state["best"]
        self.best_epoch = state["best_epoch"] - 1
        self.wait = state["epoch"] - state["best_epoch"]
        if self.restore_best_weights:
            self.best_weights = self.checkpoint.best_weights(self.model)


# --- logs ---------------------------------------------------------------------------------


def make_callbacks(
    output_dir, checkpoint, *, patience=3, tensorboard=True, resume=False, max_seconds=None,
    averaged_weights=False,
):
    """The callbacks of a training run that writes under `output_dir`.

    In order: the moving average of the weights swapped in at each epoch's end
    (`AveragedWeights`, when `averaged_weights`), early stopping on the checkpoint's
    `monitor` with the best epoch's weights
    restored at the end (`ResumableEarlyStopping`), the per-epoch `checkpoint`, the time
    limit (`TrainingTimeLimit`, when `max_seconds` is given), a CSV log
    (`training_log.csv`, appended to when resuming) and TensorBoard logs (`logs/`).

    Args:
        output_dir: the run's folder.
        checkpoint: the run's `EpochCheckpoint`.
        patience: epochs without improvement before stopping; `None` disables stopping.
        tensorboard: whether to write TensorBoard logs.
        resume: whether this run continues an earlier one (the CSV log is kept).
        max_seconds: stop training after this many seconds (`None`: no limit).
        averaged_weights: whether the optimizer keeps a moving average of the weights
            (`use_ema=True`) that validation, checkpoints and the result should use.

    Returns:
        A list of callbacks for `model.fit`.
    """
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [AveragedWeights(checkpoint)] if averaged_weights else []
    if patience is not None:
        callbacks.append(
            ResumableEarlyStopping(checkpoint, patience=patience, restore_best_weights=True, verbose=1)
        )
    callbacks.append(checkpoint)
    if max_seconds is not None:
        callbacks.append(TrainingTimeLimit(max_seconds, checkpoint))
    callbacks.append(keras.callbacks.CSVLogger(str(output_dir / "training_log.csv"), append=resume))
    if tensorboard:
        # Epoch curves and the learning rate, at steps 0, 1, ... (the epoch, from 0).
        callbacks.append(
            keras.callbacks.TensorBoard(str(output_dir / "logs"), write_graph=False)
        )
    return callbacks


def progress_verbosity():
    """`verbose` for `fit`: 1 (a progress bar) on a terminal, 2 (a line per epoch) else."""
    return 1 if sys.stdout.isatty() else 2
