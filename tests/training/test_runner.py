"""The training runner's rules, through both commands (issue 16: cases 1, 2, 3, 5, 6, 7).

Every file a later step loads is written whole or not at all; `--resume` refuses a folder
that another command, model type or flag set wrote; bad flags are usage errors.
"""

import argparse
import json
import os
import pathlib
import shlex
import signal
import subprocess
import sys

import pytest

import train_classifier
import train_translator
from attention_layers.training import evaluation, runner
from attention_layers.training.tasks.base import task_of_config
from attention_layers.training.tasks.translation import TranslationTask
from tests.helpers import ROOT, tiny_translator_run
from tests.helpers import run_in_process as run

TINY_TRANSLATOR = [
    "--num-pairs", "200", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "12", "--epochs", "1",
    "--no-attention-plots", "--no-export",
]
TINY_CLASSIFIER = [
    "--num-examples", "300", "--layers", "1", "--model-dim", "8", "--heads", "2",
    "--feed-forward-dim", "16", "--batch-size", "64", "--epochs", "1",
    "--no-attention-plots", "--no-export",
]


@pytest.fixture(scope="module")
def finished_translator(tmp_path_factory):
    """A finished tiny Transformer run of 1 epoch with attention plots: its folder (the
    session's one `tests.helpers.TINY_TRANSLATOR_RUN`, shared with the hostile table)."""
    return tiny_translator_run(tmp_path_factory)


# --- flags (cases 2 and 3) ----------------------------------------------------------------


@pytest.mark.parametrize("command", [train_translator, train_classifier])
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vocabulary-size", "1"], "--vocabulary-size must be at least 5"),
        (["--patience", "-1"], "--patience must be 0 or more; received -1"),
    ],
)
def test_both_commands_reject_the_same_bad_flags(command, argv, message, tmp_path, capsys):
    code, _, err = run(command, [*argv, "--output", tmp_path / "run"], capsys)
    assert code == 2
    assert message in err
    assert not (tmp_path / "run").exists()


# --- --resume (cases 6 and 7) -------------------------------------------------------------


@pytest.mark.parametrize("recorded", [True, False])
def test_resume_refuses_the_other_commands_folder(recorded, finished_translator, tmp_path,
                                                  capsys):
    config = json.loads((finished_translator / "config.json").read_text())
    if not recorded:  # a run written before config.json named its command (or task)
        del config["command"], config["task"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, _, err = run(train_classifier, ["--resume", "--output", tmp_path], capsys)
    assert code == 2
    expected = "a translator run" if recorded else "another command's run"
    assert f"holds {expected}, not a classifier run" in err
    assert "Traceback" not in err and "TypeError" not in err


def test_a_run_that_names_its_task_by_command_resumes(finished_translator, tmp_path, capsys):
    """config.json written before it recorded the task's import path (`"command":
    "translator"` only) still resumes, and still names its task."""
    folder = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_translator), str(folder)], check=True)
    config = json.loads((folder / "config.json").read_text())
    assert config["task"] == "attention_layers.training.tasks.translation:TranslationTask"
    del config["task"]
    (folder / "config.json").write_text(json.dumps(config))
    assert isinstance(task_of_config(config), TranslationTask)
    code, out, err = run(train_translator, ["--resume", "--no-export", "--output", folder],
                         capsys)
    assert code == 0, err
    assert "Training already finished after epoch" in out


@pytest.mark.parametrize("resume", [True, False])
def test_a_run_folder_never_makes_python_import_the_module_it_names(
    resume, finished_translator, tmp_path, monkeypatch, capsys
):
    """A crafted config.json naming a task in a module nobody imported: reading the folder
    (to resume it, or to clear it for a fresh run) does not import, so does not run, it."""
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "imported"
    (planted / "planted_task_module.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from attention_layers.training.tasks.translation import TranslationTask as Task\n"
    )
    monkeypatch.syspath_prepend(str(planted))
    folder = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_translator), str(folder)], check=True)
    config = json.loads((folder / "config.json").read_text())
    config["task"] = "planted_task_module:Task"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="not imported"):
        task_of_config(config)
    argv = ["--resume"] if resume else [*TINY_TRANSLATOR, "--epochs", "1"]
    code, _, err = run(train_translator, [*argv, "--output", folder], capsys)
    assert code == 2, err
    assert "Traceback" not in err
    assert not marker.exists() and "planted_task_module" not in sys.modules


def test_resume_refuses_checkpoints_of_another_run(finished_translator, tmp_path, capsys):
    """A new `--model rnn` run killed after writing its config.json, in a folder that holds
    a finished Transformer run's checkpoints."""
    folder = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_translator), str(folder)], check=True)
    config = json.loads((folder / "config.json").read_text())
    rnn = {"model": "rnn", "attention": "bahdanau", "cell": "gru", "input_feeding": False,
           "embedding_dim": 8, "units": 8, "run_id": "0123"}
    (folder / "config.json").write_text(json.dumps({**config, **rnn}))
    code, _, err = run(train_translator, ["--resume", "--output", folder], capsys)
    assert code == 2
    assert "belong to another run than the config.json beside them" in err

    # Checkpoints written before runs had an id: the model itself says they do not fit.
    state_path = folder / "checkpoints" / "state.json"
    state = json.loads(state_path.read_text())
    del state["run_id"]
    state_path.write_text(json.dumps(state))
    code, _, err = run(train_translator, ["--resume", "--output", folder], capsys)
    assert code == 2
    assert "does not fit this model (another model type or size wrote it)" in err


def test_a_fresh_run_forgets_the_old_run_before_writing_anything(finished_translator,
                                                                 tmp_path, capsys):
    """Killed at the start of a new run, the folder holds no run that --resume could take
    for the new one: config.json and the checkpoints go first."""
    folder = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_translator), str(folder)], check=True)

    class Killed(Exception):
        pass

    class KilledWhileLearningVocabularies(TranslationTask):
        def tokenizers(self, config, corpus=None, folder=None):
            raise Killed

    with pytest.raises(Killed):
        runner.run_command(KilledWhileLearningVocabularies(), [
            "--num-pairs", "200", "--model", "rnn", "--overwrite", "--output", str(folder)
        ])
    assert not (folder / "config.json").exists()
    assert not (folder / "checkpoints").exists()
    code, _, err = run(train_translator, ["--resume", "--output", folder], capsys)
    assert code == 2 and "there is no run to resume there" in err


# --- all-or-nothing files (case 5) --------------------------------------------------------


def test_a_kill_while_saving_keeps_the_old_file_and_the_next_run_cleans_up(
    finished_translator, tmp_path, capsys
):
    folder = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished_translator), str(folder)], check=True)
    model_path = folder / "translator.keras"
    before = model_path.read_bytes()
    killed = subprocess.run(
        [sys.executable, "-c", (
            "import os, signal, sys\n"
            "from attention_layers.utils.files import write_atomically\n"
            "def half(path):\n"
            "    path.write_bytes(b'half a model')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "write_atomically(sys.argv[1], half)\n"
        ), str(model_path)],
        cwd=ROOT, capture_output=True, timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL
    assert model_path.read_bytes() == before
    partials = [path for path in folder.iterdir() if path.name.startswith(".partial-")]
    assert len(partials) == 1

    # The next run (here: --resume of the finished run) removes the leftover.
    code, out, err = run(train_translator, ["--resume", "--output", folder], capsys)
    assert code == 0, err
    assert "Training already finished after epoch 1" in out
    assert not [path for path in folder.iterdir() if path.name.startswith(".partial-")]


def test_files_are_written_under_a_temporary_name(tmp_path, monkeypatch):
    """Every file a later step loads goes through `atomic_path` (temporary name, rename)."""
    from attention_layers.utils import files

    written = []
    original = files.atomic_path

    def recorded(path):
        written.append(pathlib.Path(path).name)
        return original(path)

    monkeypatch.setattr(files, "atomic_path", recorded)
    train_translator.main([*TINY_TRANSLATOR, "--output", str(tmp_path / "run")])
    expected = {"config.json", "source_vocab.txt", "target_vocab.txt", "translator.keras",
                "results.json", "epoch_0001.weights.h5", "state.json"}
    assert expected <= set(written), written
    checkpoints = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    assert checkpoints == ["epoch_0001.weights.h5", "state.json"]


# --- the classifier's report (case 1) -----------------------------------------------------


def test_deciding_words_cut_off_by_max_length_are_not_counted():
    class Uniform:
        def __call__(self, ids):
            return ids[:, :1] * 0.0

        def get_attention_weights(self, ids):
            lengths = (ids != 0).sum(axis=1, keepdims=True)
            return {"pooling": ((ids != 0) / lengths)[:, None, :]}

    class Words:
        def tokenize(self, texts, add_start_end, max_length):
            import tensorflow as tf

            return tf.ragged.constant([[5] * min(len(text.split()), max_length) for text in texts])

    examples = [("a b c d e f", 1), ("a b c d e f g h", 0)]
    # Positions 1 and 7 decide the second sentence; 7 lies past --max-length 4.
    share, uniform, counted = evaluation.deciding_attention(
        Uniform(), Words(), examples, [(5,), (1, 7)], max_length=4
    )
    assert counted == 1  # the first sentence's only deciding word was cut off
    assert share == pytest.approx(0.25) and uniform == pytest.approx(0.25)


@pytest.mark.slow
def test_classifier_with_a_short_max_length_finishes_and_reports_the_deciding_words(
    tmp_path, capsys
):
    output = tmp_path / "run"
    code, out, err = run(
        train_classifier, [*TINY_CLASSIFIER, "--max-length", "3", "--output", output], capsys
    )
    assert code == 0, err
    assert "Attention on the deciding words:" in out
    results = json.loads((output / "results.json").read_text())
    for sample in results["samples"]:
        assert len(sample["deciding_words"]) <= 3
    assert 0 <= results["deciding_attention"] <= 1
    assert (output / "classifier.keras").is_file()


# --- TensorBoard (issue 15) ---------------------------------------------------------------


def _tensorboard_steps(log_dir):
    """`{(folder, tag): [steps]}` of every summary under `log_dir`."""
    import tensorflow as tf

    steps = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        folder = path.parent.relative_to(log_dir).as_posix()
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                steps.setdefault((folder, value.tag), []).append(event.step)
    return steps


def test_tensorboard_scalars_learning_rate_and_attention_images_share_the_steps(
    finished_translator,
):
    steps = _tensorboard_steps(finished_translator / "logs")
    for key in [("train", "epoch_loss"), ("train", "epoch_masked_accuracy"),
                ("train", "epoch_learning_rate"), ("validation", "epoch_loss")]:
        assert steps.get(key) == [0], (key, sorted(steps))
    images = {tag: value for (folder, tag), value in steps.items() if folder == "attention"}
    # Tags count layers and examples from 1, as the plot titles do.
    assert set(images) == {f"attention/decoder_1/cross_attention/example_{i}" for i in (1, 2)}
    assert all(value == [0] for value in images.values())


def test_an_overlong_pair_is_skipped_and_reported(tmp_path, capsys):
    """Issue 16 case 4 through the command: the data line, the summary and results.json
    count the skipped pair, so a reader sees why the test split is one pair short."""
    words = ["gato", "perro", "casa", "libro", "mesa", "agua"]
    english = ["cat", "dog", "house", "book", "table", "water"]
    pairs = [f"Veo el {es} {n}.\tI see the {en} {n}." for n in range(40)
             for es, en in zip(words, english, strict=True)]
    pairs.insert(100, "Hola " * 200 + ".\t" + "Hello " * 200 + ".")  # 1,000+ characters a side
    data = tmp_path / "spa.txt"
    data.write_text("\n".join(pairs) + "\n", encoding="utf-8")
    argv = [
        "--dataset", "spa-eng", "--data", data, "--layers", "1", "--model-dim", "8",
        "--heads", "2", "--feed-forward-dim", "16", "--batch-size", "64", "--max-length", "12",
        "--epochs", "1", "--no-attention-plots", "--no-export", "--output", tmp_path / "run",
    ]
    code, out, _ = run(train_translator, argv, capsys)
    assert code == 0
    data_line = next(line for line in out.splitlines() if line.startswith("Data:"))
    assert "skipped 1 overlong example (" in data_line
    assert "data:        skipped 1 overlong example" in out
    skipped = json.loads((tmp_path / "run" / "results.json").read_text())["skipped_overlong"]
    assert sum(count for split, count in skipped.items() if split != "summary") == 1


def test_a_task_without_a_recurrent_model_is_not_told_of_one_in_the_help():
    from attention_layers.training.command_line import add_training_flags

    def learning_rate_help(recurrent_model):
        parser = argparse.ArgumentParser()
        add_training_flags(parser, recurrent_model=recurrent_model, example="pairs")
        return " ".join(parser.format_help().split())

    assert "§5.3); rnn: constant (preset)" in learning_rate_help("rnn")
    assert "§5.3) (preset)" in learning_rate_help(None)
    assert "None" not in learning_rate_help(None)


def test_the_serving_hint_quotes_the_runs_own_example_for_the_shell(tmp_path):
    from attention_layers.training.saving import serving_example
    from attention_layers.training.tasks.translation import TranslationTask

    export = tmp_path / "run" / "serving" / "1"
    example = "L'homme dit « ça va » et $HOME."
    hint = serving_example(TranslationTask(), export, example)
    command, request = hint.split("  # then: curl -d ", 1)
    assert command == f"python -m attention_layers serve {tmp_path / 'run'}"
    words = shlex.split(request)
    assert json.loads(words[0]) == {"instances": [example]}
    assert words[1] == "localhost:8501/v1/models/translator:predict"
    # Without an example, the task's own request.
    assert TranslationTask.serving_request in serving_example(TranslationTask(), export)
