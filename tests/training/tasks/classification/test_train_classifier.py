"""`train_classifier.py`: a short run end to end, `--resume`, and clear errors (exit code 2)."""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import train_classifier
from attention_layers.text import WordTokenizer, conversions
from attention_layers.training import command_line, evaluation
from attention_layers.training.tasks import classification
from tests.apps.conftest import tiny_classifier_run
from tests.helpers import run_in_process, tiny_bigru_int8_run

ROOT = pathlib.Path(__file__).resolve().parents[4]
# A small Transformer on a small generated corpus: seconds per epoch.
TINY = [
    "--num-examples", "600", "--layers", "1", "--model-dim", "16", "--heads", "2",
    "--feed-forward-dim", "32", "--batch-size", "32", "--max-length", "32",
]


def run(argv, capsys):
    """Runs the command in this process; returns `(exit code, stdout, stderr)`."""
    return run_in_process(train_classifier, argv, capsys)


@pytest.mark.slow
def test_train_resume_and_outputs(tmp_path, capsys):
    output = tmp_path / "run"
    code, out, err = run([*TINY, "--epochs", "2", "--patience", "0", "--output", output], capsys)
    assert code == 0, err
    assert "Validation accuracy:" in out and "Test accuracy:" in out
    assert "deciding words (recorded by the generator):" in out
    for name in ("config.json", "vocab.txt", "classifier.keras", "results.json",
                 "training_log.csv", "checkpoints/state.json"):
        assert (output / name).is_file(), name
    assert list((output / "attention").rglob("*.png")), "no attention plots"
    assert (output / "logs").is_dir()

    results = json.loads((output / "results.json").read_text())
    assert 0 <= results["validation_accuracy"] <= 1
    sample = results["samples"][0]
    assert len(sample["words"]) == evaluation.TOP_WORDS
    weights = [weight for _, weight in sample["words"]]
    assert weights == sorted(weights, reverse=True)

    model = keras.saving.load_model(output / "classifier.keras")
    assert model.get_config()["num_layers"] == 1

    # The serving export reads raw strings and agrees with the saved model.
    served = tf.saved_model.load(str(output / "serving" / "1"))
    text = [sample["text"]]
    outputs = served.signatures["classify_with_attention"](text=tf.constant(text))
    np.testing.assert_allclose(outputs["probability"].numpy(), [sample["probability"]], atol=1e-5)
    tokenizer = WordTokenizer.load(output / "vocab.txt")
    ids = tokenizer.tokenize(text, add_start_end=False).to_tensor()
    np.testing.assert_allclose(
        outputs["attention"].numpy(),
        keras.ops.convert_to_numpy(model.get_attention_weights(ids)["pooling"])[:, 0],
        atol=1e-5,
    )

    # The run continues from its last epoch with its saved flags.
    code, out, err = run(
        ["--resume", "--epochs", "3", "--no-attention-plots", "--no-export", "--output", output],
        capsys,
    )
    assert code == 0, err
    assert "Resuming after epoch 2" in out
    assert json.loads((output / "checkpoints/state.json").read_text())["epoch"] == 3
    log = (output / "training_log.csv").read_text().strip().splitlines()
    assert len(log) == 1 + 3  # header and one line per epoch, over both runs


@pytest.fixture(scope="session")
def ensemble_run(tmp_path_factory):
    """`(folder, printed)` of the int8 `--ensemble 2` of BiGRUs with hashed bigrams that
    tests/apps reads (`TINY_CLASSIFIER` there): trained once per session for both."""
    return tiny_classifier_run(tmp_path_factory)


@pytest.fixture(scope="session")
def bigru_int8_run(tmp_path_factory):
    """`(folder, printed)` of a `--model bigru --quantize-embeddings int8` run with hashed
    bigrams (`TINY_BIGRU_INT8`), trained once per session."""
    return tiny_bigru_int8_run(tmp_path_factory)


@pytest.mark.slow
def test_a_bigru_run_with_quantized_embeddings_is_saved_served_and_reported(bigru_int8_run):
    """One BiGRU run for what a `--model bigru` run saves and what `--quantize-embeddings
    int8` does to it."""
    output, out = bigru_int8_run
    assert "Model: bigru" in out
    assert "Embedding tables quantized to int8" in out
    saved = json.loads((output / "config.json").read_text())
    assert saved["quantize_embeddings"] == "int8"
    model = keras.saving.load_model(output / "classifier.keras")
    assert type(model).__name__ == "BiGRUClassifier"
    assert model.embedding_quantization == "int8"
    assert {v.path.split("/", 1)[1]: v.dtype for v in model.weights if "embeddings" in v.path} == {
        "bigrams/table/embeddings": "int8", "bigrams/table/embeddings_scale": "float32",
        "embedding/embeddings": "int8", "embedding/embeddings_scale": "float32",
    }
    # The reported accuracy is the quantized model's: scored again from the files.
    config = argparse.Namespace(**saved)
    task = classification.ClassificationTask()
    tokenizer = WordTokenizer.load(output / "vocab.txt")
    datasets = task.make_datasets(config, task.load_corpus(config), (tokenizer,), 0, 1)
    results = json.loads((output / "results.json").read_text())
    assert evaluation.accuracy(model, datasets.validation) == results["validation_accuracy"]
    assert "with float32 embedding tables (before --quantize-embeddings)" in out
    # int8 tables move a probability by far less than a label flip needs on most sentences.
    assert abs(results["validation_accuracy_float32_tables"] - results["validation_accuracy"]) <= 0.05
    texts = ["The acting was not boring.", "A dull, tired film."]
    ids = conversions.make_token_ids(tokenizer, texts, 32)
    expected = keras.ops.convert_to_numpy(model(ids))[:, 0]
    served = tf.saved_model.load(str(output / "serving" / "1"))
    answer = served.signatures["classify_with_attention"](text=tf.constant(texts))
    np.testing.assert_allclose(answer["probability"].numpy(), expected, rtol=1e-5)


@pytest.mark.slow
def test_ensemble_run_export_and_resume(ensemble_run, tmp_path, capsys):
    # The session's run (`--ensemble 2 --bigram-buckets 1009`, BiGRUs, int8 tables), copied:
    # this test resumes it.
    shared, out = ensemble_run
    output = tmp_path / "ensemble"
    shutil.copytree(shared, output)
    assert "Member 2 of 2 (seed 1)" in out and "Ensemble of 2 classifiers" in out
    for index in range(2):
        assert (output / f"member_{index}" / "checkpoints" / "state.json").is_file()
        assert (output / f"member_{index}" / "training_log.csv").is_file()
    results = json.loads((output / "results.json").read_text())
    assert len(results["member_validation_accuracy"]) == 2

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(output / "classifier.keras")
    # Saved without optimizers: nothing for Keras to skip ("Skipping variable loading ...").
    assert not [warning for warning in caught if "optimizer" in str(warning.message)]
    assert getattr(model, "optimizer", None) is None
    assert type(model).__name__ == "ClassifierEnsemble"
    assert [member.bigram_buckets for member in model.members] == [1009, 1009]
    ids = conversions.make_token_ids(
        WordTokenizer.load(output / "vocab.txt"), ["The acting was not boring."], 32
    )
    first, second = (keras.ops.convert_to_numpy(member(ids))[0, 0] for member in model.members)
    assert first != second  # two seeds, two classifiers
    probability = keras.ops.convert_to_numpy(model(ids))[0, 0]
    np.testing.assert_allclose(probability, (first + second) / 2, rtol=1e-5)

    # The serving export reads raw text and gives the ensemble's probability and attention.
    served = tf.saved_model.load(str(output / "serving" / "1"))
    answer = served.signatures["classify_with_attention"](text=tf.constant(["The acting was not boring."]))
    np.testing.assert_allclose(answer["probability"].numpy()[0], probability, rtol=1e-5)
    np.testing.assert_allclose(answer["attention"].numpy()[0].sum(), 1.0, atol=1e-5)

    # Interrupted after the first member: --resume keeps it and trains the second only.
    for path in (output / "member_1").rglob("*"):
        if path.is_file():
            path.unlink()
    code, out, err = run(["--resume", "--output", output, "--no-attention-plots"], capsys)
    assert code == 0, err
    assert out.count("Training already finished") == 1
    assert "Member 2 of 2 (seed 1)" in out and out.count("Training took") == 1
    again = json.loads((output / "results.json").read_text())
    assert again["member_validation_accuracy"][0] == results["member_validation_accuracy"][0]
    # The resumed run's export is version 2 (TF Serving's layout); version 1 is kept.
    assert sorted(path.name for path in (output / "serving").iterdir()) == ["1", "2"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "cnn"], "invalid choice: 'cnn'"),
        (["--epochs", "0"], "invalid positive int value"),
        (["--dropout", "1.5"], "invalid fraction in [0, 1) value"),
        (["--data", "somewhere"], "--data is for --dataset sst2"),
        (["--dataset", "sst2", "--num-examples", "10"], "--num-examples is for --dataset builtin"),
        (["--model", "bigru", "--layers", "2"], "--layers do(es) not apply to --model bigru"),
        (["--units", "8"], "--units do(es) not apply to --model transformer"),
        (["--model-dim", "30", "--heads", "4"], "must be divisible by --heads"),
        (["--patience", "-1"], "--patience must be 0 or more"),
        (["--vocabulary-size", "3"], "--vocabulary-size must be at least 5"),
        (["--ensemble", "0"], "invalid positive int value"),
        (["--bigram-buckets", "-1"], "invalid int >= 0 value"),
        (["--bigram-buckets", "15838"], "--bigram-buckets must be at most 271,146 and not a "
         "multiple of 7919; received 15838"),
        (["--bigram-buckets", "300000"], "--bigram-buckets must be at most 271,146"),
        (["--preset", "single"], "--preset applies to --dataset sst2 only"),
        (["--dataset", "sst2", "--preset", "single", "--model", "transformer"],
         "--preset single is one BiGRU"),
    ],
)
def test_bad_flags(argv, message, tmp_path, capsys):
    code, _, err = run([*argv, "--output", tmp_path / "run"], capsys)
    assert code == 2
    assert message in err


def resolved(argv):
    task = classification.ClassificationTask()
    parser = command_line.build_parser(task)
    args = parser.parse_args(argv)
    command_line.resolve_flags(task, parser, args, folder=None)  # completes args
    return args


def test_the_single_preset_fills_what_was_not_given():
    ensemble = resolved(["--dataset", "sst2"])
    assert (ensemble.ensemble, ensemble.embedding_dim, ensemble.quantize_embeddings) == (
        5, 128, None
    )
    assert not ensemble.weight_averaging
    single = resolved(["--dataset", "sst2", "--preset", "single"])
    assert (single.model, single.ensemble, single.embedding_dim, single.weight_averaging,
            single.quantize_embeddings, single.bigram_buckets) == (
        "bigru", 1, 192, 200, "int8", 65_521
    )
    given = resolved(["--dataset", "sst2", "--preset", "single", "--embedding-dim", "64",
                      "--weight-averaging", "0"])
    assert (given.embedding_dim, given.weight_averaging, given.ensemble) == (64, 0, 1)


@pytest.mark.slow
def test_the_single_preset_trains_saves_int8_and_resumes_as_itself(tmp_path, capsys):
    good = ["a fine , moving film", "a fine cast", "moving and fine", "the cast is fine"]
    bad = ["a dull , tired film", "a dull cast", "tired and dull", "the cast is dull"]
    _sst2_folder(tmp_path, train=[f"{t} \t1" for t in good * 4] + [f"{t} \t0" for t in bad * 4],
                 dev=["fine film \t1", "dull film \t0"])
    output = tmp_path / "run"
    tiny = ["--embedding-dim", "8", "--units", "8", "--attention-units", "8",
            "--bigram-buckets", "1009", "--batch-size", "8"]
    code, out, err = run(
        ["--dataset", "sst2", "--data", tmp_path, "--preset", "single", *tiny,
         "--no-attention-plots", "--no-export", "--output", output],
        capsys,
    )
    assert code == 0, err
    assert "Embedding tables quantized to int8" in out
    config = json.loads((output / "config.json").read_text())
    assert (config["preset"], config["ensemble"], config["weight_averaging"]) == ("single", 1, 200)
    assert keras.saving.load_model(output / "classifier.keras").embedding_quantization == "int8"
    # --resume alone restores the preset, and with it the int8 tables the file keeps.
    (output / "classifier.keras").unlink()
    code, out, err = run(["--resume", "--no-export", "--output", output], capsys)
    assert code == 0, err
    assert "Embedding tables quantized to int8" in out
    assert keras.saving.load_model(output / "classifier.keras").embedding_quantization == "int8"


def test_resume_without_a_run(tmp_path, capsys):
    code, _, err = run(["--resume", "--output", tmp_path / "nothing"], capsys)
    assert code == 2
    assert "there is no run to resume there" in err


def test_resume_with_a_different_model_flag(tmp_path, capsys):
    output = tmp_path / "run"
    output.mkdir()
    config = {name: None for name in classification.RUN_DEFINING}
    (output / "config.json").write_text(json.dumps({**config, "model": "transformer"}))
    code, _, err = run(["--resume", "--model", "bigru", "--output", output], capsys)
    assert code == 2
    assert "--model=bigru differs from the run being resumed ('transformer')" in err


def _sst2_folder(root, train=None, dev=None, test=None):
    """A folder in the GLUE SST-2 layout; each file's lines after the header."""
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    lines = {
        "train.tsv": train if train is not None else ["a fine film \t1", "dull \t0"],
        "dev.tsv": dev if dev is not None else ["a fine , dull film \t1"],
        "test.tsv": test if test is not None else ["0\ta film"],
    }
    for name, rows in lines.items():
        header = "index\tsentence" if name == "test.tsv" else "sentence\tlabel"
        content = "\n".join([header, *rows]) + "\n"
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


@pytest.mark.parametrize(
    "make_data, message",
    [
        (lambda root: root / "missing", "no such file or directory"),
        (lambda root: _sst2_folder(root) / "train.tsv", "not a folder"),
        (lambda root: root, "no train.tsv there"),
        (lambda root: _sst2_folder(root, train=["good \t1", "bad \t2"]), "train.tsv:3: label '2'"),
        (lambda root: _sst2_folder(root, train=["no tab here"]), "train.tsv:2: no tab"),
        (lambda root: _sst2_folder(root, dev=[]), "the validation split is empty"),
    ],
)
def test_bad_data(make_data, message, tmp_path, capsys):
    data = make_data(tmp_path)
    code, _, err = run(
        ["--dataset", "sst2", "--data", data, "--output", tmp_path / "run"], capsys
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_not_utf8_data(tmp_path, capsys):
    folder = _sst2_folder(tmp_path)
    (folder / "dev.tsv").write_bytes(b"sentence\tlabel\nca\xe7a \t1\n")
    code, _, err = run(["--dataset", "sst2", "--data", tmp_path, "--output", tmp_path / "r"], capsys)
    assert code == 2
    assert "not valid UTF-8" in err


@pytest.mark.slow
def test_exit_code_of_the_process(tmp_path):
    """The real process exits with 2 and a one-line error, no traceback."""
    result = subprocess.run(
        [sys.executable, "train_classifier.py", "--dataset", "sst2", "--data",
         str(tmp_path / "missing"), "--output", str(tmp_path / "run")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2
    assert "error: --data" in result.stderr and "no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
