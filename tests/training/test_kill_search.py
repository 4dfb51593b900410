"""A kill test that searches (issue 16): a tiny `train_translator.py` run is killed with
SIGKILL at points spread over the whole run (during an epoch, while a checkpoint, the
`.keras` file and the export are written), resumed after each, and must finish with a
model and an export that load and serve, having lost no epoch beyond the one in progress.
Each resumed run goes on with the next epoch, its optimizer's step count restored, and
counts the training time before the kill."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import keras
import pytest
import tensorflow as tf

import attention_layers.models  # noqa: F401  (registers the classes for loading)
import attention_layers.training  # noqa: F401
from attention_layers.export import KEEP_VERSIONS, export_versions
from tests.helpers import ROOT

EPOCHS = 3
# Each of the five processes traces its step functions anew, one per batch shape: short
# sentences (--max-length 8) fall in at most 4 length buckets (6 at --max-length 12).
TINY = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "8",
    "--epochs", str(EPOCHS), "--patience", "0", "--no-attention-plots",
]


def _partial(folder, ending):
    return folder.is_dir() and any(
        name.startswith(".partial-") and name.endswith(ending) for name in os.listdir(folder)
    )


def _run_until(arguments, trigger, timeout=1200):
    """Starts the command; SIGKILLs it when `trigger(stdout_lines)` holds. Returns
    `(stdout, killed)`; `killed` is False when the run ended first."""
    process = subprocess.Popen(
        [sys.executable, "train_translator.py", *arguments], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        # Unbuffered: what the run printed before the kill is read, not lost with it.
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"},
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    killed = False
    while process.poll() is None and time.monotonic() < deadline:
        if trigger(lines):
            process.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.001)
    process.wait(timeout=60)
    reader.join(timeout=10)
    if killed:  # the signal, not a clean exit or a crash, ended the run
        assert process.returncode == -signal.SIGKILL, process.returncode
    return "".join(lines), killed


def _completed_epochs(output):
    path = output / "checkpoints" / "state.json"
    return json.loads(path.read_text())["epoch"] if path.exists() else 0


def _check_resumed(stdout, before, where, steps_per_epoch):
    """A resumed run went on after the last completed epoch (none lost, none repeated)
    with the optimizer's state restored; returns the steps per epoch it showed."""
    resumed = re.search(r"Resuming after epoch (\d+) \(optimizer step (\d+)\)", stdout)
    assert resumed and int(resumed[1]) == before, (where, stdout[-2000:])
    epoch, step = int(resumed[1]), int(resumed[2])
    # The optimizer's step count is a whole number of epochs, the same number each time.
    assert step > 0 and step % epoch == 0, (where, step, epoch)
    assert steps_per_epoch in (None, step // epoch), (where, step, epoch, steps_per_epoch)
    # Keras numbers epochs from 1: training went on with the next one, not the first.
    if epoch < EPOCHS:
        assert f"Epoch {epoch + 1}/{EPOCHS}" in stdout, (where, stdout[-2000:])
    assert f"Epoch {epoch}/{EPOCHS}" not in stdout, (where, stdout[-2000:])
    # The time reported counts the epochs before the kill too.
    took = re.search(r"Training took (\d+) s \((\d+) s in all, with the (\d+) epoch\(s\) "
                     r"before --resume\)", stdout)
    if "Training took" in stdout:
        assert took and int(took[3]) == epoch and int(took[2]) >= int(took[1]), stdout
    return step // epoch


@pytest.mark.slow
def test_killed_anywhere_the_run_resumes_and_ends_with_a_model_and_an_export(tmp_path):
    output = tmp_path / "run"
    triggers = {
        "during epoch 2": lambda lines: any(line.startswith("Epoch 2/") for line in lines),
        "writing a checkpoint": lambda _: _partial(output / "checkpoints", ".weights.h5"),
        "writing translator.keras": lambda _: _partial(output, "translator.keras"),
        "writing the export": lambda _: _partial(output / "serving", ""),
    }
    arguments = [*TINY, "--output", str(output)]
    kills = []
    steps_per_epoch = None
    for index, (where, trigger) in enumerate(triggers.items()):
        before = _completed_epochs(output)
        stdout, killed = _run_until(arguments + (["--resume"] if index else []), trigger)
        if index:
            steps_per_epoch = _check_resumed(stdout, before, where, steps_per_epoch)
        if not killed:  # the run ended before this point: nothing left to interrupt
            break
        kills.append(where)
    # The first point comes in every run (the run prints it, then trains an epoch); the
    # partial files live for milliseconds, so later points may pass before a poll sees
    # them. Printed with -s or on failure.
    print(f"killed: {kills}")
    assert kills and kills[0] == "during epoch 2", kills

    before = _completed_epochs(output)
    stdout, killed = _run_until([*arguments, "--resume"], lambda _: False)
    assert not killed and "Done: test BLEU" in stdout, stdout[-3000:]
    _check_resumed(stdout, before, "the last run", steps_per_epoch)
    assert _completed_epochs(output) == EPOCHS
    if "in all, with the" in stdout:  # this run trained: results.json has the whole time
        total = json.loads((output / "checkpoints" / "state.json").read_text())
        results = json.loads((output / "results.json").read_text())
        assert results["training_seconds"] == total["training_seconds"]
    for folder in (output, output / "serving"):
        assert not [name for name in os.listdir(folder) if name.startswith(".partial-")]
    model = keras.saving.load_model(output / "translator.keras")
    # The optimizer state survived every kill: the step count is that of EPOCHS epochs.
    assert int(model.optimizer.iterations) == EPOCHS * steps_per_epoch
    # Each run that got as far as exporting added a version; the newest two are kept.
    versions = export_versions(output / "serving")
    assert 1 <= len(versions) <= KEEP_VERSIONS
    served = tf.saved_model.load(str(versions[max(versions)]))
    answer = served.signatures["serving_default"](text=tf.constant(["el gato duerme."]))
    assert answer["translation"].shape == (1,)
