"""The training commands' first step (`attention_layers.training.command_line`), in-process:
the parser, the default `--output` and the flags resolved into the task's config."""

import pytest

from attention_layers.training import command_line
from attention_layers.training.tasks.classification import ClassificationTask
from attention_layers.training.tasks.translation import TranslationConfig, TranslationTask


@pytest.mark.parametrize(("task", "argv", "output"), [
    (TranslationTask(), [], "runs/translator-builtin"),
    (TranslationTask(), ["--dataset", "spa-eng"], "runs/translator-spa-eng"),
    (TranslationTask(), ["--train", "corpus", "--source-language", "de",
                         "--target-language", "en"], "runs/translator-de-en"),
    (ClassificationTask(), [], "runs/classifier-builtin"),
    (ClassificationTask(), ["--train", "train.tsv"], "runs/classifier-files"),
    (TranslationTask(), ["--output", "mine"], "mine"),
])
def test_the_default_output_follows_the_dataset_or_the_users_files(task, argv, output):
    parser = command_line.build_parser(task)
    assert command_line.parse_flags(task, parser, argv).output == output


def test_resume_with_overwrite_is_one_line_and_exit_code_2(capsys):
    task = TranslationTask()
    with pytest.raises(SystemExit) as stop:
        command_line.parse_flags(task, command_line.build_parser(task),
                                 ["--resume", "--overwrite"])
    assert stop.value.code == 2
    assert "--overwrite starts a new run in --output; it does not go with --resume." in (
        capsys.readouterr().err)


def test_a_fresh_run_gets_a_new_run_id_and_the_presets_values():
    task = TranslationTask()
    parser = command_line.build_parser(task)
    ids = set()
    for _ in range(2):
        args = command_line.parse_flags(task, parser, ["--epochs", "3"])
        config = command_line.resolve_flags(task, parser, args, folder=None)
        ids.add(args.run_id)
    assert len(ids) == 2  # each fresh run its own identity, which its checkpoints record
    assert isinstance(config, TranslationConfig) and args.epochs == 3
    assert (config.model, config.model_dim) == ("transformer", args.model_dim)
    assert args.model_dim is not None  # filled in from the builtin preset


def test_a_negative_patience_is_refused(capsys):
    task = TranslationTask()
    parser = command_line.build_parser(task)
    args = command_line.parse_flags(task, parser, ["--patience", "-1"])
    with pytest.raises(SystemExit):
        command_line.resolve_flags(task, parser, args, folder=None)
    assert "--patience must be 0 or more; received -1." in capsys.readouterr().err
