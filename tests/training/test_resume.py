"""`--resume`'s reading of a saved run (`attention_layers.training.resume`), in-process:
the saved flags upgraded, checked and restored, and one line for each bad file."""

import json

import pytest

from attention_layers.training import command_line, resume
from attention_layers.training.tasks.classification import ClassificationTask
from attention_layers.training.tasks.translation import TranslationTask


def saved_run(folder, argv=()):
    """Writes the `config.json` of a fresh translator run with `argv` in `folder`; returns
    the task, its parser and the saved flags (a dict)."""
    task = TranslationTask()
    parser = command_line.build_parser(task)
    args = command_line.parse_flags(task, parser, ["--output", str(folder), *argv])
    command_line.resolve_flags(task, parser, args, folder=None)
    saved = {**vars(args), "command": task.name, "task": "attention_layers.training.tasks"
             ".translation:TranslationTask"}
    (folder / "config.json").write_text(json.dumps(saved))
    return task, parser, saved


def resumed(task, parser, folder, argv=()):
    args = parser.parse_args(["--output", str(folder), "--resume", *argv])
    return resume.restore_resumed_flags(parser, args, task)


def test_a_config_written_before_precision_and_the_task_defaults_is_upgraded():
    defaults = {"case_by_side": {"source": "lower", "target": "lower"}}
    saved = resume.upgrade_config({"mixed_precision": True, "epochs": 3}, defaults)
    assert saved["precision"] == "mixed_float16"
    assert (saved["weight_averaging"], saved["label_smoothing"]) == (0, 0.0)
    saved["case_by_side"]["source"] = "keep"  # a copy: the task's defaults stay as they are
    assert defaults["case_by_side"]["source"] == "lower"
    kept = resume.upgrade_config({"precision": "float32", "mixed_precision": True})
    assert kept["precision"] == "float32"  # a recorded precision is never overridden


def test_resume_restores_the_saved_flags_and_takes_a_new_epoch_count(tmp_path):
    task, parser, saved = saved_run(tmp_path, ["--epochs", "2", "--model-dim", "32"])
    args = resumed(task, parser, tmp_path, ["--epochs", "5", "--beam-width", "3"])
    assert (args.model_dim, args.epochs, args.beam_width) == (32, 5, 3)
    assert args.run_id == saved["run_id"] and len(args.run_id) == 32
    assert resumed(task, parser, tmp_path).epochs == 2  # not given: the saved one


def test_resume_refuses_a_changed_model_flag_with_one_line(tmp_path, capsys):
    task, parser, _ = saved_run(tmp_path, ["--model-dim", "32"])
    with pytest.raises(SystemExit) as stop:
        resumed(task, parser, tmp_path, ["--model-dim", "64"])
    assert stop.value.code == 2
    assert "--resume: --model-dim=64 differs from the run being resumed (32)" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "expected"), [
    ("{", "is not a run's config.json (Expecting property name"),
    ("[]", "is not a run's config.json."),
    (None, "not found; there is no run to resume there."),
    ("folder", "is not a regular file"),
])
def test_a_missing_or_damaged_config_json_names_the_file(tmp_path, capsys, content, expected):
    task = TranslationTask()
    parser = command_line.build_parser(task)
    path = tmp_path / "config.json"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as stop:
        resumed(task, parser, tmp_path)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and str(path) in err and expected in err


def test_a_run_of_another_task_and_an_edited_value_are_refused(tmp_path, capsys):
    _, _, saved = saved_run(tmp_path)
    classifier = ClassificationTask()
    with pytest.raises(SystemExit):
        resumed(classifier, command_line.build_parser(classifier), tmp_path)
    assert "holds a translator run, not a classifier run" in capsys.readouterr().err
    task = TranslationTask()
    (tmp_path / "config.json").write_text(json.dumps({**saved, "model_dim": "abc"}))
    with pytest.raises(SystemExit):
        resumed(task, command_line.build_parser(task), tmp_path)
    assert "\"model_dim\" is 'abc', not a value of --model-dim" in capsys.readouterr().err
