"""`EpochCheckpoint`: every epoch's weights and optimizer state, written whole or not at all,
never a diverged epoch's; what `--resume` restores."""

import json
import math
import pathlib
import re
import time

import keras
import numpy as np

from attention_layers.training.flags import UsageError
from attention_layers.utils.files import remove_partials, saving, write_atomically

_CHECKPOINT_NAME = re.compile(r"^epoch_(\d+)\.weights\.h5$")
# A validation loss this many times the best one so far (and worse than the untrained
# model's) means that training diverged; overfitting does not multiply the loss by 100.
BLOW_UP = 100
_LOSS_NAMES = {"loss": "training loss", "val_loss": "validation loss"}


class TrainingDiverged(RuntimeError):
    """Training diverged (`EpochCheckpoint.diverged`); the commands end with exit code 1."""



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

    def start(self, model, resume, epochs):
        """`(initial_epoch, finished)`: with `resume`, the last checkpoint loaded into
        `model` (`restore`); else a clean start (`clear`). `finished` when the resumed run
        has nothing left to train (it finished, or reached `epochs`): `model` then holds
        its best epoch's weights (`best_weights`)."""
        if not resume:
            return self.clear(), False
        initial_epoch = self.restore(model)
        if not ((self.state or {}).get("finished") or initial_epoch >= epochs):
            return initial_epoch, False
        best = self.best_weights(model)
        if best is not None:
            model.set_weights(best)
        return initial_epoch, True

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
