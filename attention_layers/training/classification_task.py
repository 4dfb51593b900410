"""What `train_classifier.py` trains: a sentiment classifier with attention pooling.

The runner (`attention_layers.training.runner`) does the training; this `Task` gives the
flags and presets, the corpus, the tokenizer, the model (or `--ensemble` of models), the
evaluation (accuracy, the most attended words, the attention on the deciding words) and
the export. `--teacher` distils a finished run (the SST-2 ensemble) into the model trained.
"""

import dataclasses
import json
import os
import pathlib

import keras
import numpy as np

from attention_layers import load_model
from attention_layers.data import (
    ChecksumError,
    CorpusFormatError,
    generate_sentiment_corpus,
    load_sst2,
    make_classification_datasets,
)
from attention_layers.data.generated_sentiment import NEGATIONS
from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, TransformerClassifier
from attention_layers.models.classifier import (
    BIGRAM_MULTIPLIER,
    MAX_BIGRAM_BUCKETS,
    valid_bigram_buckets,
)
from attention_layers.models.quantization import EMBEDDING_QUANTIZATIONS
from attention_layers.text import WordTokenizer
from attention_layers.text.tokenizers import VocabularyError
from attention_layers.training import command_line
from attention_layers.training.fit import (
    UsageError,
    closed_unit_interval,
    non_negative_int,
    seed_int,
)
from attention_layers.training.runner import Task
from attention_layers.training.translation_task import token_strings
from attention_layers.utils.keras_files import ModelFileError

# Defaults per dataset, then per model within it; flags override them. The generated corpus
# is small and regular. SST-2's settings are those of benchmarks/sentiment_quality.py: the
# best SST-2 dev accuracy found within 15 minutes on 2 CPU cores (the BiGRU), and for the
# Transformer the best of the settings tried (see benchmarks/RESULTS.md).
_TRANSFORMER = {
    "layers": 2, "model_dim": 64, "heads": 4, "feed_forward_dim": 128, "dropout": 0.1,
    "learning_rate": 1e-3,
}
_BIGRU = {"units": 64, "attention_units": 64, "learning_rate": 1e-3}
PRESETS = {
    "builtin": {
        "model": "transformer",
        "num_examples": 20_000,
        "vocabulary_size": 20_000,
        "min_count": 1,
        "max_length": 64,
        "batch_size": 32,
        "patience": 2,
        "bigram_buckets": 0,
        "ensemble": 1,
        "label_smoothing": 0.0,
        # Two pooling queries: a clause's sentiment can hinge on two words, a negation and
        # the word it flips, and one query's average of them holds neither whole (one
        # query stalls at 74% with all its weight on "not"; benchmarks/RESULTS.md,
        # "The default classifier").
        "transformer": {**_TRANSFORMER, "epochs": 5, "warmup_steps": 200, "pooling_heads": 2},
        "bigru": {**_BIGRU, "embedding_dim": 64, "dropout": 0.1, "epochs": 5},
    },
    "sst2": {
        "model": "bigru",
        "num_examples": None,
        "vocabulary_size": 20_000,
        "min_count": 2,
        "max_length": 64,
        "batch_size": 64,
        "patience": 1,
        # Hashed bigrams added to the pooled words, and the mean of 5 independently trained
        # classifiers: each adds about a point of dev accuracy (benchmarks/RESULTS.md).
        "bigram_buckets": 65_521,
        "ensemble": 5,
        "label_smoothing": 0.0,
        # One pass over the 67,349 phrases: a second one fits the phrases better and the
        # dev sentences worse (BiGRU, 4 seeds: 84.2% after one epoch, 83.5% after two).
        "transformer": {**_TRANSFORMER, "epochs": 1, "warmup_steps": 500},
        "bigru": {**_BIGRU, "embedding_dim": 128, "dropout": 0.5, "epochs": 1},
    },
}
MODELS = ("transformer", "bigru")
# `--preset single` (SST-2): one BiGRU under 20 MB instead of the ensemble of five. A wider
# word embedding with its tables stored as int8, and a moving average of the weights; like
# the ensemble's, chosen on GLUE dev (benchmarks/RESULTS.md, "A single model within 1 point").
SINGLE_PRESET = {
    "ensemble": 1, "embedding_dim": 192, "weight_averaging": 200, "quantize_embeddings": "int8",
}
SST2_PRESETS = ("ensemble", "single")

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_examples", "model", "vocabulary_size", "min_count", "layers",
    "model_dim", "heads", "feed_forward_dim", "embedding_dim", "units", "attention_units",
    "dropout", "batch_size", "max_length", "learning_rate", "warmup_steps", "precision",
    "seed", "bigram_buckets", "ensemble", "weight_averaging", "label_smoothing",
    "teacher", "teacher_weight", "preset", "pooling_heads",
)
BIGRU_ONLY = ("embedding_dim", "units", "attention_units")
TRANSFORMER_ONLY = (
    "layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps", "pooling_heads",
)
SAMPLES = 5
TOP_WORDS = 3
# `--teacher-weight` when only `--teacher` is given: half the label, half the teacher
# (benchmarks/RESULTS.md, "Sentiment quality", compares 0.5 with 1).
TEACHER_WEIGHT = 0.5
TEACHER_FILES = ("classifier.keras", "vocab.txt")



def make_token_ids(tokenizer, texts, max_length):
    """Token ids `(len(texts), T)` padded with 0, as the classifier reads them."""
    ragged = tokenizer.tokenize(texts, add_start_end=False, max_length=max_length)
    return ragged.to_tensor().numpy()


def pooling_attention(model, ids):
    """The pooling attention `(batch, T)` of the token ids `ids`."""
    return keras.ops.convert_to_numpy(model.get_attention_weights(ids)["pooling"])[:, 0]


def pooling_weights(model, ids):
    """`(probabilities (batch,), pooling attention (batch, T))` of the token ids `ids`."""
    return keras.ops.convert_to_numpy(model(ids))[:, 0], pooling_attention(model, ids)


def most_attended(model, tokenizer, examples, max_length, top=TOP_WORDS):
    """For each `(text, label)`: the probability and the `top` words with the most attention.

    Returns:
        A list of dicts `{"text", "label", "probability", "words": [[word, weight], ...]}`.
    """
    ids = make_token_ids(tokenizer, [text for text, _ in examples], max_length)
    probabilities, weights = pooling_weights(model, ids)
    results = []
    for (text, label), tokens, row, probability in zip(
        examples, token_strings(tokenizer, ids), weights, probabilities, strict=True
    ):
        order = np.argsort(-row[: len(tokens)], kind="stable")[:top]
        results.append({
            "text": text,
            "label": label,
            "probability": float(probability),
            "words": [[tokens[index], float(row[index])] for index in order],
        })
    return results


def deciding_attention(model, tokenizer, examples, deciding, max_length, batch_size=256):
    """The attention that falls on the deciding words, against a uniform spread.

    Positions that `max_length` cut off are not counted; a sentence whose deciding words
    were all cut off is skipped.

    Args:
        examples: `(text, label)` pairs.
        deciding: for each example, the word indices that decide its label.

    Returns:
        `(share, uniform, counted)`: the mean share of the pooling attention on the deciding
        words, the mean share that uniform attention would give them, and the number of
        sentences counted.
    """
    shares, uniform = [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        ids = make_token_ids(tokenizer, [text for text, _ in chunk], max_length)
        weights = pooling_attention(model, ids)
        for row, tokens, positions in zip(
            weights, ids, deciding[start : start + batch_size], strict=True
        ):
            length = int(np.count_nonzero(tokens))
            kept = [position for position in positions if position < length]
            if kept:
                shares.append(float(row[kept].sum()))
                uniform.append(len(kept) / length)
    if not shares:
        return 0.0, 0.0, 0
    return float(np.mean(shares)), float(np.mean(uniform)), len(shares)


def negated_attention(model, tokenizer, examples, deciding, max_length, batch_size=256):
    """Where the pooling looks in the sentences whose deciding clause is negated.

    Reading "not boring" takes both words: with all the attention on "not" the pooled
    vector holds no polarity (P(positive) near 0.5), although `deciding_attention` then
    counts every bit of it as on the deciding words. So the negation and the word it
    flips (the last deciding word, see `generate_sentiment_corpus`) are measured apart.
    Sentences whose negation or word `max_length` cut off are skipped.

    Args:
        examples: `(text, label)` pairs.
        deciding: for each example, the word indices that decide its label.

    Returns:
        `(on_negation, on_word, uniform, counted)`: the mean share of the pooling attention
        on the negation and on the word it flips, the mean share of one word under uniform
        attention, and the number of negated sentences counted.
    """
    on_negation, on_word, uniform = [], [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        ids = make_token_ids(tokenizer, [text for text, _ in chunk], max_length)
        weights = pooling_attention(model, ids)
        for row, tokens, positions in zip(
            weights, token_strings(tokenizer, ids), deciding[start : start + batch_size],
            strict=True,
        ):
            negations = [p for p in positions if p < len(tokens) and tokens[p] in NEGATIONS]
            if negations and positions[-1] < len(tokens):
                on_negation.append(float(row[negations[0]]))
                on_word.append(float(row[positions[-1]]))
                uniform.append(1 / len(tokens))
    if not on_word:
        return 0.0, 0.0, 0.0, 0
    return (float(np.mean(on_negation)), float(np.mean(on_word)), float(np.mean(uniform)),
            len(on_word))


def accuracy(model, dataset):
    """The share of `(tokens, label)` examples whose P(positive) > 0.5 matches the label.

    As `keras.metrics.BinaryAccuracy`, without compiling `model` (an ensemble is not).
    """
    correct = total = 0
    for tokens, labels in dataset:
        predicted = keras.ops.convert_to_numpy(model(np.asarray(tokens)))[:, 0] > 0.5
        correct += int(np.sum(predicted == (np.asarray(labels) == 1)))
        total += len(predicted)
    return correct / total


def thresholded_accuracy(y_true, y_pred):
    """Binary accuracy that reads the target at 0.5 too: `(batch,)` or `(batch, 1)` -> `(batch,)`.

    For the 0/1 labels it is `keras.metrics.BinaryAccuracy`; for a teacher's soft targets
    (`--teacher`) it is the share of sentences on the teacher's side of 0.5, where
    `BinaryAccuracy` would count a match only when the target is exactly 0 or 1.
    """
    y_pred = keras.ops.reshape(y_pred, (-1,))
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), (-1,))
    return keras.ops.cast(keras.ops.equal(y_true > 0.5, y_pred > 0.5), "float32")


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


def weights_only(model):
    """A copy of a trained classifier without its optimizer (saving it stores the weights)."""
    copy = type(model).from_config(model.get_config())
    copy.build()
    copy.set_weights(model.get_weights())
    return copy


def check_sst2_folder(data):
    """`UsageError` unless `data` is a folder in the GLUE SST-2 layout (or its parent)."""
    path = pathlib.Path(data)
    if not path.exists():
        raise UsageError(f"--data {data}: no such file or directory")
    if not path.is_dir():
        raise UsageError(
            f"--data {data}: not a folder; give the SST-2 folder (train.tsv, dev.tsv, "
            "test.tsv) or its parent"
        )
    if not (path / "train.tsv").is_file() and not (path / "SST-2" / "train.tsv").is_file():
        raise UsageError(
            f"--data {data}: no train.tsv there or in {data}/SST-2; give a folder in the "
            "GLUE SST-2 layout"
        )


class ClassificationTask(Task):
    """Sentiment classification: Transformer encoder or BiGRU with attention pooling."""

    name = "classifier"
    description = (
        "Train a sentiment classifier with attention pooling (Transformer encoder or BiGRU), "
        "report validation accuracy and the words with the most attention, and save the "
        "model."
    )
    default_output = "runs/classifier-{dataset}"
    presets = PRESETS
    run_defining = RUN_DEFINING
    recurrent_model = "bigru"
    example = "sentences"
    data_errors = (CorpusFormatError, ChecksumError, VocabularyError, ModelFileError)
    vocabulary_files = ("vocab.txt",)

    def add_flags(self, parser):
        data = command_line.add_dataset_flags(
            parser, PRESETS,
            dataset_help="'builtin': the generated sentiment corpus (offline, with the deciding "
            "words recorded); 'sst2': GLUE SST-2. Default: builtin.",
            data_help="sst2 only: a local folder in the GLUE layout (SST-2/ with train.tsv, "
            "dev.tsv, test.tsv, or its parent). Without it SST-2.zip is downloaded (needs "
            "internet).",
            size_flag="--num-examples",
            size_help="builtin only: sentences to generate (preset: 20000).",
        )
        command_line.add_count_flags(data, {
            "--vocabulary-size": "the most words in the vocabulary, the 4 reserved tokens "
            "included; at least 5 (preset).",
            "--min-count": "the fewest occurrences in train for a word to get its own id; rarer "
            "words become [UNK], which so learns to stand for the unseen words of new text "
            "(preset).",
            "--max-length": "the most tokens per sentence; longer ones are cut (preset).",
        })
        data.add_argument("--seed", type=seed_int, default=0,
                          help="corpus, split, shuffling and initialization seed (0).")
        self._add_model_flags(parser.add_argument_group("model"))
        distillation = parser.add_argument_group("distillation")
        distillation.add_argument(
            "--teacher", metavar="RUN",
            help="the --output folder of a finished run (e.g. the SST-2 ensemble) to distil "
            "into this model (Hinton et al. 2015): it trains against (1 - W) x the label + W "
            "x the teacher's probability, and reads the teacher's vocabulary (so "
            "--vocabulary-size and --min-count do not apply). Default: no teacher.",
        )
        distillation.add_argument(
            "--teacher-weight", type=closed_unit_interval, metavar="W",
            help=f"W above (default with --teacher: {TEACHER_WEIGHT}).",
        )

    def _add_model_flags(self, model):
        model.add_argument(
            "--preset", choices=SST2_PRESETS,
            help="sst2 only: 'ensemble', five BiGRUs (85.6%% dev accuracy, 204 MB), or "
            "'single', one BiGRU under 20 MB (--ensemble 1 --embedding-dim 192 "
            "--weight-averaging 200 --quantize-embeddings int8: 84.8%%, 16 MB). Flags given "
            "beside it win. Default: ensemble.",
        )
        model.add_argument(
            "--model", choices=MODELS,
            help="a Transformer encoder with attention pooling, or a bidirectional GRU with "
            "additive attention pooling (preset).",
        )
        command_line.add_model_size_flags(model, layers_help="encoder blocks", recurrent={
            "--embedding-dim": "bigru only: word embedding size (preset).",
            "--units": "bigru only: GRU size per direction (preset).",
            "--attention-units": "bigru only: hidden size of the additive attention (preset).",
        })
        command_line.add_count_flags(model, {
            "--pooling-heads": "transformer only: learned queries of the attention pooling, "
            "each taking its own weighted average of the words (Lin et al. 2017); with 1 a "
            "negation and the word it flips share one average (preset).",
        })
        model.add_argument(
            "--bigram-buckets", type=non_negative_int, metavar="N",
            help="rows of the hashed bigram embedding added to each pooled word "
            f"(HashedBigramEmbedding, at most {MAX_BIGRAM_BUCKETS:,}); 0: words only "
            "(preset).",
        )
        command_line.add_count_flags(model, {
            "--ensemble": "train M classifiers one after the other (seeds --seed, --seed + 1, "
            "...; each in OUTPUT/member_I) and save their mean, a ClassifierEnsemble (preset).",
        }, metavar="M")
        model.add_argument(
            "--quantize-embeddings", choices=EMBEDDING_QUANTIZATIONS,
            help="after training, store the word and bigram embedding tables as int8 with "
            "one float32 scale per row (Keras' post-training quantization): the saved model "
            "is about a quarter of the size, and the accuracy reported is the quantized "
            "model's. Default: float32 tables.",
        )

    def fill_flags(self, parser, args, given):
        command_line.check_dataset_flags(
            parser, args, real_dataset="sst2", size_flag="--num-examples"
        )
        preset = PRESETS[args.dataset]
        args.model = args.model or preset["model"]
        command_line.misplaced_flags(
            parser, given, args.model, {"bigru": BIGRU_ONLY, "transformer": TRANSFORMER_ONLY}
        )
        if args.preset is not None and args.dataset != "sst2":
            parser.error(f"--preset applies to --dataset sst2 only; received --dataset "
                         f"{args.dataset}.")
        if args.preset == "single":
            if args.model != "bigru":
                parser.error("--preset single is one BiGRU; it does not apply to --model "
                             f"{args.model}.")
            command_line.fill_preset(args, SINGLE_PRESET)
        settings = {name: value for name, value in preset.items() if name not in MODELS}
        command_line.fill_preset(args, {**settings, **preset[args.model]})
        if args.teacher is None and args.teacher_weight is not None:
            parser.error("--teacher-weight needs --teacher (the run to distil).")
        if args.teacher is not None:
            if given & {"vocabulary_size", "min_count"}:
                parser.error("--vocabulary-size and --min-count do not apply with --teacher: "
                             "the student reads the teacher's vocabulary.")
            args.teacher = str(pathlib.Path(args.teacher).resolve())
            args.teacher_weight = (
                TEACHER_WEIGHT if args.teacher_weight is None else args.teacher_weight
            )

    def check_flags(self, parser, args):
        if args.teacher and same_folder(args.teacher, args.output):
            parser.error(f"--teacher {args.teacher} is the --output folder: the student would "
                         "replace its teacher's run; give the student another --output.")
        problem = args.teacher and check_teacher(args.teacher, args.dataset)
        if problem:
            parser.error(problem)
        if args.bigram_buckets and not valid_bigram_buckets(args.bigram_buckets):
            parser.error(
                f"--bigram-buckets must be at most {MAX_BIGRAM_BUCKETS:,} and not a multiple "
                f"of {BIGRAM_MULTIPLIER}; received {args.bigram_buckets}."
            )

    def load_corpus(self, args):
        corpus = self._labelled_corpus(args)
        # A Namespace built by hand (a notebook, a benchmark) may have no teacher.
        return self._taught(args, corpus) if getattr(args, "teacher", None) else corpus

    def _labelled_corpus(self, args):
        if args.dataset == "builtin":
            return generate_sentiment_corpus(args.num_examples, seed=args.seed)
        if args.data is not None:
            check_sst2_folder(args.data)
        corpus = load_sst2(args.data, strict=True)
        for name in ("train", "validation"):
            if not corpus.split(name):
                raise UsageError(f"--data {args.data}: the {name} split is empty.")
        labels = sorted({label for _, label in corpus.train})
        if len(labels) < 2:
            raise UsageError(
                f"--data {args.data}: every sentence of train.tsv has label {labels[0]}; a "
                "classifier learns from both labels (0 and 1)."
            )
        return corpus

    def _taught(self, args, corpus):
        """`corpus` with the training labels replaced by `--teacher`'s targets (once a run:
        every `--ensemble` member trains on them)."""
        teacher = load_model(pathlib.Path(args.teacher) / "classifier.keras")
        if not isinstance(teacher, BiGRUClassifier | TransformerClassifier | ClassifierEnsemble):
            raise UsageError(
                f"--teacher {args.teacher}: classifier.keras holds a {type(teacher).__name__}, "
                "not a classifier; give the --output folder of a train_classifier.py run."
            )
        targets, agreement = distillation_targets(
            teacher, self.build_tokenizers(args, corpus)[0], corpus.train, args.max_length,
            args.teacher_weight,
        )
        print(f"Teacher {args.teacher}: {agreement:.4f} of the training labels; training "
              f"against {1 - args.teacher_weight:g} x label + {args.teacher_weight:g} x its "
              "probability")
        return dataclasses.replace(corpus, train=[
            (text, float(target)) for (text, _), target in zip(corpus.train, targets, strict=True)
        ])

    def tokenizer_class(self, args):
        return WordTokenizer

    def build_tokenizers(self, args, corpus):
        if getattr(args, "teacher", None):  # the teacher's ids: it labels the student's text
            return (WordTokenizer.load(pathlib.Path(args.teacher) / "vocab.txt"),)
        texts = [text for text, _ in corpus.train]
        return (WordTokenizer.build(
            texts, max_vocabulary_size=args.vocabulary_size, min_count=args.min_count
        ),)

    def describe_data(self, args, corpus, tokenizers):
        labelled = bool(corpus.test) and corpus.test[0][1] is not None
        return (
            f"Data: {args.dataset}, {len(corpus.train)} / {len(corpus.validation)} / "
            f"{len(corpus.test)} train / validation / test sentences"
            + ("" if labelled else " (test unlabelled)")
            + f"; vocabulary of {tokenizers[0].vocabulary_size} words"
        )

    def make_datasets(self, args, corpus, tokenizers, seed, batch_multiple):
        return make_classification_datasets(
            corpus, tokenizers[0], batch_size=args.batch_size, max_length=args.max_length,
            seed=seed, batch_multiple=batch_multiple,
        )

    def build_model(self, args, tokenizers):
        bigrams = args.bigram_buckets or None
        pooling_heads = getattr(args, "pooling_heads", None) or 1
        if args.model == "transformer":
            return TransformerClassifier(
                tokenizers[0].vocabulary_size, num_layers=args.layers,
                model_dim=args.model_dim, num_heads=args.heads,
                feed_forward_dim=args.feed_forward_dim, dropout=args.dropout,
                bigram_buckets=bigrams,
                # One query is Yang et al.'s pooling; a run from before the flag had one.
                pooling_heads=pooling_heads if pooling_heads > 1 else None,
            )
        return BiGRUClassifier(
            tokenizers[0].vocabulary_size, embedding_dim=args.embedding_dim, units=args.units,
            attention_units=args.attention_units, dropout=args.dropout,
            bigram_buckets=bigrams,
        )

    def loss_and_metrics(self, args):
        return {
            "loss": keras.losses.BinaryCrossentropy(label_smoothing=args.label_smoothing or 0.0),
            "metrics": [keras.metrics.MeanMetricWrapper(thresholded_accuracy, name="accuracy")],
        }

    def dummy_inputs(self):
        return np.ones((1, 2), "int32")

    def attention_callback(self, args, corpus, datasets, tokenizers, run):
        """Plots the pooling attention of two validation sentences after every epoch."""
        from attention_layers.visualization import AttentionPlotCallback

        texts = [text for text, _ in corpus.validation[:2]]
        ids = make_token_ids(tokenizers[0], texts, args.max_length)
        names = ("negative", "positive")

        def pooling_only(model, inputs):
            # The self-attention grids would triple the plotting time for little insight.
            return {"pooling": model.get_attention_weights(inputs)["pooling"]}

        def predicted(model, inputs):  # e.g. "positive (0.93)", P(positive) in brackets
            probabilities = keras.ops.convert_to_numpy(model(inputs, training=False))
            return [f"{names[int(p >= 0.5)]} ({p:.2f})" for p in probabilities.reshape(-1)]

        return AttentionPlotCallback(
            ids, run / "attention", source_tokens=token_strings(tokenizers[0], ids),
            log_dir=run / "logs" / "attention", attention_fn=pooling_only,
            true_labels=[names[int(label)] for _, label in corpus.validation[:2]],
            predicted_labels=predicted,
        )

    def final_model(self, args, models):
        # classifier.keras is for inference and serving (training state is in checkpoints/):
        # without Adam's two moments per weight it is a third of the size.
        model = weights_only(models[0]) if len(models) == 1 else self.combine(models)
        mode = getattr(args, "quantize_embeddings", None)  # a config written before: none
        if mode:
            for classifier in getattr(model, "members", [model]):
                classifier.quantize_embeddings(mode)
            print(f"Embedding tables quantized to {mode}")
        return model

    def combine(self, models):
        # Copies without the optimizers: a member's Adam moments would triple the file. The
        # ensemble is not compiled either, so that its file holds no optimizer at all.
        model = ClassifierEnsemble([weights_only(member) for member in models], name="ensemble")
        print(f"\nEnsemble of {len(models)} classifiers, {model.count_params():,} parameters")
        return model

    def evaluate(self, args, model, members, corpus, tokenizers, datasets):
        results = {}
        # Only train is shuffled (by seed): every member's validation and test splits match.
        if len(members) > 1:
            results["member_validation_accuracy"] = [
                accuracy(member, datasets.validation) for member in members
            ]
            print("Validation accuracy of each member: " + ", ".join(
                f"{value:.4f}" for value in results["member_validation_accuracy"]
            ))
        results["validation_accuracy"] = accuracy(model, datasets.validation)
        print(
            f"Validation accuracy: {results['validation_accuracy']:.4f} on "
            f"{len(corpus.validation)} sentences"
            + (" (SST-2 dev)" if args.dataset == "sst2" else "")
        )
        if getattr(args, "quantize_embeddings", None):  # what the quantization cost
            trained = members[0] if len(members) == 1 else ClassifierEnsemble(members)
            results["validation_accuracy_float32_tables"] = accuracy(
                trained, datasets.validation
            )
            print(f"  with float32 embedding tables (before --quantize-embeddings): "
                  f"{results['validation_accuracy_float32_tables']:.4f}")
        if corpus.test and corpus.test[0][1] is not None:
            results["test_accuracy"] = accuracy(model, datasets.test)
            print(f"Test accuracy: {results['test_accuracy']:.4f} on {len(corpus.test)} "
                  "sentences")
        results["samples"] = self._report_samples(args, model, corpus, tokenizers[0])
        if corpus.deciding_tokens:
            results.update(self._report_deciding(args, model, corpus, tokenizers[0]))
        return results

    def _report_samples(self, args, model, corpus, tokenizer):
        """Prints the most attended words (and the deciding ones) of a few sentences."""
        print(f"The words with the most attention (validation sentences, top {TOP_WORDS}):")
        examples = corpus.validation[:SAMPLES]
        samples = most_attended(model, tokenizer, examples, args.max_length)
        deciding = (corpus.deciding_tokens or {}).get("validation")
        ids = make_token_ids(tokenizer, [text for text, _ in examples], args.max_length)
        for index, (sample, tokens) in enumerate(
            zip(samples, token_strings(tokenizer, ids), strict=True)
        ):
            words = ", ".join(f"{word} ({weight:.2f})" for word, weight in sample["words"])
            print(f"  {sample['text']}\n    label {sample['label']}, P(positive) = "
                  f"{sample['probability']:.2f}; attention: {words}")
            if deciding is not None:
                # Positions past --max-length were cut off with the rest of the sentence.
                sample["deciding_words"] = [
                    tokens[i] for i in deciding[index] if i < len(tokens)
                ]
                print("    deciding words (recorded by the generator): "
                      f"{', '.join(sample['deciding_words']) or '(cut off by --max-length)'}")
        return samples

    def _report_deciding(self, args, model, corpus, tokenizer):
        """Prints and returns the attention on the deciding words of the validation split."""
        share, uniform, counted = deciding_attention(
            model, tokenizer, corpus.validation, corpus.deciding_tokens["validation"],
            args.max_length,
        )
        print(
            f"Attention on the deciding words: {share:.1%} of the pooling attention on "
            f"average ({counted} validation sentences; {uniform:.1%} if spread evenly)"
        )
        on_negation, on_word, word_uniform, negated = negated_attention(
            model, tokenizer, corpus.validation, corpus.deciding_tokens["validation"],
            args.max_length,
        )
        print(
            f"  in the {negated} negated ones: {on_negation:.1%} on the negation, "
            f"{on_word:.1%} on the word it flips ({word_uniform:.1%} each if spread evenly)"
        )
        return {
            "deciding_attention": share, "deciding_attention_uniform": uniform,
            "negated_attention_on_negation": on_negation,
            "negated_attention_on_word": on_word,
        }

    def headline(self, results):
        text = f"validation accuracy {results['validation_accuracy']:.4f}"
        if "deciding_attention" in results:
            text += f", {results['deciding_attention']:.0%} of the attention on deciding words"
        return text

    def export(self, args, model, tokenizers, path):
        from attention_layers.export import export_classifier

        return export_classifier(model, tokenizers[0], path, max_input_tokens=args.max_length)

    def serving_example(self, path):
        # `path` is a version, OUTPUT/serving/N; the server takes the run's folder.
        request = '{"instances": ["The acting was not boring."]}'
        return (
            f"python -m attention_layers serve {path.parent.parent}  # then: curl -d "
            f"'{request}' localhost:8501/v1/models/classifier:predict"
        )
