"""A kill test that searches (issue 16): a tiny `train_translator.py` run is killed with
SIGKILL at points spread over the whole run (during an epoch, while a checkpoint, the
`.keras` file and the export are written), resumed after each, and must finish with a
model and an export that load and serve, having lost no epoch beyond the one in progress."""

import json
import os
import pathlib
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
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
    for index, (where, trigger) in enumerate(triggers.items()):
        before = _completed_epochs(output)
        stdout, killed = _run_until(arguments + (["--resume"] if index else []), trigger)
        if index:
            # Training went on after the last completed epoch: none lost, none repeated.
            resumed = re.search(r"Resuming after epoch (\d+)", stdout)
            assert resumed and int(resumed[1]) == before, (where, stdout[-2000:])
        if not killed:  # the run ended before this point: nothing left to interrupt
            break
        kills.append(where)
    # The first point comes in every run (the run prints it, then trains an epoch); the
    # partial files live for milliseconds, so later points may pass before a poll sees
    # them. Printed with -s or on failure.
    print(f"killed: {kills}")
    assert kills and kills[0] == "during epoch 2", kills

    stdout, killed = _run_until([*arguments, "--resume"], lambda _: False)
    assert not killed and "Done: test BLEU" in stdout, stdout[-3000:]
    assert _completed_epochs(output) == EPOCHS
    for folder in (output, output / "serving"):
        assert not [name for name in os.listdir(folder) if name.startswith(".partial-")]
    model = keras.saving.load_model(output / "translator.keras")
    assert int(model.optimizer.iterations) > 0
    # Each run that got as far as exporting added a version; the newest two are kept.
    versions = export_versions(output / "serving")
    assert 1 <= len(versions) <= KEEP_VERSIONS
    served = tf.saved_model.load(str(versions[max(versions)]))
    answer = served.signatures["serving_default"](text=tf.constant(["el gato duerme."]))
    assert answer["translation"].shape == (1,)
