"""Nothing lost (issue 29): a diverging run, two runs on one folder, a failing disk, Ctrl-C.

A run that goes wrong ends with one line that says what was kept and what to do, and never
replaces a good file with a worse one.
"""

import contextlib
import errno
import fcntl
import json
import math
import os
import pathlib
import shutil
import sys

import keras
import numpy as np
import pytest

import train_classifier
import train_translator
from attention_layers.training import checkpoints, runner, saving
from attention_layers.training.checkpoints import BLOW_UP, EpochCheckpoint, TrainingDiverged
from tests.helpers import OneDense
from tests.helpers import run_in_process as run

TINY = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "12", "--epochs", "1",
    "--no-attention-plots", "--no-export",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished tiny Transformer run of 2 epochs: its folder (copy it before changing it)."""
    output = tmp_path_factory.mktemp("safety") / "run"
    train_translator.main([*TINY, "--epochs", "2", "--output", str(output)])
    return output


def copy_of(run_folder, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_folder, copy)
    return copy


def file_bytes(folder):
    """`{relative path: bytes}` of every file under `folder`."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def assert_one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    assert len(lines) == 1 and ": error: " in lines[0], err[-3000:]
    return lines[0]


# --- a diverging run ----------------------------------------------------------------------


def checkpoint_with_model(tmp_path):
    model = OneDense()
    model.compile(optimizer="adam", loss="mse")
    model(np.ones((1, 2), "float32"))
    checkpoint = EpochCheckpoint(tmp_path / "checkpoints")
    checkpoint.set_model(model)
    return checkpoint, model


def run_epochs(checkpoint, epochs, first_loss=2.0):
    """Plays `fit`'s calls for epochs of `{"loss", "val_loss"}` logs, the first batch's
    loss being `first_loss` (the untrained model's)."""
    checkpoint.on_train_begin()
    try:
        for epoch, logs in enumerate(epochs):
            checkpoint.on_epoch_begin(epoch)
            if epoch == 0:
                checkpoint.on_train_batch_end(0, {"loss": first_loss})
            checkpoint.on_epoch_end(epoch, logs)
    except TrainingDiverged as error:
        assert str(error) == checkpoint.diverged
        return
    checkpoint.on_train_end()


@pytest.mark.parametrize(
    ("second_epoch", "problem"),
    [
        ({"loss": 0.4, "val_loss": float("nan")}, "the validation loss is nan after epoch 2"),
        ({"loss": float("inf"), "val_loss": 0.3}, "the training loss is inf after epoch 2"),
        # 100 times the best (0.5) and above the untrained model's loss (2.0).
        ({"loss": 0.4, "val_loss": 60.0}, "the validation loss blew up to 60 after epoch 2, "
                                          "above 100 times the best so far (0.5)"),
    ],
    ids=["nan-validation-loss", "inf-training-loss", "blow-up"],
)
def test_a_diverged_epoch_is_not_saved_and_stops_training(second_epoch, problem, tmp_path):
    checkpoint, model = checkpoint_with_model(tmp_path)
    run_epochs(checkpoint, [{"loss": 0.6, "val_loss": 0.5}, second_epoch])
    assert checkpoint.diverged == problem
    assert model.stop_training
    state = json.loads(checkpoint.state_path.read_text())  # strict JSON: no NaN
    assert state["epoch"] == 1 and state["best"] == 0.5 and state["best_epoch"] == 1
    assert state["initial_loss"] == 2.0 and state["finished"] is False
    assert sorted(p.name for p in checkpoint.directory.iterdir()) == [
        "epoch_0001.weights.h5", "state.json"
    ]


def test_a_validation_loss_up_100_times_but_still_better_than_untrained_is_overfitting(
    tmp_path,
):
    """A near-perfect model (best 0.001) that overfits to 0.5 has not diverged: the
    untrained model's loss (2.0) is the floor of a blow-up."""
    assert BLOW_UP == 100
    checkpoint, model = checkpoint_with_model(tmp_path)
    run_epochs(checkpoint, [{"loss": 0.01, "val_loss": 0.001}, {"loss": 0.01, "val_loss": 0.5}])
    assert checkpoint.diverged is None and not model.stop_training
    assert json.loads(checkpoint.state_path.read_text())["epoch"] == 2


def test_a_first_epoch_100_times_worse_than_the_untrained_model_diverged(tmp_path):
    checkpoint, _ = checkpoint_with_model(tmp_path)
    run_epochs(checkpoint, [{"loss": 394_280.0, "val_loss": 394_280.0}])
    assert checkpoint.diverged == (
        "the validation loss blew up to 3.943e+05 after epoch 1, above 100 times the "
        "untrained model's (2)"
    )
    assert checkpoint.state is None


def test_weights_that_are_not_finite_are_not_saved(tmp_path):
    checkpoint, model = checkpoint_with_model(tmp_path)
    run_epochs(checkpoint, [{"loss": 0.6, "val_loss": 0.5}])
    kernel = model.dense.kernel
    kernel.assign(np.full(kernel.shape, np.inf, "float32"))
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(1)
    with pytest.raises(TrainingDiverged):
        checkpoint.on_epoch_end(1, {"loss": 0.4, "val_loss": 0.45})
    assert checkpoint.diverged == "the model's weights are not finite after epoch 2"
    assert checkpoint.state["epoch"] == 1


def test_a_nan_training_loss_stops_fit_in_the_step_it_appears(tmp_path):
    checkpoint, model = checkpoint_with_model(tmp_path)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(0)
    checkpoint.on_train_batch_end(0, {"loss": 1.0})
    with pytest.raises(TrainingDiverged):
        checkpoint.on_train_batch_end(1, {"loss": math.nan})
    assert model.stop_training
    assert checkpoint.diverged == "the training loss is nan in epoch 1, step 2"


@pytest.mark.slow
def test_a_diverging_fresh_run_ends_with_exit_code_1_and_writes_no_model(tmp_path, capsys):
    output = tmp_path / "run"
    code, _, err = run(
        train_translator, [*TINY, "--epochs", "2", "--learning-rate", "1e30", "--output", output],
        capsys,
    )
    assert code == 1
    line = assert_one_error_line(err)
    assert "training diverged: the training loss is nan in epoch 1" in line
    assert "no epoch finished, so no checkpoint was written" in line
    assert "Train again with a lower --learning-rate (this run's: 1e+30)" in line
    assert not (output / "translator.keras").exists()
    assert not (output / "results.json").exists()
    assert not (output / "checkpoints" / "state.json").exists()


@pytest.mark.slow
def test_a_diverging_resumed_run_leaves_the_finished_run_as_it_was(finished_run, tmp_path,
                                                                   capsys):
    """The issue's case: a good finished run, then a run in its folder that diverges."""
    folder = copy_of(finished_run, tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "learning_rate": 1e30}))
    before = {name: data for name, data in file_bytes(folder).items()
              if name.startswith(("checkpoints/", "translator.keras", "results.json"))}
    assert "translator.keras" in before and "checkpoints/state.json" in before

    code, _, err = run(train_translator, ["--resume", "--epochs", "3", "--output", folder],
                       capsys)
    assert code == 1
    line = assert_one_error_line(err)
    assert "training diverged: the training loss is nan in epoch 3" in line
    state = json.loads(before["checkpoints/state.json"])
    assert (f"the checkpoint of epoch 2 in {folder / 'checkpoints'} is kept (best: epoch "
            f"{state['best_epoch']}, validation loss {state['best']:.4g})") in line
    after = file_bytes(folder)
    assert {name: after.get(name) for name in before} == before


# --- one run per folder -------------------------------------------------------------------


@contextlib.contextmanager
def lock_held_by(folder, pid):
    """Holds `folder/.lock` in this process, as a running run with process id `pid` would."""
    with open(folder / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.truncate(0)
        handle.write(f"{pid}\n")
        handle.flush()
        yield


def without_lock(files):
    return {name: data for name, data in files.items() if name != ".lock"}


@pytest.mark.parametrize("flags", [["--resume"], [*TINY, "--overwrite"]], ids=["resume", "fresh"])
def test_a_second_run_on_a_folder_in_use_is_refused_and_touches_nothing(
    flags, finished_run, tmp_path, capsys
):
    folder = copy_of(finished_run, tmp_path)
    before = without_lock(file_bytes(folder))
    with lock_held_by(folder, 4242):
        code, _, err = run(train_translator, [*flags, "--output", folder], capsys)
    assert code == 2
    assert (f"--output {folder} is in use by another run (process 4242); wait for it to "
            "end, or give another --output.") in err
    assert without_lock(file_bytes(folder)) == before


# --- runs that do not mix -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "flags", "folder"),
    [
        (train_translator, [], "runs/translator-builtin"),
        (train_translator, ["--dataset", "spa-eng"], "runs/translator-spa-eng"),
        (train_classifier, [], "runs/classifier-builtin"),
        (train_classifier, ["--dataset", "sst2"], "runs/classifier-sst2"),
    ],
)
def test_each_dataset_has_its_own_default_folder(command, flags, folder, tmp_path,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    used = []
    monkeypatch.setattr(runner, "train_and_save", lambda *args: used.append(args[-1]))
    command.main(flags)
    assert used == [pathlib.Path(folder)]


def test_a_fresh_run_into_a_folder_that_holds_a_run_is_refused(finished_run, tmp_path,
                                                               capsys):
    folder = copy_of(finished_run, tmp_path)
    before = file_bytes(folder)
    code, _, err = run(train_translator, [*TINY, "--output", folder], capsys)
    assert code == 2
    assert (f"--output {folder} already holds a run (checkpoints/, config.json, logs/, "
            "results.json and 4 more); continue it with --resume, replace it with "
            "--overwrite (removes that run's files, no others), or give another --output."
            ) in err
    assert without_lock(file_bytes(folder)) == without_lock(before)


@pytest.mark.slow
def test_overwrite_replaces_the_previous_run_and_keeps_the_users_files(finished_run, tmp_path,
                                                                       capsys):
    folder = copy_of(finished_run, tmp_path)
    old_run_id = json.loads((folder / "config.json").read_text())["run_id"]
    (folder / "notes.txt").write_text("mine")
    (folder / "attention").mkdir()
    (folder / "attention" / "epoch_005.png").write_bytes(b"an old plot")
    (folder / "member_3" / "checkpoints").mkdir(parents=True)
    (folder / "serving" / "1").mkdir(parents=True)
    (folder / ".lock").write_text("999999\n")  # left by a run that died: no lock held
    code, _, err = run(train_translator, [*TINY, "--overwrite", "--output", folder], capsys)
    assert code == 0, err
    assert (folder / "notes.txt").read_text() == "mine"
    assert not (folder / "attention").exists() and not (folder / "serving").exists()
    assert not (folder / "member_3").exists()
    assert sorted(path.name for path in (folder / "checkpoints").iterdir()) == [
        "epoch_0001.weights.h5", "state.json"
    ]
    assert json.loads((folder / "config.json").read_text())["run_id"] != old_run_id
    assert len((folder / "training_log.csv").read_text().splitlines()) == 2  # header, epoch 1


# --- a file that cannot be written --------------------------------------------------------


def failing(number):
    def write(*args, **kwargs):
        raise OSError(number, os.strerror(number))

    return write


@pytest.mark.slow
@pytest.mark.parametrize(
    ("writer", "number", "path"),
    [
        ("model", errno.ENOSPC, "translator.keras"),
        ("export", errno.EACCES, "serving"),
        ("results", errno.EROFS, "results.json"),
    ],
)
def test_a_failed_save_names_the_file_and_says_what_was_kept(
    writer, number, path, finished_run, tmp_path, capsys, monkeypatch
):
    folder = copy_of(finished_run, tmp_path)
    before = file_bytes(folder)
    if writer == "model":
        monkeypatch.setattr(keras.Model, "save", failing(number))
    elif writer == "export":
        monkeypatch.setattr(saving, "export_version", failing(number))
    else:
        monkeypatch.setattr(saving, "atomic_write_text", failing(number))
    argv = ["--resume", "--output", folder] + ([] if writer == "export" else ["--no-export"])
    code, _, err = run(train_translator, argv, capsys)
    assert code == 2
    line = assert_one_error_line(err)
    assert (f"could not write {folder / path}: {os.strerror(number)} (errno {number}); kept "
            f"the checkpoints of the finished training (epoch 2) in {folder / 'checkpoints'}; "
            f"--resume --output {folder} evaluates and saves without training again (after "
            "making room or fixing the folder's permissions).") in line
    after = file_bytes(folder)
    for name in ("results.json", *(name for name in before if name.startswith("checkpoints/"))):
        assert after[name] == before[name], name
    if writer == "model":
        assert after["translator.keras"] == before["translator.keras"]
        monkeypatch.undo()
        code, out, err = run(train_translator, ["--resume", "--no-export", "--output", folder],
                             capsys)
        assert code == 0, err
        assert "Training already finished after epoch 2; evaluating." in out
        assert f"Saved {folder / 'translator.keras'}" in out


@pytest.mark.slow
def test_a_checkpoint_that_cannot_be_written_ends_the_run_with_one_line(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(checkpoints, "write_atomically", failing(errno.ENOSPC))
    output = tmp_path / "run"
    code, _, err = run(train_translator, [*TINY, "--output", output], capsys)
    assert code == 2
    line = assert_one_error_line(err)
    assert (f"could not write {output / 'checkpoints' / 'epoch_0001.weights.h5'}: No space "
            f"left on device (errno {errno.ENOSPC}); no epoch had finished, no checkpoint to "
            f"keep; --resume --output {output} trains from the start") in line


# --- Ctrl-C -------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_in_training_says_what_was_kept_and_how_to_go_on(tmp_path, capsys,
                                                                monkeypatch):
    checkpoint_epoch = checkpoints.EpochCheckpoint.on_epoch_end

    def interrupted_after_the_first_epoch(self, epoch, logs=None):
        checkpoint_epoch(self, epoch, logs)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.EpochCheckpoint, "on_epoch_end", interrupted_after_the_first_epoch)
    output = tmp_path / "run"
    code, _, err = run(train_translator, [*TINY, "--epochs", "3", "--output", output], capsys)
    assert code == 130
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [
        f"{pathlib.Path(sys.argv[0]).name}: interrupted (Ctrl-C): kept the checkpoint of the "
        f"last finished epoch (1) in {output / 'checkpoints'}; --resume --output {output} "
        "continues with epoch 2."
    ]


@pytest.mark.slow
def test_ctrl_c_while_saving_keeps_the_previous_files(finished_run, tmp_path, capsys,
                                                      monkeypatch):
    folder = copy_of(finished_run, tmp_path)
    before = without_lock(file_bytes(folder))

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(saving, "atomic_write_text", interrupted)  # results.json, last
    code, _, err = run(train_translator, ["--resume", "--no-export", "--output", folder], capsys)
    assert code == 130
    assert err.strip().endswith(
        f"interrupted (Ctrl-C): kept the checkpoints of the finished training (epoch 2) in "
        f"{folder / 'checkpoints'}; --resume --output {folder} evaluates and saves without "
        "training again."
    )
    after = without_lock(file_bytes(folder))
    assert after["results.json"] == before["results.json"]
    assert not [name for name in after if ".partial-" in name]


def test_a_download_with_the_wrong_checksum_is_one_line(tmp_path, capsys, monkeypatch):
    """A spa-eng download that is not the expected file (a proxy's error page) ends in
    the loader's message and exit code 2, as the classifier's SST-2 download does."""
    from attention_layers.data import ChecksumError
    from attention_layers.training.tasks import translation

    def wrong_file(*args, **kwargs):
        raise ChecksumError("spa-eng.zip: spa-eng/spa.txt has SHA-256 0000, expected 1111")

    monkeypatch.setattr(translation, "load_spa_eng", wrong_file)
    code, _, err = run(train_translator, ["--dataset", "spa-eng", "--output", tmp_path / "run"],
                       capsys)
    assert code == 2
    assert "expected 1111" in err.strip().splitlines()[-1]
    assert "Traceback" not in err
