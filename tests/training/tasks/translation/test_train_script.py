"""`train_translator.py` as its users run it: resuming after `kill -9`, and clear errors."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import keras
import pytest

import attention_layers.models  # noqa: F401  (registers the classes for loading)
import attention_layers.training  # noqa: F401
import train_translator

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "train_translator.py"
# The kill test's run: what it checks (epochs, optimizer steps, the resumed epoch) holds for
# any size, so the smallest model and corpus that have several steps per epoch.
TINY = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "12", "--patience", "0",
    "--no-attention-plots", "--no-export",
]
EPOCHS = 4  # the kill comes after epoch 1 (or 2): some epochs are left to resume


def _run(arguments, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, **kwargs,
    )


@pytest.mark.slow
def test_a_run_killed_after_a_checkpoint_resumes_at_the_next_epoch(tmp_path):
    output = tmp_path / "run"
    arguments = [*TINY, "--epochs", str(EPOCHS), "--output", str(output)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *arguments],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    state_path = output / "checkpoints" / "state.json"
    # A hang guard, not a speed limit: far beyond a tiny epoch on a busy 2-core machine.
    deadline = time.monotonic() + 1200
    try:
        while not state_path.exists():
            assert process.poll() is None, process.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint was written"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)  # no chance to clean up, as after a crash
        process.wait()
    killed_after = json.loads(state_path.read_text())["epoch"]
    assert 1 <= killed_after < EPOCHS, killed_after

    resumed = _run([*arguments, "--resume"], timeout=1200)  # a hang guard, as above
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    match = re.search(r"Resuming after epoch (\d+) \(optimizer step (\d+)\)", resumed.stdout)
    assert match, resumed.stdout[-3000:]
    epoch, step = int(match[1]), int(match[2])
    assert epoch == killed_after
    # The optimizer state was restored: its step count is a whole number of epochs.
    assert step > 0 and step % epoch == 0
    steps_per_epoch = step // epoch
    # Keras numbers epochs from 1: training went on with the next one, not the first.
    assert f"Epoch {epoch + 1}/{EPOCHS}" in resumed.stdout
    assert f"Epoch {epoch}/{EPOCHS}" not in resumed.stdout
    assert json.loads(state_path.read_text())["epoch"] == EPOCHS
    model = keras.saving.load_model(output / "translator.keras")
    assert int(model.optimizer.iterations) == EPOCHS * steps_per_epoch
    assert "Test BLEU" in resumed.stdout
    # The time reported counts the epochs before the kill too.
    took = re.search(r"Training took (\d+) s \((\d+) s in all, with the (\d+) epoch\(s\) "
                     r"before --resume\)", resumed.stdout)
    assert took and int(took[3]) == epoch and int(took[2]) >= int(took[1]), resumed.stdout
    total = json.loads(state_path.read_text())["training_seconds"]
    assert json.loads((output / "results.json").read_text())["training_seconds"] == total


def _exit_message(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        train_translator.main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs: invalid positive int value: '0'"),
        (["--dropout", "1.5"], "--dropout: invalid fraction in [0, 1) value"),
        (["--dataset", "wmt"], "--dataset: invalid choice: 'wmt'"),
        (["--model", "transformer", "--units", "64"], "--units do(es) not apply to --model transformer"),
        (["--model", "rnn", "--heads", "2"], "--heads do(es) not apply to --model rnn"),
        (["--model-dim", "30", "--heads", "4"], "--model-dim (30) must be divisible by --heads (4)"),
        (["--data", "spa.txt"], "--data is for --dataset spa-eng"),
        (["--dataset", "spa-eng", "--num-pairs", "10"], "--num-pairs is for --dataset builtin"),
    ],
)
def test_bad_flags_exit_with_code_2_and_say_why(capsys, argv, message):
    assert message in _exit_message(capsys, argv)


def test_resume_without_a_run_says_there_is_nothing_to_resume(capsys, tmp_path):
    error = _exit_message(capsys, ["--resume", "--output", str(tmp_path / "nothing")])
    assert "there is no run to resume there" in error


def test_resume_refuses_flags_that_change_the_model(capsys, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_dim": 16, "epochs": 2}))
    error = _exit_message(
        capsys, ["--resume", "--output", str(tmp_path), "--model-dim", "32"]
    )
    assert "--model_dim" not in error
    assert "--model-dim=32 differs from the run being resumed (16)" in error


def test_a_missing_data_file_is_named(capsys, tmp_path):
    missing = tmp_path / "spa.txt"
    error = _exit_message(capsys, ["--dataset", "spa-eng", "--data", str(missing)])
    assert f"--data {missing}: no such file or directory" in error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Go.\tVe.\nthis line has no tab\n", "spa.txt:2: expected 2 or 3 tab-separated columns"),
        (b"Go.\tVe.\n\xff\xfe\tbad\n", "spa.txt: not valid UTF-8 at byte offset 8 (line 2)"),
        ("Go.\t\n", "spa.txt:1: empty sentence"),
        ("", "the train split is empty"),
    ],
)
def test_a_malformed_data_file_is_reported_with_its_line(capsys, tmp_path, content, message):
    path = tmp_path / "spa.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    error = _exit_message(
        capsys, ["--dataset", "spa-eng", "--data", str(path), "--output", str(tmp_path / "run")]
    )
    assert message in error


@pytest.mark.slow
def test_the_command_exits_with_code_2_on_bad_data(tmp_path):
    result = _run(["--dataset", "spa-eng", "--data", str(tmp_path / "absent.txt")], timeout=120)
    assert result.returncode == 2
    assert "train_translator.py: error: --data" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_documents_every_flag():
    help_text = train_translator.build_parser().format_help()
    for action in train_translator.build_parser()._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
            assert action.option_strings[0] in help_text
