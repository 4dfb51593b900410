"""`train_translator.py` as its users run it: clear errors. (Resuming after `kill -9`:
tests/training/test_kill_search.py.)"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

import attention_layers.models  # noqa: F401  (registers the classes for loading)
import attention_layers.training  # noqa: F401
import train_translator

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCRIPT = ROOT / "train_translator.py"
def _run(arguments, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        cwd=ROOT, env=env, capture_output=True, text=True, **kwargs,
    )


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
