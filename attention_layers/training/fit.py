"""What every training command shares: the device line, the Transformer learning-rate
schedule, callbacks that survive `kill -9`, and clean command-line errors (the runner,
`attention_layers.training.runner`, puts them together; `scale.py` sets devices, precision
and XLA).

A training script uses them in this order:

```python
parser = argparse.ArgumentParser(...)
args = parser.parse_args()
with command_line_errors(parser):          # bad data -> "error: ..." and exit code 2
    corpus = load_corpus(args.data)
print(describe_device())
model.compile(optimizer, loss)
checkpoint = EpochCheckpoint(output / "checkpoints")
initial_epoch = checkpoint.restore(model) if args.resume else checkpoint.clear()
model.fit(..., initial_epoch=initial_epoch,
          callbacks=make_callbacks(output, checkpoint, patience=3))
```
"""

import contextlib
import json
import math
import os
import pathlib
import re
import sys
import time

import keras
import numpy as np
from keras import ops

from attention_layers.utils.checks import SizeLimitError
from attention_layers.utils.files import atomic_path, remove_partials

# --- device and numerics ------------------------------------------------------------------


def gpu_names():
    """The names of the GPUs the current Keras backend can use (empty on a CPU machine)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in tf.config.list_physical_devices("GPU")
        ]
    if backend == "jax":
        import jax

        return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def describe_device():
    """One line saying what training runs on: the GPU(s) if any, else the CPU cores.

    Keras places work on the first GPU by itself when one is visible, so this only
    reports; it is printed so that a slow run on a CPU is not a surprise.

    Example:

    >>> describe_device()
    'Training on CPU (2 cores; no GPU found), Keras 3.15.0 with the tensorflow backend'
    """
    gpus = gpu_names()
    if gpus:
        where = f"GPU ({', '.join(gpus)})"
    else:
        where = f"CPU ({os.cpu_count()} cores; no GPU found)"
    return f"Training on {where}, Keras {keras.__version__} with the {keras.backend.backend()} backend"


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The Transformer's learning rate: linear warm-up, then inverse square-root decay.

    Vaswani et al. 2017, §5.3:
    `lrate = scale * d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)`,
    with `step` counted from 1. The peak, at `step = warmup_steps`, is
    `scale / sqrt(d_model * warmup_steps)`. Use it with
    `keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)`.

    Args:
        model_dim: `d_model`.
        warmup_steps: optimizer steps of linear warm-up (the paper: 4000).
        scale: multiplies the whole schedule (the paper: 1.0); short runs on small
            models train faster with a larger one.

    Example:

    >>> schedule = TransformerSchedule(128, warmup_steps=1000)
    >>> round(float(schedule(999)), 6)  # the peak: 1 / sqrt(128 * 1000)
    0.002795
    """

    def __init__(self, model_dim, warmup_steps=4000, scale=1.0):
        if model_dim < 1 or warmup_steps < 1 or scale <= 0:
            raise ValueError(
                "`model_dim` and `warmup_steps` must be positive and `scale` above 0; "
                f"received {model_dim}, {warmup_steps}, {scale}."
            )
        self.model_dim = model_dim
        self.warmup_steps = warmup_steps
        self.scale = scale

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0  # optimizer iterations count from 0
        decay = ops.rsqrt(step)
        warmup = step * (self.warmup_steps**-1.5)
        return self.scale * (self.model_dim**-0.5) * ops.minimum(decay, warmup)

    def get_config(self):
        return {
            "model_dim": self.model_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }


# --- checkpoints and resuming -------------------------------------------------------------

_CHECKPOINT_NAME = re.compile(r"^epoch_(\d+)\.weights\.h5$")
# A validation loss this many times the best one so far (and worse than the untrained
# model's) means that training diverged; overfitting does not multiply the loss by 100.
BLOW_UP = 100
_LOSS_NAMES = {"loss": "training loss", "val_loss": "validation loss"}


class TrainingDiverged(RuntimeError):
    """Training diverged (`EpochCheckpoint.diverged`); the commands end with exit code 1."""


def write_atomically(path, write):
    """Calls `write(temporary_path)`, then renames the file to `path` (`atomic_path`).

    A rename within a folder is atomic, so a process killed at any moment (`kill -9`)
    leaves either the old file or the new one, never half of one. The temporary name keeps
    `path`'s ending (Keras insists on `.keras` and `.weights.h5`); `remove_partials`
    deletes those that a killed process left.

    Args:
        path: the file to write.
        write: `callable(temporary_path)` that writes the whole file.
    """
    with atomic_path(path) as temporary:
        write(temporary)


class SaveError(RuntimeError):
    """A file could not be written (disk full, no permission, a read-only folder).

    The commands end with one line that names the file and what the run kept, and exit
    code 2 (the user fixes the disk or the folder, then `--resume` goes on).

    Attributes:
        path: the file (or folder) that was being written.
        reason: why, in words (e.g. `"No space left on device"`).
    """

    def __init__(self, path, reason):
        super().__init__(f"could not write {path}: {reason}")
        self.path = pathlib.Path(path)
        self.reason = reason


@contextlib.contextmanager
def saving(path):
    """Turns a failed write of `path` (an `OSError`, or TensorFlow's own error while it
    writes a SavedModel) into a `SaveError` that names `path`."""
    try:
        yield
    except OSError as error:
        reason = f"{error.strerror} (errno {error.errno})" if error.strerror else str(error)
        raise SaveError(path, reason) from error
    except Exception as error:
        tensorflow = sys.modules.get("tensorflow")
        if tensorflow is None or not isinstance(error, tensorflow.errors.OpError):
            raise
        raise SaveError(path, (error.message or type(error).__name__).splitlines()[0]) from error


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the weights and the optimizer state after every epoch, so a run can resume.

    Works like `keras.callbacks.BackupAndRestore`, but survives a `kill -9` at any
    moment: every file is written under a temporary name and renamed, and a small
    `state.json` (written last) names the last complete epoch. The folder keeps two
    checkpoints, the last epoch's and the best one's by `monitor` (for
    `ResumableEarlyStopping`):

    - `epoch_NNNN.weights.h5`: model weights and optimizer variables (its step count,
      moments, loss scale), `NNNN` = epochs completed;
    - `state.json`: `{"epoch", "best_epoch", "best", "finished", "training_seconds",
      "initial_loss"}` (wall-clock seconds of `fit` up to this checkpoint, over every
      resumed run; the untrained model's loss, its first batch's), and `"run_id"` when one
      is given.

    It never saves a diverged epoch: `fit` raises `TrainingDiverged` at once (before the
    callbacks after this one see the epoch) on a training loss that is not finite (NaN or
    inf), and at the end of an epoch on a loss or `monitor` that is not finite, weights
    that are not, or a `monitor` that blew up (above `BLOW_UP` times the best so far and
    above the untrained model's loss; in the first epoch, above `BLOW_UP` times the
    untrained model's loss). `state.json` keeps the last good epoch, and `diverged` says
    what happened.

    `restore(model)` loads the last checkpoint and returns the epoch to pass to
    `fit(initial_epoch=...)`, so training continues with the next epoch, with the
    optimizer (and a learning-rate schedule that reads its step count) where it was.

    Args:
        directory: the checkpoint folder (created when needed). Use one per run.
        monitor: the quantity that decides the best epoch, minimized.
        min_delta: the least decrease of `monitor` that counts as an improvement.
        run_id: optional identifier of the run (the training commands write one to
            `config.json`): recorded in `state.json`, and `restore` refuses a checkpoint
            that another run wrote.

    Attributes:
        diverged: `None`, or after a `fit` that diverged, what happened in words (e.g.
            `"the training loss is nan in epoch 3, step 12"`), the message of its
            `TrainingDiverged`.

    Example:

    >>> checkpoint = EpochCheckpoint("runs/demo/checkpoints")
    >>> initial_epoch = checkpoint.restore(model)   # 0 when there is nothing to resume
    >>> model.fit(train, epochs=10, initial_epoch=initial_epoch, callbacks=[checkpoint])
    """

    def __init__(self, directory, monitor="val_loss", min_delta=0.0, run_id=None):
        super().__init__()
        self.directory = pathlib.Path(directory)
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.run_id = run_id
        self._started = None
        self.diverged = None
        self._epoch = 0
        self._initial_loss = None

    # The state on disk.

    @property
    def state_path(self):
        return self.directory / "state.json"

    @property
    def state(self):
        """The saved state (a dict), or `None` when no epoch has been completed.

        Raises:
            UsageError: `state.json` is damaged: not JSON, or not the record written here.
        """
        self._check_regular(self.state_path)
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as error:  # not JSON, not UTF-8, not a file
            raise UsageError(self._damaged(self.state_path, f"not JSON: {error}")) from error
        problem = _state_problem(state)
        if problem:
            raise UsageError(self._damaged(self.state_path, problem))
        return state

    def _check_regular(self, path):
        """Refuses a `path` that exists but is no regular file: reading a pipe with no
        writer would wait forever."""
        if path.exists() and not path.is_file():
            raise UsageError(self._damaged(
                path, "not a regular file: a pipe, a device, a socket or a folder"))

    def _damaged(self, path, problem):
        """The message of a damaged checkpoint file `path`."""
        return (f"{path} is damaged ({problem}); start the run again without --resume "
                f"(which clears {self.directory}), or in another --output.")

    def path(self, epoch):
        """The weights file of the checkpoint after `epoch` completed epochs."""
        return self.directory / f"epoch_{epoch:04d}.weights.h5"

    def clear(self):
        """Deletes every checkpoint (for a fresh run in a used folder); returns 0."""
        if self.directory.is_dir():
            remove_partials(self.directory)
            for path in self.directory.iterdir():
                if _CHECKPOINT_NAME.match(path.name) or path.name == "state.json":
                    path.unlink()
        return 0

    # Restoring.

    def _load(self, model, epoch):
        if model.optimizer is not None and not model.optimizer.built:
            # The file holds optimizer variables: they must exist to be loaded into.
            model.optimizer.build(model.trainable_variables)
        self._check_regular(self.path(epoch))
        try:
            model.load_weights(self.path(epoch))
        except OSError as error:  # h5py: random bytes, a file cut short
            if isinstance(error, FileNotFoundError):
                raise
            raise UsageError(
                self._damaged(self.path(epoch), str(error).splitlines()[0])
            ) from error
        except ValueError as error:
            # Keras says "A total of N objects could not be loaded": name the real cause.
            raise UsageError(
                f"the checkpoint {self.path(epoch)} does not fit this model (another model "
                f"type or size wrote it): {str(error).splitlines()[0]}"
            ) from error

    def restore(self, model):
        """Loads the last checkpoint into a built, compiled `model`.

        Returns:
            The number of completed epochs (0 when there is no checkpoint), to pass as
            `fit(initial_epoch=...)`.

        Raises:
            UsageError: the checkpoint was written by another run (`run_id`) or does not
                fit `model`.
        """
        remove_partials(self.directory)
        state = self.state
        if not state:
            return 0
        saved_run = state.get("run_id")
        if self.run_id is not None and saved_run is not None and saved_run != self.run_id:
            raise UsageError(
                f"the checkpoints in {self.directory} belong to another run than the "
                f"config.json beside them ({saved_run} != {self.run_id}); start a new run "
                "without --resume, or in another --output."
            )
        self._load(model, state["epoch"])
        return state["epoch"]

    def best_weights(self, model):
        """The model weights (`get_weights()` list) of the best epoch, or `None`.

        Leaves `model` in its last checkpoint's state.
        """
        state = self.state
        if not state or state["best_epoch"] is None:
            return None
        if state["best_epoch"] != state["epoch"]:
            self._load(model, state["best_epoch"])
            weights = model.get_weights()
            self._load(model, state["epoch"])
            return weights
        self._load(model, state["epoch"])
        return model.get_weights()

    @property
    def training_seconds(self):
        """Seconds of training that the saved checkpoints hold (0 without any)."""
        return (self.state or {}).get("training_seconds", 0.0)

    # Saving.

    def on_train_begin(self, logs=None):
        state = self.state or {}
        self._started = time.perf_counter() - state.get("training_seconds", 0.0)
        self._initial_loss = state.get("initial_loss")
        self.diverged = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1  # as Keras prints it

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if not math.isfinite(loss):
            self._diverge(f"the training loss is {loss} in epoch {self._epoch}, step {batch + 1}")
        elif self._initial_loss is None and self._epoch == 1 and batch == 0:
            self._initial_loss = float(loss)  # the untrained model's (before its first update)

    def on_epoch_end(self, epoch, logs=None):
        epoch += 1  # completed epochs
        previous = self.state or {"best": None, "best_epoch": None}
        problem = self._divergence(epoch, logs or {}, previous["best"])
        if problem:
            self._diverge(problem)  # the last good checkpoint stays the last one
        current = (logs or {}).get(self.monitor)
        best, best_epoch = previous["best"], previous["best_epoch"]
        if current is not None and (best is None or current < best - self.min_delta):
            best, best_epoch = float(current), epoch
        with saving(self.path(epoch)):
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(
                self.path(epoch), lambda path: self.model.save_weights(path, overwrite=True)
            )
        state = {
            "epoch": epoch, "best_epoch": best_epoch, "best": best, "finished": False,
            "training_seconds": round(
                previous.get("training_seconds", 0.0) if self._started is None
                else time.perf_counter() - self._started, 3
            ),
        }
        if self._initial_loss is not None:
            state["initial_loss"] = self._initial_loss
        self._write_state(state if self.run_id is None else {**state, "run_id": self.run_id})
        keep = {self.path(epoch).name, self.path(best_epoch).name if best_epoch else None}
        for path in self.directory.iterdir():
            if _CHECKPOINT_NAME.match(path.name) and path.name not in keep:
                path.unlink()

    def on_train_end(self, logs=None):
        state = self.state
        if state and self.model.stop_training:
            # Stopped early: a resumed run should not train on.
            self._write_state({**state, "finished": True})

    def _divergence(self, epoch, logs, best):
        """What shows that epoch `epoch` diverged (a sentence), or `None`."""
        for name in ("loss", self.monitor):
            value = logs.get(name)
            if value is not None and not math.isfinite(value):
                return f"the {_LOSS_NAMES.get(name, name)} is {value} after epoch {epoch}"
        current = logs.get(self.monitor)
        limits = [BLOW_UP * value for value in (best,) if value is not None]
        if self._initial_loss is not None:
            # Worse than the untrained model; in the first epoch, BLOW_UP times worse.
            limits.append(self._initial_loss * (BLOW_UP if best is None else 1))
        if current is not None and limits and current > max(limits):
            reference = (f"{BLOW_UP} times the best so far ({best:.4g})" if best is not None
                         else f"{BLOW_UP} times the untrained model's ({self._initial_loss:.4g})")
            return (f"the {_LOSS_NAMES.get(self.monitor, self.monitor)} blew up to "
                    f"{current:.4g} after epoch {epoch}, above {reference}")
        if not all(np.isfinite(weights).all() for weights in self.model.get_weights()):
            return f"the model's weights are not finite after epoch {epoch}"
        return None

    def _diverge(self, problem):
        self.diverged = problem
        self.model.stop_training = True
        raise TrainingDiverged(problem)

    def _write_state(self, state):
        # `allow_nan=False`: a NaN never becomes a run's record (it would compare as best).
        with saving(self.state_path):
            write_atomically(
                self.state_path, lambda path: path.write_text(json.dumps(state, allow_nan=False))
            )


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


# --- command-line errors ------------------------------------------------------------------


class UsageError(ValueError):
    """A problem with a command's flags or data that its user can fix; exit code 2."""


def _state_problem(state):
    """What is wrong with a `state.json` record (a few words), or `None`."""

    def count(value):
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if not isinstance(state, dict):
        return f"a JSON {type(state).__name__}, not an object"
    if not count(state.get("epoch")):
        return f'"epoch" is {state.get("epoch")!r}, not a count of epochs'
    best_epoch = state.get("best_epoch")
    if best_epoch is not None and not (count(best_epoch) and best_epoch <= state["epoch"]):
        return f'"best_epoch" is {best_epoch!r}, not an epoch up to {state["epoch"]}'
    best = state.get("best")
    if best is not None and (isinstance(best, bool) or not isinstance(best, int | float)):
        return f'"best" is {best!r}, not a number'
    return None


@contextlib.contextmanager
def command_line_errors(parser, *errors):
    """Turns expected errors into `parser.error(message)`: usage, message, exit code 2.

    Wrap the code that reads the user's flags and files, so that a wrong path or a
    malformed file ends with one clear line instead of a traceback. `UsageError`,
    `SizeLimitError` (flags that ask for a model above the size limits), `FileNotFoundError`,
    `IsADirectoryError`, `PermissionError` and `UnicodeDecodeError` are always caught, plus
    the given `errors` (e.g. `CorpusFormatError`).

    Args:
        parser: the `argparse.ArgumentParser` of the command.
        *errors: more exception classes to report this way.

    Example:

    >>> with command_line_errors(parser, CorpusFormatError):
    ...     corpus = load_spa_eng(args.data, strict=True)
    """
    caught = (
        UsageError,
        SizeLimitError,
        FileNotFoundError,
        IsADirectoryError,
        PermissionError,
        UnicodeDecodeError,
        *errors,
    )
    try:
        yield
    except caught as error:
        message = str(error)
        if isinstance(error, OSError) and error.filename and str(error.filename) not in message:
            message = f"{error.filename}: {message}"
        parser.error(message)


# The largest count a flag takes: TensorFlow sizes and shapes are int32 (a --batch-size of
# 10**23 overflowed inside tf.data); a flag whose size is allocated has its own limit too.
MAX_FLAG_INT = 2**31 - 1
# `keras.utils.set_random_seed` takes what NumPy does.
MAX_SEED = 2**32 - 1


def _int_in_range(text, minimum, maximum):
    value = int(text)
    if value < minimum:
        raise ValueError(text)
    if value > maximum:
        import argparse

        raise argparse.ArgumentTypeError(f"{text} is more than {maximum:,}, the largest allowed")
    return value


def positive_int(text):
    """`argparse` type: an int from 1 to `MAX_FLAG_INT`."""
    return _int_in_range(text, 1, MAX_FLAG_INT)


def non_negative_int(text):
    """`argparse` type: an int from 0 to `MAX_FLAG_INT`."""
    return _int_in_range(text, 0, MAX_FLAG_INT)


def seed_int(text):
    """`argparse` type: a random seed, an int from 0 to `MAX_SEED` (NumPy's range)."""
    return _int_in_range(text, 0, MAX_SEED)


def positive_float(text):
    """`argparse` type: a float > 0."""
    value = float(text)
    if not value > 0 or not np.isfinite(value):
        raise ValueError(text)
    return value


def unit_interval(text):
    """`argparse` type: a float in [0, 1)."""
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


def closed_unit_interval(text):
    """`argparse` type: a float in [0, 1]."""
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


# argparse prints "invalid <name> value" using the function's name.
positive_int.__name__ = "positive int"
non_negative_int.__name__ = "int >= 0"
seed_int.__name__ = "seed (int >= 0)"
positive_float.__name__ = "positive float"
unit_interval.__name__ = "fraction in [0, 1)"
closed_unit_interval.__name__ = "fraction in [0, 1]"
