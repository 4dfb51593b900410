"""`train_classifier.py --teacher`: knowledge distillation (Hinton et al. 2015) from a
finished run, with the targets, the metric and the command's checks asserted by value."""

import json
import shutil

import keras
import numpy as np
import pytest

import train_classifier
from attention_layers.data import generate_sentiment_corpus, make_classification_dataset
from attention_layers.models import BiGRUClassifier
from attention_layers.text import WordTokenizer, conversions
from attention_layers.training import distillation, metrics
from tests.helpers import run_in_process, tiny_bigru_int8_run

TINY = [
    "--model", "bigru", "--num-examples", "400", "--embedding-dim", "8", "--units", "8",
    "--attention-units", "8", "--batch-size", "32", "--max-length", "32",
    "--no-attention-plots", "--no-export",
]


def run(argv, capsys):
    return run_in_process(train_classifier, argv, capsys)


def tiny_classifier(vocabulary_size, seed=0):
    keras.utils.set_random_seed(seed)
    model = BiGRUClassifier(vocabulary_size, embedding_dim=8, units=8, attention_units=8)
    model.build()
    return model


def test_targets_mix_label_and_teacher_probability():
    corpus = generate_sentiment_corpus(200, seed=0)
    tokenizer = WordTokenizer.build([text for text, _ in corpus.train])
    teacher = tiny_classifier(tokenizer.vocabulary_size)
    examples = corpus.train[:70]  # more than one batch of 32
    labels = np.array([label for _, label in examples], "float32")
    probabilities = np.array([
        keras.ops.convert_to_numpy(
            teacher(conversions.make_token_ids(tokenizer, [text], 32))
        )[0, 0]
        for text, _ in examples
    ])
    for weight in (0.0, 0.3, 1.0):
        targets, agreement = distillation.distillation_targets(
            teacher, tokenizer, examples, 32, weight, batch_size=32
        )
        np.testing.assert_allclose(
            targets, (1 - weight) * labels + weight * probabilities, atol=1e-5
        )
        assert agreement == pytest.approx(np.mean((probabilities > 0.5) == (labels == 1)))
    np.testing.assert_array_equal(
        distillation.distillation_targets(teacher, tokenizer, examples, 32, 0.0)[0],
        labels,
    )

    # Soft targets make a float32 label column; the tokens are as for the 0/1 labels.
    soft = [(text, float(target)) for (text, _), target in zip(examples, targets, strict=True)]
    tokens, batch = next(iter(make_classification_dataset(soft, tokenizer, batch_size=70, bucket_by_length=False)))
    assert batch.dtype == "float32"
    np.testing.assert_allclose(np.sort(batch.numpy()), np.sort(targets), atol=1e-6)


def test_thresholded_accuracy_reads_soft_targets_by_their_side():
    y_pred = np.array([[0.7], [0.4], [0.3], [0.55]], "float32")
    soft = np.array([0.9, 0.2, 0.6, 0.51], "float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(metrics.thresholded_accuracy(soft, y_pred)),
        [1, 1, 0, 1],
    )
    hard = np.array([1, 0, 1, 0], "int32")
    keras_accuracy = keras.metrics.BinaryAccuracy()
    keras_accuracy.update_state(hard, y_pred)
    assert np.mean(metrics.thresholded_accuracy(hard, y_pred)) == pytest.approx(
        float(keras_accuracy.result())
    )


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """The session's finished `--model bigru` run (`tests.helpers.TINY_BIGRU_INT8`), which
    test_train_classifier.py checks: the teacher below, copied and rewritten."""
    return tiny_bigru_int8_run(tmp_path_factory)[0]


@pytest.mark.slow
def test_the_student_learns_the_teachers_answers_not_the_labels(finished_run, tmp_path, capsys):
    teacher_run = tmp_path / "teacher"
    shutil.copytree(finished_run, teacher_run)
    # The teacher, rewritten to answer "positive" (sigmoid(6) = 0.998) whatever the sentence:
    # a student that follows it says positive everywhere, one that learns the labels does not.
    teacher = keras.saving.load_model(teacher_run / "classifier.keras")
    for variable in teacher.weights:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    teacher.get_layer("probability").bias.assign([6.0])
    teacher.save(teacher_run / "classifier.keras")

    student_run = tmp_path / "student"
    argv = [*TINY, "--epochs", "2", "--patience", "0", "--learning-rate", "0.05",
            "--teacher", teacher_run, "--teacher-weight", "1", "--output", student_run]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert f"Teacher {teacher_run}: " in out and "training against 0 x label + 1 x" in out
    config = json.loads((student_run / "config.json").read_text())
    assert config["teacher"] == str(teacher_run) and config["teacher_weight"] == 1.0
    assert (student_run / "vocab.txt").read_text() == (teacher_run / "vocab.txt").read_text()
    student = keras.saving.load_model(student_run / "classifier.keras")
    corpus = generate_sentiment_corpus(400, seed=0)
    ids = conversions.make_token_ids(
        WordTokenizer.load(student_run / "vocab.txt"),
        [text for text, _ in corpus.validation], 32,
    )
    assert np.all(keras.ops.convert_to_numpy(student(ids)) > 0.5)
    results = json.loads((student_run / "results.json").read_text())
    positive = np.mean([label for _, label in corpus.validation])
    assert results["validation_accuracy"] == pytest.approx(positive)

    # --resume keeps the teacher; another one is refused.
    code, _, err = run(["--resume", "--output", student_run, "--teacher", tmp_path], capsys)
    assert code == 2 and "--teacher" in err and "differs from the run being resumed" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--teacher-weight", "0.5"], "--teacher-weight needs --teacher"),
        (["--teacher", "{tmp}", "--teacher-weight", "1.5"], "invalid fraction in [0, 1] value"),
        (["--teacher", "{tmp}"], "no classifier.keras or vocab.txt there; give the --output "
         "folder of a finished train_classifier.py run"),
        (["--teacher", "{run}", "--vocabulary-size", "100"],
         "--vocabulary-size and --min-count do not apply with --teacher"),
        (["--teacher", "{run}", "--dataset", "sst2", "--data", "{tmp}"],
         "the teacher was trained on --dataset builtin, the student on --dataset sst2"),
    ],
)
def test_bad_teacher_flags(argv, message, tmp_path, capsys):
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    for name in distillation.TEACHER_FILES:
        (run_folder / name).write_text("")
    (run_folder / "config.json").write_text(json.dumps({"dataset": "builtin"}))
    argv = [str(arg).format(tmp=tmp_path / "empty", run=run_folder) for arg in argv]
    (tmp_path / "empty").mkdir()
    code, _, err = run([*argv, "--output", tmp_path / "out"], capsys)
    assert code == 2
    assert message in err
