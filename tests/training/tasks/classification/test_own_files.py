"""`train_classifier.py --train PATH`: a classifier from the user's labelled files, with any
labels and two classes or more, end to end: the run, its figures, its export, the
`classify` and `evaluate` commands, `--class-weight balanced`, and bad input (exit code 2,
one line, nothing written).

One tiny 3-class run per session (`files_run`) serves every end-to-end test: a skewed CSV
corpus (90 / 60 / 30 short texts, each class with its own deciding word).
"""

import base64
import json
import pathlib
import random
import re
import shlex
import shutil

import numpy as np
import pytest
import tensorflow as tf

import train_classifier
from attention_layers.apps import batch_commands, evaluate
from attention_layers.apps.run import load_run
from attention_layers.data import generate_sentiment_corpus
from attention_layers.training.metrics import class_crossentropy
from attention_layers.training.tasks.classification import (
    ClassificationConfig,
    ClassificationTask,
    balanced_class_weights,
)
from attention_layers.training.tasks.labelled_files import CONFUSION_MATRIX
from tests.helpers import run_in_process, shared_run

# Each class is told by one word; the other words are shared noise.
DECIDING = {"sport": "football", "politics": "election", "music": "guitar"}
COUNTS = {"sport": 90, "politics": 60, "music": 30}
FILLER = "the a was it and today news story about people very good new old".split()
# A one-layer Transformer that learns the deciding words in six short epochs.
TINY = [
    "--layers", "1", "--model-dim", "16", "--heads", "2", "--feed-forward-dim", "32",
    "--batch-size", "32", "--max-length", "16", "--warmup-steps", "5",
    "--learning-rate", "0.01", "--epochs", "6", "--no-attention-plots",
]  # fmt: skip


def texts_of(label, count, seed):
    """`count` short texts of `label`: four filler words and the class's deciding word."""
    rng = random.Random(f"{label}-{seed}")
    texts = []
    for _ in range(count):
        words = rng.sample(FILLER, 4)
        words.insert(rng.randrange(5), DECIDING[label])
        texts.append(" ".join(words))
    return texts


def write_csv(path, counts=COUNTS, seed=0):
    rows = ["text,label"] + [
        f"{text},{label}" for label, count in counts.items()
        for text in texts_of(label, count, seed)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def files_run(tmp_path_factory):
    """`(folder, printed, train file)` of the session's 3-class run on a skewed CSV."""
    data = tmp_path_factory.mktemp("own-files")
    train = write_csv(data / "train.csv")
    folder, printed = shared_run(
        tmp_path_factory, "classifier-files", train_classifier,
        ["--train", str(train), "--class-weight", "balanced", *TINY],
    )
    return folder, printed, train


def run(argv, capsys):
    return run_in_process(train_classifier, argv, capsys)


def test_balanced_class_weights_are_scikit_learns():
    # n / (N * count): 6 examples, 2 classes, counts 4 and 2.
    assert balanced_class_weights([0, 0, 1, 0, 1, 0], 2) == [6 / 8, 6 / 4]
    assert balanced_class_weights([2, 2, 0, 1], 3) == [4 / 3, 4 / 3, 4 / 6]


@pytest.mark.slow
def test_a_three_class_run_reports_per_class_scores_and_a_confusion_matrix(files_run):
    folder, printed, train = files_run
    config = json.loads((folder / "config.json").read_text())
    # The run is shared between xdist workers (`shared_run`): the worker that trained it
    # wrote its own copy of the same CSV.
    assert config["dataset"] == "files"
    assert pathlib.Path(config["train"]).read_text() == train.read_text()
    assert config["classes"] == ["music", "politics", "sport"]  # sorted names
    assert config["class_weight"] == "balanced"
    # The flags that TINY leaves unset come from the rule (classification_rule.py), recorded;
    # TINY's own (a Transformer's --layers among them) win.
    record = config["data_preset"]
    assert (record["training_examples"], record["classes"]) == (144, 3)
    assert record["chosen"]["model"] == "transformer"
    assert (config["min_count"], config["label_smoothing"], config["patience"]) == (2, 0.1, 3)
    assert not {"layers", "epochs", "batch_size", "learning_rate"} & set(record["chosen"])
    assert "; preset from the data (144 examples, 3 classes): transformer, " in printed
    results = json.loads((folder / "results.json").read_text())
    assert results["classes"] == ["music", "politics", "sport"]
    # Stratified 10% + 10% out of each class: train holds 24 / 48 / 72 of 144.
    assert results["class_weights"] == pytest.approx(
        {"music": 144 / 72, "politics": 144 / 144, "sport": 144 / 216}
    )
    assert "Class weights (--class-weight balanced): music 2.000, politics 1.000" in printed
    test = results["test_scores"]
    assert test["examples"] == 18
    assert [row for row in map(sum, test["confusion_matrix"])] == [3, 6, 9]
    assert {name: values["support"] for name, values in test["per_class"].items()} == {
        "music": 3, "politics": 6, "sport": 9,
    }
    matrix = np.array(test["confusion_matrix"])
    assert test["accuracy"] == pytest.approx(np.trace(matrix) / 18, abs=1e-6)
    assert results["test_macro_f1"] == test["macro_f1"]
    assert results["validation_accuracy"] >= 0.9 and results["test_macro_f1"] >= 0.9
    assert "Per class (test):" in printed and "macro-F1" in printed
    # The summary's serving request is a text of the user's own file, not a sentiment one.
    serve = next(text for text in printed.splitlines() if text.strip().startswith("serve:"))
    request = json.loads(shlex.split(serve.split("curl -d ", 1)[1])[0])
    assert request == {"instances": [results["samples"][0]["text"]]}
    assert request["instances"][0] in train.read_text()
    png = (folder / "confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert not list(folder.glob(".partial*"))


@pytest.mark.slow
def test_the_export_serves_class_names_and_probabilities_in_its_order(files_run):
    folder, _, _ = files_run
    export = sorted((folder / "serving").iterdir())[-1]
    info = json.loads((export / "assets.extra" / "export.json").read_text())
    classes = info["classes"]
    assert classes == ["music", "politics", "sport"]
    outputs = info["signatures"]["serving_default"]["outputs"]
    assert outputs["label"]["dtype"] == "string"
    assert outputs["probabilities"] == {"dtype": "float32", "shape": [None, 3]}
    assert "attention" in info["signatures"]["classify_with_attention"]["outputs"]

    texts = ["the guitar was very good", "an election today", "football news"]
    served = tf.saved_model.load(str(export)).signatures["serving_default"](
        text=tf.constant(texts)
    )
    probabilities = served["probabilities"].numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    labels = [label.decode() for label in served["label"].numpy()]
    assert labels == ["music", "politics", "sport"]
    assert [classes[index] for index in probabilities.argmax(axis=1)] == labels
    # The run folder gives what the export gives.
    from_run = load_run(folder).classify(texts)
    assert [result["label"] for result in from_run] == labels
    np.testing.assert_allclose(
        [[result["probabilities"][name] for name in classes] for result in from_run],
        probabilities, atol=1e-5,
    )


@pytest.mark.slow
def test_classify_and_evaluate_name_the_classes(files_run, tmp_path, capsys):
    folder, _, _ = files_run
    lines = tmp_path / "lines.txt"
    lines.write_text("a guitar\nthe election\nfootball today\n", encoding="utf-8")
    output = tmp_path / "labels.tsv"
    assert batch_commands.classify_main([str(folder / "serving"), "--input", str(lines),
                                         "--output", str(output)]) == 0
    rows = [line.split("\t") for line in output.read_text().splitlines()]
    assert rows[0] == ["text", "label", "probability"]
    assert [row[1] for row in rows[1:]] == ["music", "politics", "sport"]
    assert all(1 / 3 < float(row[2]) <= 1 for row in rows[1:])  # the predicted class's

    test = tmp_path / "test.jsonl"
    test.write_text("".join(
        json.dumps({"sentence": text, "label": label}) + "\n"
        for label in DECIDING for text in texts_of(label, 4, seed=1)
    ), encoding="utf-8")
    scores = tmp_path / "scores.json"
    assert evaluate.main([str(folder), "--test", str(test), "--scores", str(scores),
                          "--output", str(tmp_path / "predictions.tsv")]) == 0
    written = json.loads(scores.read_text())
    assert written["examples"] == 12
    assert set(written["per_class"]) == {"music", "politics", "sport"}
    assert all(values["support"] == 4 for values in written["per_class"].values())
    assert sum(map(sum, written["confusion_matrix"])) == 12
    assert written["accuracy"] >= 0.9
    assert "macro-F1" in capsys.readouterr().err

    # A folder with one sub-folder of .txt files per class (text_dataset_from_directory's).
    folder_test = tmp_path / "by-class"
    for label in ("sport", "music"):
        (folder_test / label).mkdir(parents=True)
        for index, text in enumerate(texts_of(label, 3, seed=3)):
            (folder_test / label / f"{index}.txt").write_text(text + "\n", encoding="utf-8")
    assert evaluate.main([str(folder / "serving"), "--test", str(folder_test), "--scores",
                          str(scores), "--output", str(tmp_path / "by-class.tsv")]) == 0
    written = json.loads(scores.read_text())
    assert {name: values["support"] for name, values in written["per_class"].items()} == {
        "music": 3, "politics": 0, "sport": 3,
    }
    assert written["accuracy"] >= 0.8


@pytest.mark.slow
def test_two_string_classes_from_a_tsv_keep_probability_and_name_the_label(tmp_path, capsys):
    # Other column names, CRLF line endings and a byte order mark; one short epoch.
    rows = ["review\ttopic"] + [
        f"{text}\t{label}" for label in ("sport", "music") for text in texts_of(label, 40, 2)
    ]
    train = tmp_path / "train.tsv"
    train.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    output = tmp_path / "run"
    code, out, err = run(["--train", train, "--text-column", "review", "--label-column",
                          "topic", "--model", "bigru", "--embedding-dim", "8", "--units", "8",
                          "--attention-units", "8", "--max-length", "16", "--epochs", "1",
                          "--no-attention-plots", "--output", output], capsys)
    assert code == 0, err
    assert "2 classes (music, sport)" in out
    assert json.loads((output / "config.json").read_text())["classes"] == ["music", "sport"]
    export = sorted((output / "serving").iterdir())[-1]
    served = tf.saved_model.load(str(export)).signatures["serving_default"](
        text=tf.constant(["football today", "a guitar"])
    )
    probability = served["probability"].numpy()  # of "sport", the second class
    np.testing.assert_allclose(served["probabilities"].numpy()[:, 1], probability, atol=1e-6)
    expected = ["sport" if p >= 0.5 else "music" for p in probability]
    assert [label.decode() for label in served["label"].numpy()] == expected


def _bad_inputs(tmp_path):
    """`(argv, what the message says)` per bad input; every file is in `tmp_path`."""
    good = write_csv(tmp_path / "good.csv", {"sport": 10, "music": 10})
    short = tmp_path / "short.csv"
    short.write_text("text,label\nfootball news,sport\nonly one cell\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\nfootball,sport\ncaf\xe9 guitar,music\n".encode("latin-1"))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    single = write_csv(tmp_path / "single.csv", {"sport": 12})
    unseen = tmp_path / "unseen.csv"
    unseen.write_text("text,label\nan election,politics\n", encoding="utf-8")
    return [
        (["--train", short], f"{short}:3"),
        (["--train", latin], f"{latin}: not valid UTF-8 at byte offset 29 (line 3)"),
        (["--train", empty], f"{empty}"),
        (["--train", single], "every example is labelled 'sport'"),
        (["--train", good, "--validation", unseen], f"{unseen}:2: label 'politics'"),
        (["--train", good, "--encoding", "no-such-codec"], "--encoding: 'no-such-codec' is not a codec"),
        (["--validation", good], "--validation goes with --train"),
        (["--train", good, "--dataset", "sst2"], "does not go with --dataset"),
    ]


def test_bad_input_ends_with_one_line_and_writes_nothing(tmp_path, capsys):
    output = tmp_path / "run"
    for argv, message in _bad_inputs(tmp_path):
        code, out, err = run([*argv, "--output", output], capsys)
        assert code == 2, (argv, err)
        last = err.strip().splitlines()[-1]  # argparse's usage, then what is wrong
        assert "error: " in last and message in last, (argv, err)
        assert not output.exists(), argv


def test_label_smoothing_over_n_classes_spreads_eps_over_all_of_them():
    # Targets 0.85 and 0.05 x 3 (eps 0.2 over 4 classes) against those very probabilities:
    # the loss is their entropy.
    loss = class_crossentropy(4, label_smoothing=0.2)
    labels = np.array([0, 1])
    probabilities = np.array([[0.85, 0.05, 0.05, 0.05], [0.05, 0.85, 0.05, 0.05]])
    entropy = -(0.85 * np.log(0.85) + 3 * 0.05 * np.log(0.05))
    assert float(loss(labels, probabilities)) == pytest.approx(entropy, rel=1e-5)
    # Without smoothing: the plain cross-entropy, -log 0.85.
    assert float(class_crossentropy(4)(labels, probabilities)) == pytest.approx(
        -np.log(0.85), rel=1e-5)


@pytest.mark.slow
def test_resume_reads_the_files_again_and_refuses_changed_classes(files_run, tmp_path, capsys):
    folder, _, _ = files_run
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    code, out, err = run(["--resume", "--no-export", "--output", copy], capsys)
    assert code == 0, err
    assert "Training already finished after epoch 6" in out
    assert json.loads((copy / "results.json").read_text())["classes"] == [
        "music", "politics", "sport"]
    changed = write_csv(tmp_path / "train.csv", {"sport": 20, "politics": 20, "music": 20})
    changed.write_text(changed.read_text() + "a saxophone,jazz\n" * 20, encoding="utf-8")
    config = json.loads((copy / "config.json").read_text())
    config["train"] = str(changed)
    (copy / "config.json").write_text(json.dumps(config))
    code, _, err = run(["--resume", "--output", copy], capsys)
    assert code == 2, err
    assert "its classes are now jazz, music, politics, sport" in err


def test_the_attention_view_shows_the_confusion_matrix_of_a_run_on_files(tmp_path):
    # Issue 25: the confusion matrix in the PNG and in the HTML view. No training: an
    # untrained tiny model, its view after one plotted epoch, then `evaluate`.
    task = ClassificationTask()
    corpus = generate_sentiment_corpus(60, seed=0)
    views, matrices = {}, {}
    for name, classes, count in (("files", ["negative", "positive"], 1),
                                 ("builtin", None, 1), ("ensemble", ["negative", "positive"], 2)):
        config = ClassificationConfig(
            dataset="files" if classes else "builtin", classes=classes, model="transformer",
            vocabulary_size=100, min_count=1, layers=1, model_dim=8, heads=2,
            feed_forward_dim=8, dropout=0.0, max_length=16, batch_size=16,
        )
        tokenizers = task.tokenizers(config, corpus)
        members = [task.build_model(config, tokenizers) for _ in range(count)]
        plots = task.attention_callback(config, corpus, None, tokenizers, tmp_path / name)
        plots.set_model(members[-1])
        plots.on_epoch_end(0)
        datasets = task.make_datasets(config, corpus, tokenizers, seed=0, batch_multiple=1)
        model = task.final_model(config, members)
        files = task.evaluate(config, model, members, corpus, tokenizers, datasets).files
        views[name], matrices[name] = files.get("attention/attention.html"), files.get(
            CONFUSION_MATRIX
        )
    assert matrices["files"].startswith(b"\x89PNG") and matrices["builtin"] is None
    page = views["files"].decode("utf-8")
    written = (tmp_path / "files/attention/attention.html").read_text(encoding="utf-8")
    # The page the run wrote, with the test split's confusion matrix under its sentences.
    images = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">', page)
    assert [(alt, base64.b64decode(data)) for alt, data in images] == [
        ("Confusion matrix of the test split (confusion_matrix.png)", matrices["files"])
    ]
    assert re.sub(r"<figure .*?</figure>", "", page, flags=re.S) == written
    # No confusion matrix (builtin), or no view of its own (an ensemble's members'): unchanged.
    assert views["builtin"] is None and views["ensemble"] is None
