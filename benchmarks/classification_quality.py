"""Classification on the user's files, side by side: ours (`train_classifier.py --train`)
against Kim (2014)'s CNN-rand, on the same splits, the same token ids and the same
wall-clock budget.

For any labelled files (`--train PATH --test PATH [--validation PATH]`, every format
`train_classifier.py --train` reads) and each seed:

- ours: `train_classifier.py --train PATH --test PATH [--validation PATH] --max-minutes M
  --seed S`, run in this process through the runner (`run_command`), with the preset that
  the rule (`classification_rule.py`) picks from the training split; only the export is
  left out (it comes after training and the scores);
- CNN-rand, re-implemented from Kim (2014), "Convolutional Neural Networks for Sentence
  Classification", §2-§3 and the author's `conv_net_sentence.py`: word embeddings of 300,
  randomly initialised (uniform in [-0.25, 0.25]) and trained; filter windows 3, 4 and 5
  with 100 feature maps each and ReLU over the sentence padded with `window - 1` zero
  vectors at both ends; max-over-time pooling; dropout 0.5 on the 300 pooled features; a
  softmax whose weight vector of each class is rescaled to an L2 norm of 3 when a step
  takes it over (`MaxNorm(3)`); mini-batches of 50, Adadelta (rho 0.95, epsilon 1e-6,
  learning rate 1); at most 25 epochs (the paper's code) and the epoch of the best
  validation accuracy kept ("early stopping on dev sets"). It reads our run's own
  vocabulary (`vocab.txt`) and maximum length, and the same train / validation / test
  examples (`load_labelled_files` with the run's seed: the same stratified validation
  split when none is given), and trains for at most the same M minutes of `fit`, stopped
  at a step boundary as `--max-minutes` stops ours.

Kim (2014), Table 2, CNN-rand: 45.0 (SST-1: five classes), 82.7 (SST-2), 76.1 (MR), 89.6
(Subj), 91.2 (TREC); CNN-static / non-static with word2vec: 45.5 / 48.0 on SST-1. Those
SST figures are on the treebank's test split and were trained on every labelled phrase as
well as the sentences; a user's file of sentences has no phrases, so the like-for-like
reference is CNN-rand trained here on the same file.

The table gives, per system and seed, test accuracy and macro-F1, the epochs run, the
seconds of training (`fit`), the wall-clock and CPU time of the whole run (this process:
data, training, scoring) and the load average before and after (the machine's cores may
be shared: a slow run can be told from a slow model); then the medians and the ratio
ours / CNN-rand.

    python benchmarks/classification_quality.py --train ../shared/data/SST-5/train.tsv \
        --test ../shared/data/SST-5/dev.tsv --max-minutes 10            # seeds 0 1
    python benchmarks/classification_quality.py --train ../shared/data/SST-5/train.tsv \
        --test ../shared/data/SST-5/dev.tsv --relabel "very negative=negative" \
        "very positive=positive"                # a 3-class label set from the same files
    python benchmarks/classification_quality.py --train texts.csv --systems cnn-rand \
        --max-minutes 2 --seeds 0                # the reference alone, a short budget
"""

import argparse
import csv
import json
import os
import pathlib
import shlex
import statistics
import sys
import tempfile
import time

# The package's quiet start (imported first, before Keras) drops TensorFlow's start-up lines.
os.environ.setdefault("ATTENTION_LAYERS_QUIET_START", "1")

import attention_layers  # noqa: E402, F401

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from attention_layers.data import (  # noqa: E402
    CorpusFormatError,
    load_labelled_files,
    read_labelled_texts,
)
from attention_layers.experiments.harness import cpu_seconds  # noqa: E402
from attention_layers.text import PAD_ID, WordTokenizer  # noqa: E402
from attention_layers.training import describe_device  # noqa: E402
from attention_layers.training.metrics import classification_scores  # noqa: E402
from attention_layers.training.runner import run_command  # noqa: E402
from attention_layers.training.tasks.classification import ClassificationTask  # noqa: E402
from attention_layers.utils.files import atomic_write_text  # noqa: E402

SYSTEMS = ("ours", "cnn-rand")
# Kim (2014), §3.1 and `conv_net_sentence.py`: the CNN-rand hyper-parameters.
KIM = {
    "embedding_dim": 300,
    "windows": (3, 4, 5),
    "feature_maps": 100,
    "dropout": 0.5,
    "max_norm": 3.0,
    "batch_size": 50,
    "rho": 0.95,
    "epsilon": 1e-6,
    "epochs": 25,
    "embedding_range": 0.25,
}


# --- Kim (2014) CNN-rand ------------------------------------------------------------------


class CNNRand(keras.Model):
    """Kim (2014)'s CNN for sentence classification, CNN-rand (random word vectors).

    1. Word vectors: `x_i` in R^300 for each token id (the `[PAD]` id's vector is 0,
       as in the author's code, which zeroes it after every step). `(batch, T, 300)`
    2. The sentence padded with `max(windows) - 1` zero vectors at both ends (the
       author's `pad`), so that every window size sees each word at every position.
       `(batch, T + 2 * (max(windows) - 1), 300)`
    3. Per window h in `windows`: `c_i = ReLU(w . x_{i:i+h-1} + b)` for each of
       `feature_maps` filters (§2, eq. 2-3), then max-over-time pooling
       `c_hat = max{c}` (§2). `(batch, feature_maps)` each, `(batch, 300)` joined.
    4. Dropout (p 0.5) on the pooled features, then a softmax layer whose weight vector
       per class is rescaled to `max_norm` when a step takes its L2 norm over it (§2.1).
       `(batch, num_classes)`

    Args:
        vocabulary_size: token ids run from 0 to `vocabulary_size - 1` (0: `[PAD]`).
        num_classes: the softmax's size.
        embedding_dim, windows, feature_maps, dropout, max_norm: as in the paper (300;
            3, 4, 5; 100; 0.5; 3).

    Returns:
        Class probabilities, `(batch, num_classes)`.

    Example:

    >>> model = CNNRand(1000, num_classes=5)
    >>> model(np.ones((2, 7), "int32")).shape
    (2, 5)
    """

    def __init__(self, vocabulary_size, num_classes, *, embedding_dim=KIM["embedding_dim"],
                 windows=KIM["windows"], feature_maps=KIM["feature_maps"],
                 dropout=KIM["dropout"], max_norm=KIM["max_norm"], **kwargs):
        super().__init__(**kwargs)
        self.windows = tuple(windows)
        limit = KIM["embedding_range"]
        self.embedding = layers.Embedding(
            vocabulary_size, embedding_dim,
            embeddings_initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        self.convolutions = [
            layers.Conv1D(feature_maps, window, activation="relu") for window in self.windows
        ]
        self.dropout = layers.Dropout(dropout)
        # The author's softmax weights start at 0; his norm limit is on each class's column.
        self.classify = layers.Dense(
            num_classes, activation="softmax", kernel_initializer="zeros",
            kernel_constraint=keras.constraints.MaxNorm(max_norm, axis=0),
        )

    def pooled_features(self, token_ids):
        """Steps 1-3: the max-over-time features, `(batch, feature_maps * len(windows))`."""
        token_ids = ops.cast(token_ids, "int32")
        not_padding = ops.cast(ops.not_equal(token_ids, PAD_ID), self.compute_dtype)
        vectors = self.embedding(token_ids) * not_padding[..., None]  # (batch, T, 300)
        pad = max(self.windows) - 1
        vectors = ops.pad(vectors, ((0, 0), (pad, pad), (0, 0)))
        # (batch, T + 2 pad - h + 1, maps) per window -> max over time: (batch, maps)
        pooled = [ops.max(convolve(vectors), axis=1) for convolve in self.convolutions]
        return ops.concatenate(pooled, axis=-1)

    def call(self, token_ids, training=False):
        features = self.pooled_features(token_ids)
        return self.classify(self.dropout(features, training=training))


class BestEpochWithinBudget(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best validation accuracy (Kim's choice of
    epoch) and stops `fit` at the first step boundary after `seconds` (as
    `--max-minutes`); the cut epoch is validated and may be the one kept.

    Attributes:
        epochs: the epochs run (the cut one included).
        best_epoch: the kept epoch (1-based).
        training_seconds: the seconds `fit` took.
    """

    def __init__(self, seconds, clock=time.perf_counter):
        super().__init__()
        self.seconds, self.clock = seconds, clock

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.best, self.best_weights, self.best_epoch, self.epochs = -1.0, None, 0, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.seconds is not None and self.clock() - self._start >= self.seconds:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        if logs["val_accuracy"] > self.best:
            self.best, self.best_epoch = logs["val_accuracy"], epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        self.training_seconds = self.clock() - self._start
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def token_arrays(examples, tokenizer, max_length):
    """`(ids, labels)`: our pipeline's token ids (no `[START]`/`[END]`, cut at
    `max_length`), padded with `[PAD]` to `max_length`. `(n, max_length)`, `(n,)`"""
    ids = tokenizer.tokenize(
        [text for text, _ in examples], add_start_end=False, max_length=max_length
    ).to_tensor(default_value=PAD_ID, shape=[None, max_length])
    return np.asarray(ids, "int32"), np.array([label for _, label in examples], "int32")


def cnn_rand_model(vocabulary_size, num_classes, **sizes):
    """A compiled `CNNRand` (`sizes`: its keyword arguments; default the paper's) with the
    paper's optimizer (Adadelta, rho 0.95)."""
    model = CNNRand(vocabulary_size, num_classes, **sizes)
    model.compile(
        optimizer=keras.optimizers.Adadelta(
            learning_rate=1.0, rho=KIM["rho"], epsilon=KIM["epsilon"]
        ),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def run_cnn_rand(files, vocabulary, max_length, minutes, seed):
    """CNN-rand on `files` with our run's `vocabulary` (`vocab.txt`) and `max_length`."""
    corpus = load_labelled_files(files["train"], files["validation"], files["test"], seed=seed)
    tokenizer = WordTokenizer.load(vocabulary)
    train_x, train_y = token_arrays(corpus.train, tokenizer, max_length)
    validation = token_arrays(corpus.validation, tokenizer, max_length)
    test_x, test_y = token_arrays(corpus.test, tokenizer, max_length)
    keras.utils.set_random_seed(seed)
    model = cnn_rand_model(tokenizer.vocabulary_size, len(corpus.classes))
    budget = BestEpochWithinBudget(None if minutes is None else 60 * minutes)
    model.fit(train_x, train_y, batch_size=KIM["batch_size"], epochs=KIM["epochs"],
              validation_data=validation, shuffle=True, callbacks=[budget], verbose=2)
    predicted = np.argmax(model.predict(test_x, batch_size=256, verbose=0), axis=-1)
    scores = classification_scores(test_y.tolist(), predicted.tolist(), corpus.classes)
    return {
        "test_accuracy": scores["accuracy"],
        "test_macro_f1": scores["macro_f1"],
        "validation_accuracy": budget.best,
        "epochs": budget.epochs,
        "best_epoch": budget.best_epoch,
        "training_seconds": budget.training_seconds,
        "parameters": model.count_params(),
    }


# --- ours ---------------------------------------------------------------------------------


def run_ours(files, output, minutes, seed, extra_flags=()):
    """`train_classifier.py --train ... --max-minutes M --seed S` in this process."""
    argv = ["--train", files["train"], "--test", files["test"]]
    if files["validation"] is not None:
        argv += ["--validation", files["validation"]]
    if minutes is not None:
        argv += ["--max-minutes", f"{minutes:g}"]
    results = run_command(ClassificationTask(), [
        *argv, "--seed", str(seed), "--no-export", "--output", str(output), "--overwrite",
        *extra_flags,
    ])
    with open(output / "training_log.csv", newline="") as log:
        epochs = list(csv.DictReader(log))
    config = json.loads((output / "config.json").read_text())
    return {
        "test_accuracy": float(results["test_accuracy"]),
        "test_macro_f1": float(results["test_macro_f1"]),
        "validation_accuracy": float(results["validation_accuracy"]),
        "epochs": len(epochs),
        "training_seconds": float(results["training_seconds"]),
        "max_length": config["max_length"],
        "model": config["model"],
    }


# --- the data -----------------------------------------------------------------------------


def relabelled_files(files, rules, folder):
    """`files` with each label `OLD` of `rules` (`OLD=NEW` strings) read as `NEW`,
    written as JSON lines under `folder`: a new label set from the same texts."""
    mapping = {}
    for rule in rules:
        old, separator, new = rule.partition("=")
        if not separator or not old or not new:
            raise CorpusFormatError(f"--relabel {rule!r}: write OLD=NEW, e.g. "
                                    "'very negative=negative'")
        mapping[old] = new
    written = {}
    for split, path in files.items():
        if path is None:
            written[split] = None
            continue
        lines = [
            json.dumps({"text": text, "label": mapping.get(str(label), str(label))})
            for text, label, _ in read_labelled_texts(path)
        ]
        written[split] = str(folder / f"{split}.jsonl")
        atomic_write_text(written[split], "\n".join(lines) + "\n")
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, metavar="PATH",
                        help="labelled training texts (any format of train_classifier.py)")
    parser.add_argument("--test", required=True, metavar="PATH", help="labelled test texts")
    parser.add_argument("--validation", metavar="PATH",
                        help="validation texts (default: the run's stratified 10%% of train)")
    parser.add_argument("--max-minutes", type=float, default=10.0, metavar="M",
                        help="each system's training budget, wall clock (default 10)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS),
                        help="cnn-rand alone still runs ours for a second, for its "
                        "vocabulary and maximum length")
    parser.add_argument("--relabel", nargs="+", default=(), metavar="OLD=NEW",
                        help="read label OLD as NEW in every file (a new label set)")
    parser.add_argument("--train-flags", default="", metavar="FLAGS",
                        help="more train_classifier.py flags for ours, one string")
    parser.add_argument("--output", metavar="DIR",
                        help="where the runs write (default: a temporary folder)")
    return parser.parse_args(argv)


def median(rows, name):
    return statistics.median(row[name] for row in rows)


def print_table(runs, systems):
    print("\n| system | seed | test accuracy | test macro-F1 | epochs | training (fit) "
          "| wall (whole run) | CPU (whole run) | load average before / after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in runs:
        print(f"| {row['system']} | {row['seed']} | {row['test_accuracy']:.4f} | "
              f"{row['test_macro_f1']:.4f} | {row['epochs']} | {row['training_seconds']:.0f} s "
              f"| {row['wall_seconds']:.0f} s | {row['cpu_seconds']:.0f} s | "
              f"{row['load_before']:.2f} / {row['load_after']:.2f} |")
    print("\n| system | runs | median test accuracy (min - max) | median macro-F1 "
          "| median training (fit) | median CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in systems:
        rows = [row for row in runs if row["system"] == name]
        if not rows:
            continue
        accuracy = [row["test_accuracy"] for row in rows]
        print(f"| {name} | {len(rows)} | **{median(rows, 'test_accuracy'):.4f}** "
              f"({min(accuracy):.4f} - {max(accuracy):.4f}) | "
              f"{median(rows, 'test_macro_f1'):.4f} | {median(rows, 'training_seconds'):.0f} s "
              f"| {median(rows, 'cpu_seconds'):.0f} s |")
    ours = [row for row in runs if row["system"] == "ours"]
    cnn = [row for row in runs if row["system"] == "cnn-rand"]
    if ours and cnn:
        print(f"\nours / CNN-rand (medians): accuracy "
              f"{median(ours, 'test_accuracy') / median(cnn, 'test_accuracy'):.3f}, "
              f"macro-F1 {median(ours, 'test_macro_f1') / median(cnn, 'test_macro_f1'):.3f}")


def main(argv=None):
    args = parse_args(argv)
    output = pathlib.Path(args.output or tempfile.mkdtemp(prefix="classification_quality_"))
    output.mkdir(parents=True, exist_ok=True)
    files = {"train": args.train, "validation": args.validation, "test": args.test}
    try:
        if args.relabel:
            files = relabelled_files(files, args.relabel, output)
        load_labelled_files(files["train"], files["validation"], files["test"])
    except (CorpusFormatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(describe_device())
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    runs = []
    for seed in args.seeds:
        folder = output / f"ours_seed_{seed}"
        for name in args.systems:
            print(f"\n=== {name}, seed {seed} ===", flush=True)
            start_cpu, start_wall = cpu_seconds(), time.perf_counter()
            load_before = os.getloadavg()[0]
            if name == "ours":
                row = run_ours(files, folder, args.max_minutes, seed,
                               shlex.split(args.train_flags))
            else:
                if not (folder / "vocab.txt").exists():  # ours not asked for: its data only
                    run_ours(files, folder, 1 / 60, seed, shlex.split(args.train_flags))
                max_length = json.loads((folder / "config.json").read_text())["max_length"]
                row = run_cnn_rand(files, folder / "vocab.txt", max_length, args.max_minutes,
                                   seed)
            row.update(system=name, seed=seed, wall_seconds=time.perf_counter() - start_wall,
                       cpu_seconds=cpu_seconds() - start_cpu, load_before=load_before,
                       load_after=os.getloadavg()[0])
            runs.append(row)
            print(json.dumps(row), flush=True)
    print_table(runs, args.systems)
    atomic_write_text(output / "classification_quality.json", json.dumps(runs, indent=2))
    print(f"\nDetails in {output / 'classification_quality.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
