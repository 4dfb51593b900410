"""Knowledge distillation for the classifier (`--teacher`): a finished run's probabilities
as the student's targets, and the checks of the teacher's folder."""

import dataclasses
import json
import os
import pathlib

import numpy as np

from attention_layers import load_model
from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, TransformerClassifier
from attention_layers.text import WordTokenizer
from attention_layers.text.conversions import make_token_ids
from attention_layers.training.flags import UsageError

# `--teacher-weight` when only `--teacher` is given: half the label, half the teacher
# (benchmarks/RESULTS.md, "Sentiment quality", compares 0.5 with 1).
TEACHER_WEIGHT = 0.5
TEACHER_FILES = ("classifier.keras", "vocab.txt")


def same_folder(first, second):
    """Whether two paths name one folder (whatever their spelling: `..`, links)."""
    first, second = pathlib.Path(first), pathlib.Path(second)
    if first.exists() and second.exists():
        return os.path.samefile(first, second)
    return first.resolve() == second.resolve()


def check_teacher(folder, dataset):
    """The `UsageError` (or None) of a `--teacher` folder for a student on `dataset`."""
    path = pathlib.Path(folder)
    missing = [name for name in TEACHER_FILES if not (path / name).is_file()]
    if missing:
        return (f"--teacher {folder}: no {' or '.join(missing)} there; give the --output "
                "folder of a finished train_classifier.py run.")
    config = path / "config.json"
    try:
        saved = json.loads(config.read_text()) if config.is_file() else {}
    except (ValueError, OSError) as error:  # not JSON, not UTF-8, unreadable
        return f"--teacher {folder}: {config} is not JSON ({error}); is it a run's folder?"
    if not isinstance(saved, dict):
        return (f"--teacher {folder}: {config} is not a run's config.json (a JSON "
                f"{type(saved).__name__}, not an object).")
    teacher_dataset = saved.get("dataset")
    if teacher_dataset not in (None, dataset):
        return (f"--teacher {folder}: the teacher was trained on --dataset {teacher_dataset}, "
                f"the student on --dataset {dataset}; a teacher labels its own task's sentences.")
    return None


def distillation_targets(teacher, tokenizer, examples, max_length, weight, batch_size=256):
    """The targets `(1 - weight) * label + weight * P_teacher(positive)` of `examples`.

    Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a
    Neural Network", §2): the student's binary cross-entropy against this target is the
    weighted sum of its cross-entropy against the label and against the teacher's
    probability, which tells it how sure the teacher is, not only which side it takes.

    Args:
        teacher: a classifier (or `ClassifierEnsemble`) of token ids `(batch, T)` -> P(positive)
            `(batch, 1)`.
        tokenizer: the teacher's `WordTokenizer`.
        examples: `(text, label)` pairs, labels 0 or 1.
        max_length: the most tokens per sentence, as the student reads them.
        weight: float in [0, 1]; 0 gives the labels, 1 the teacher's probabilities.
        batch_size: sentences per forward pass of the teacher.

    Returns:
        `(targets, teacher_accuracy)`: float32 `(len(examples),)`, and the share of
        `examples` on whose label the teacher agrees.
    """
    texts = [text for text, _ in examples]
    labels = np.array([label for _, label in examples], "float32")
    # Shortest first, so that each batch is padded little; the compiled predict step
    # (`predict_on_batch`) generalizes over the lengths after its first few.
    order = np.argsort([len(text.split()) for text in texts], kind="stable")
    probabilities = np.empty(len(texts), "float32")
    for start in range(0, len(texts), batch_size):
        chosen = order[start : start + batch_size]
        ids = make_token_ids(tokenizer, [texts[i] for i in chosen], max_length)
        probabilities[chosen] = np.asarray(teacher.predict_on_batch(ids))[:, 0]
    targets = (1 - weight) * labels + weight * probabilities
    return targets, float(np.mean((probabilities > 0.5) == (labels == 1)))


def taught_corpus(corpus, teacher, weight, max_length):
    """`corpus` with the training labels replaced by the targets of the `--teacher` run in
    folder `teacher` (`distillation_targets` with `weight`), once a run: every
    `--ensemble` member trains on them.

    Raises:
        UsageError: the teacher's `classifier.keras` holds no classifier.
    """
    folder = pathlib.Path(teacher)
    model = load_model(folder / "classifier.keras")
    if not isinstance(model, BiGRUClassifier | TransformerClassifier | ClassifierEnsemble):
        raise UsageError(
            f"--teacher {teacher}: classifier.keras holds a {type(model).__name__}, "
            "not a classifier; give the --output folder of a train_classifier.py run."
        )
    targets, agreement = distillation_targets(
        model, WordTokenizer.load(folder / "vocab.txt"), corpus.train, max_length, weight
    )
    print(f"Teacher {teacher}: {agreement:.4f} of the training labels; training "
          f"against {1 - weight:g} x label + {weight:g} x its probability")
    return dataclasses.replace(corpus, train=[
        (text, float(target)) for (text, _), target in zip(corpus.train, targets, strict=True)
    ])
