"""What `train_classifier.py` trains: a text classifier with attention pooling, on the
generated sentiment corpus, SST-2, or the user's labelled files (`--train`, any labels).

The runner (`attention_layers.training.runner`) does the training; this `Task` gives the
flags and presets, the corpus, the tokenizer, the model (or `--ensemble` of models), the
evaluation (accuracy, the most attended words, the attention on the deciding words; on
files macro-F1, a per-class table and a confusion matrix) and the export. `--teacher`
distils a finished run (the SST-2 ensemble) into the model trained.
"""

import dataclasses
import io
import pathlib

import keras
import numpy as np
import tensorflow as tf

from attention_layers.data import (
    ChecksumError,
    CorpusFormatError,
    generate_sentiment_corpus,
    load_sst2,
    make_classification_datasets,
)
from attention_layers.data.user_corpora import load_labelled_files
from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, TransformerClassifier
from attention_layers.models.classifier import (
    BIGRAM_MULTIPLIER,
    MAX_BIGRAM_BUCKETS,
    valid_bigram_buckets,
)
from attention_layers.models.quantization import EMBEDDING_QUANTIZATIONS
from attention_layers.text import WordTokenizer
from attention_layers.text.conversions import make_token_ids, token_strings
from attention_layers.text.tokenizers import VocabularyError
from attention_layers.training import command_line
from attention_layers.training.configs import CorpusTaskConfig
from attention_layers.training.distillation import (
    TEACHER_WEIGHT,
    check_teacher,
    same_folder,
    taught_corpus,
)
from attention_layers.training.evaluation import (
    accuracy,
    class_predictions,
    predicted_classes,
    report_deciding,
    report_samples,
)
from attention_layers.training.flags import (
    UsageError,
    closed_unit_interval,
    non_negative_int,
    seed_int,
)
from attention_layers.training.metrics import classification_scores, thresholded_accuracy
from attention_layers.training.schedules import model_adam
from attention_layers.training.tasks.base import Evaluation, Task, load_tokenizers, overlong_report
from attention_layers.training.tasks.classification_presets import PRESETS, SINGLE_PRESET
from attention_layers.utils.keras_files import ModelFileError

MODELS = ("transformer", "bigru")
SST2_PRESETS = ("ensemble", "single")

# Flags that define the model and its data: a resumed run must keep them.
RUN_DEFINING = (
    "dataset", "data", "num_examples", "model", "vocabulary_size", "min_count", "layers",
    "model_dim", "heads", "feed_forward_dim", "embedding_dim", "units", "attention_units",
    "dropout", "batch_size", "max_length", "learning_rate", "warmup_steps", "precision",
    "seed", "bigram_buckets", "ensemble", "weight_averaging", "label_smoothing",
    "teacher", "teacher_weight", "preset", "pooling_heads", "train", "validation", "test",
    "text_column", "label_column", "encoding", "class_weight", "classes",
)
# The flags that only a run on the user's files (`--train`) takes.
FILES_ONLY = ("validation", "test", "text_column", "label_column")
CONFUSION_MATRIX = "confusion_matrix.png"
BIGRU_ONLY = ("embedding_dim", "units", "attention_units")
TRANSFORMER_ONLY = (
    "layers", "model_dim", "heads", "feed_forward_dim", "warmup_steps", "pooling_heads",
)
SAMPLES = 5


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


def combine(models):
    """The ensemble of the trained `models` (`--ensemble M`), without their optimizers."""
    # Copies without the optimizers: a member's Adam moments would triple the file. The
    # ensemble is not compiled either, so that its file holds no optimizer at all.
    model = ClassifierEnsemble([weights_only(member) for member in models], name="ensemble")
    print(f"\nEnsemble of {len(models)} classifiers, {model.count_params():,} parameters")
    return model


def balanced_class_weights(labels, num_classes):
    """`--class-weight balanced`: each class's weight `n / (N * count)` (scikit-learn's
    `compute_class_weight("balanced")`), so that every class weighs as much in the loss.

    Args:
        labels: the training labels (class indices).
        num_classes: `N`.

    Returns:
        A list of `N` floats, class `i`'s at index `i`.

    Example:

    >>> balanced_class_weights([0, 0, 0, 1], 2)
    [0.6666666666666666, 2.0]
    """
    counts = np.bincount(np.asarray(labels, dtype="int64"), minlength=num_classes)
    return [len(labels) / (num_classes * int(count)) for count in counts]


def files_key(config):
    """The flags that decide which corpus a run on files reads (equal keys: equal corpora)."""
    return (config.train, config.validation, config.test, config.text_column,
            config.label_column, config.encoding, config.seed)


def confusion_png(counts, classes, title):
    """The PNG bytes of the confusion matrix `counts` (`plot_confusion_matrix`)."""
    from attention_layers.visualization import plot_confusion_matrix

    buffer = io.BytesIO()
    plot_confusion_matrix(counts, classes, title=title).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def print_class_table(scores, split):
    """Prints a split's per-class precision, recall, F1 and support."""
    width = max(len("class"), *(len(name) for name in scores["per_class"]))
    print(f"Per class ({split}):\n  {'class':<{width}}  precision  recall     f1  support")
    for name, values in scores["per_class"].items():
        print(f"  {name:<{width}}  {values['precision']:9.3f}  {values['recall']:6.3f}  "
              f"{values['f1']:5.3f}  {values['support']:7d}")


def headline(results):
    """The run's main figures in a few words."""
    text = f"validation accuracy {results['validation_accuracy']:.4f}"
    if "validation_macro_f1" in results:
        text += f", macro-F1 {results['validation_macro_f1']:.4f}"
    if "deciding_attention" in results:
        text += f", {results['deciding_attention']:.0%} of the attention on deciding words"
    return text


@dataclasses.dataclass(frozen=True)
class ClassificationConfig(CorpusTaskConfig):
    """A classifier's settings: the flags of `train_classifier.py` that the task reads (see
    `--help`); those that a `--model` does not use are `None`, and so are those that a
    `config.json` written before them lacks."""

    num_examples: int | None = None
    preset: str | None = None
    min_count: int | None = None
    pooling_heads: int | None = None
    attention_units: int | None = None
    bigram_buckets: int | None = None
    quantize_embeddings: str | None = None
    teacher: str | None = None
    teacher_weight: float | None = None
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    text_column: str | None = None
    label_column: str | None = None
    encoding: str = "utf-8"
    class_weight: str | None = None
    classes: tuple | list | None = None

    @property
    def num_classes(self):
        """The classes the model tells apart: 2 unless a run on files has more."""
        return len(self.classes) if self.classes else 2


class ClassificationTask(Task):
    """Text classification: Transformer encoder or BiGRU with attention pooling."""

    name = "classifier"
    config_class = ClassificationConfig
    description = (
        "Train a text classifier with attention pooling (Transformer encoder or BiGRU) on "
        "the generated sentiment corpus, SST-2 or your own labelled files (--train, any "
        "labels), report validation accuracy and the words with the most attention, and "
        "save the model."
    )
    default_output = "runs/classifier-{dataset}"
    presets = PRESETS
    run_defining = RUN_DEFINING
    resume_may_change = ("quantize_embeddings",)
    ensembles = True
    recurrent_model = "bigru"
    example = "sentences"
    data_errors = (CorpusFormatError, ChecksumError, VocabularyError, ModelFileError)
    vocabulary_files = ("vocab.txt",)
    serving_request = '{"instances": ["The acting was not boring."]}'

    def add_flags(self, parser):
        data = command_line.add_dataset_flags(
            parser, self.presets,
            dataset_help="'builtin': the generated sentiment corpus (offline, with the deciding "
            "words recorded); 'sst2': GLUE SST-2; 'files': your own (--train, which implies "
            "it). Default: builtin.",
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
        self._add_file_flags(data)
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

    def _add_file_flags(self, data):
        data.add_argument(
            "--train", metavar="PATH",
            help="your own labelled texts: a CSV/TSV with a header (text column 'text' or "
            "'sentence', label column 'label'), JSON lines, or a folder with one sub-folder "
            "of .txt files per class. Labels are any strings or integers, two classes or "
            "more (a softmax over N).",
        )
        data.add_argument("--validation", metavar="PATH", help="--train only: validation "
                          "examples (default: a stratified, seeded 10%% of train).")
        data.add_argument("--test", metavar="PATH", help="--train only: test examples "
                          "(default: another stratified 10%% of train).")
        data.add_argument("--text-column", metavar="NAME", help="--train only: the text "
                          "column or key (default: text, else sentence).")
        data.add_argument("--label-column", metavar="NAME", help="--train only: the label "
                          "column or key (default: label).")
        data.add_argument("--encoding", default="utf-8", help="--train only: the files' "
                          "codec (default utf-8; a BOM is skipped).")
        data.add_argument(
            "--class-weight", choices=("balanced",),
            help="'balanced': weigh each training example's loss by n / (N x count of its "
            "class), so that a rare class counts as much as a common one (skewed data). "
            "Default: every example weighs 1.",
        )
        # The training file's class names, recorded in config.json (not a flag).
        data.set_defaults(classes=None)

    def output_folder(self, args):
        if args.train is not None:
            return "runs/classifier-files"
        return super().output_folder(args)

    def _fill_files(self, parser, args):
        """A run on the user's files: checks their flags and reads the class names."""
        if args.train is None:
            if args.dataset == "files":
                parser.error("--dataset files reads your own labelled files: give --train "
                             "PATH.")
            for name in FILES_ONLY:
                if getattr(args, name) is not None:
                    parser.error(f"--{name.replace('_', '-')} goes with --train (your own "
                                 "labelled files).")
            if args.encoding != "utf-8":
                parser.error("--encoding goes with --train (your own files).")
            return
        if (args.dataset not in ("builtin", "files") or args.data is not None
                or args.num_examples is not None or args.preset is not None):
            parser.error("--train gives your own labelled texts; it does not go with "
                         "--dataset, --data, --num-examples or --preset.")
        if args.teacher is not None:
            parser.error("--teacher distils a run on the same data; it does not go with "
                         "--train.")
        args.dataset = "files"
        config = ClassificationConfig.from_flags(args)
        try:
            corpus = self._read_files(config)
        except CorpusFormatError as error:
            parser.error(str(error))
        args.classes = list(corpus.classes)
        # `load_corpus` takes it from here instead of reading the files a second time.
        self._read_ahead = (config, corpus)

    def _read_files(self, config):
        """The corpus of `config`'s files (`CorpusFormatError` for an unknown codec too)."""
        try:
            return load_labelled_files(
                config.train, config.validation, config.test,
                text_column=config.text_column, label_column=config.label_column,
                seed=config.seed, encoding=config.encoding,
            )
        except LookupError:
            raise CorpusFormatError(
                f"--encoding {config.encoding}: not a codec Python knows (e.g. utf-8, "
                "latin-1, cp1252)"
            ) from None

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
        self._fill_files(parser, args)
        preset = self.presets[args.dataset]
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
        if args.class_weight is not None and args.teacher is not None:
            parser.error("--class-weight weighs hard labels; it does not go with --teacher "
                         "(whose targets are probabilities).")
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

    def upgrade_config(self, saved):
        saved.setdefault("teacher", None)  # written before --teacher
        saved.setdefault("teacher_weight", None)
        saved.setdefault("preset", None)  # written before --preset
        saved.setdefault("pooling_heads", None)  # written before --pooling-heads: one query
        for name in ("train", *FILES_ONLY, "class_weight", "classes"):  # before --train
            saved.setdefault(name, None)
        saved.setdefault("encoding", "utf-8")

    def check(self, parser, config, settings):
        command_line.check_vocabulary_size(parser, config)
        command_line.check_transformer_sizes(parser, config)
        teacher = config.teacher
        if teacher and same_folder(teacher, settings.output):
            parser.error(f"--teacher {teacher} is the --output folder: the student would "
                         "replace its teacher's run; give the student another --output.")
        problem = teacher and check_teacher(teacher, config.dataset)
        if problem:
            parser.error(problem)
        if config.num_classes > 2 and config.label_smoothing:
            parser.error(f"--label-smoothing applies to two classes; the training file has "
                         f"{config.num_classes}.")
        if config.bigram_buckets and not valid_bigram_buckets(config.bigram_buckets):
            parser.error(
                f"--bigram-buckets must be at most {MAX_BIGRAM_BUCKETS:,} and not a multiple "
                f"of {BIGRAM_MULTIPLIER}; received {config.bigram_buckets}."
            )

    def load_corpus(self, config):
        corpus = self._labelled_corpus(config)
        if not config.teacher:
            return corpus
        return taught_corpus(corpus, config.teacher, config.teacher_weight, config.max_length)

    def _labelled_corpus(self, config):
        if config.dataset == "files":
            return self._files_corpus_checked(config)
        if config.dataset == "builtin":
            return generate_sentiment_corpus(config.num_examples, seed=config.seed)
        if config.data is not None:
            check_sst2_folder(config.data)
        corpus = load_sst2(config.data, strict=True)
        for name in ("train", "validation"):
            if not corpus.split(name):
                raise UsageError(f"--data {config.data}: the {name} split is empty.")
        labels = sorted({label for _, label in corpus.train})
        if len(labels) < 2:
            raise UsageError(
                f"--data {config.data}: every sentence of train.tsv has label {labels[0]}; a "
                "classifier learns from both labels (0 and 1)."
            )
        return corpus

    def _files_corpus_checked(self, config):
        ahead, self._read_ahead = getattr(self, "_read_ahead", None), None
        # The fresh run whose `fill_flags` read these files: its corpus; else read them.
        same_files = ahead is not None and files_key(ahead[0]) == files_key(config)
        corpus = ahead[1] if same_files else self._read_files(config)
        if list(corpus.classes) != list(config.classes):
            raise UsageError(
                f"--train {config.train}: its classes are now {', '.join(corpus.classes)}; "
                f"the run was trained on {', '.join(config.classes)}. Start a new run "
                "(another --output) for the new data."
            )
        for name in ("validation", "test"):
            if not corpus.split(name):
                raise UsageError(
                    f"--train {config.train}: the {name} split is empty ({len(corpus.train)} "
                    f"examples in train); give more examples or --{name} PATH."
                )
        return corpus

    def tokenizers(self, config, corpus=None, folder=None):
        if folder is not None:
            return load_tokenizers(WordTokenizer, folder, self.vocabulary_files)
        if config.teacher:  # the teacher's ids: it labels the student's text
            return (WordTokenizer.load(pathlib.Path(config.teacher) / "vocab.txt"),)
        texts = [text for text, _ in corpus.train]
        return (WordTokenizer.build(
            texts, max_vocabulary_size=config.vocabulary_size, min_count=config.min_count
        ),)

    def describe_data(self, config, corpus, tokenizers):
        labelled = bool(corpus.test) and corpus.test[0][1] is not None
        classes = ""
        if config.classes:
            classes = f"; {len(config.classes)} classes ({', '.join(config.classes)})"
        report = overlong_report(
            f"Data: {config.dataset}, {len(corpus.train)} / {len(corpus.validation)} / "
            f"{len(corpus.test)} train / validation / test sentences"
            + ("" if labelled else " (test unlabelled)")
            + f"; vocabulary of {tokenizers[0].vocabulary_size} words{classes}", corpus,
        )
        weights = self._class_weights(config, corpus)
        if weights is not None:
            names = config.classes or ("0", "1")
            report.record["class_weights"] = dict(zip(names, weights, strict=True))
            print("Class weights (--class-weight balanced): " + ", ".join(
                f"{name} {weight:.3f}" for name, weight in zip(names, weights, strict=True)))
        return report

    def _class_weights(self, config, corpus):
        if config.class_weight != "balanced":
            return None
        return balanced_class_weights([label for _, label in corpus.train], config.num_classes)

    def make_datasets(self, config, corpus, tokenizers, seed, batch_multiple):
        datasets = make_classification_datasets(
            corpus, tokenizers[0], batch_size=config.batch_size, max_length=config.max_length,
            seed=seed, batch_multiple=batch_multiple,
        )
        weights = self._class_weights(config, corpus)
        if weights is None:
            return datasets
        table = tf.constant(weights, tf.float32)  # (N,): the loss weight of each class
        return dataclasses.replace(datasets, train=datasets.train.map(
            lambda tokens, labels: (tokens, labels, tf.gather(table, labels))
        ))

    def build_model(self, config, tokenizers):
        bigrams = config.bigram_buckets or None
        pooling_heads = config.pooling_heads or 1
        if config.model == "transformer":
            model = TransformerClassifier(
                tokenizers[0].vocabulary_size, num_layers=config.layers,
                model_dim=config.model_dim, num_heads=config.heads,
                feed_forward_dim=config.feed_forward_dim, dropout=config.dropout,
                bigram_buckets=bigrams,
                # One query is Yang et al.'s pooling; a run from before the flag had one.
                pooling_heads=pooling_heads if pooling_heads > 1 else None,
                num_classes=config.num_classes,
            )
        else:
            model = BiGRUClassifier(
                tokenizers[0].vocabulary_size, embedding_dim=config.embedding_dim,
                units=config.units, attention_units=config.attention_units,
                dropout=config.dropout, bigram_buckets=bigrams,
                num_classes=config.num_classes,
            )
        model(np.ones((1, 2), "int32"))
        return model

    def compile_args(self, config, **averaging):
        if config.num_classes > 2:
            return {
                "optimizer": model_adam(config, **averaging),
                "loss": keras.losses.SparseCategoricalCrossentropy(),
                "metrics": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            }
        return {
            "optimizer": model_adam(config, **averaging),
            "loss": keras.losses.BinaryCrossentropy(
                label_smoothing=config.label_smoothing or 0.0
            ),
            "metrics": [keras.metrics.MeanMetricWrapper(thresholded_accuracy, name="accuracy")],
        }

    def attention_callback(self, config, corpus, datasets, tokenizers, folder):
        """Plots the pooling attention of two validation sentences after every epoch."""
        from attention_layers.visualization import AttentionPlotCallback

        texts = [text for text, _ in corpus.validation[:2]]
        ids = make_token_ids(tokenizers[0], texts, config.max_length)
        names = tuple(config.classes or ("negative", "positive"))

        def pooling_only(model, inputs):
            # The self-attention grids would triple the plotting time for little insight.
            return {"pooling": model.get_attention_weights(inputs)["pooling"]}

        def predicted(model, inputs):  # e.g. "positive (0.93)", P(positive) in brackets
            probabilities = keras.ops.convert_to_numpy(model(inputs, training=False))
            if probabilities.shape[-1] == 1:
                return [f"{names[int(p >= 0.5)]} ({p:.2f})" for p in probabilities.reshape(-1)]
            return [f"{names[index]} ({row[index]:.2f})" for row, index in
                    zip(probabilities, predicted_classes(probabilities), strict=True)]

        return AttentionPlotCallback(
            ids, folder / "attention", source_tokens=token_strings(tokenizers[0], ids),
            log_dir=folder / "logs" / "attention", attention_fn=pooling_only,
            true_labels=[names[int(label)] for _, label in corpus.validation[:2]],
            predicted_labels=predicted,
        )

    def final_model(self, config, models):
        """The trained model without its optimizer, or the ensemble of the members; with
        `--quantize-embeddings`, its embedding tables quantized."""
        # classifier.keras is for inference and serving (training state is in checkpoints/):
        # without Adam's two moments per weight it is a third of the size.
        model = weights_only(models[0]) if len(models) == 1 else combine(models)
        mode = config.quantize_embeddings
        if mode:
            for classifier in getattr(model, "members", [model]):
                classifier.quantize_embeddings(mode)
            print(f"Embedding tables quantized to {mode}")
        return model

    def evaluate(self, config, model, members, corpus, tokenizers, datasets):
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
            + (" (SST-2 dev)" if config.dataset == "sst2" else "")
        )
        if config.quantize_embeddings:  # what the quantization cost
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
        files = self._class_scores(config, model, datasets, results) if config.classes else {}
        results["samples"] = report_samples(model, corpus, tokenizers[0], config.max_length,
                                            SAMPLES, classes=config.classes)
        if getattr(corpus, "deciding_tokens", None):
            results.update(report_deciding(model, corpus, tokenizers[0], config.max_length))
        return Evaluation(results, headline(results), files)

    def _class_scores(self, config, model, datasets, results):
        """A run on files: macro-F1, the per-class table and the confusion matrix of the
        validation and test splits (in `results`); returns the test split's confusion
        matrix as `{file name: PNG bytes}`."""
        results["classes"] = list(config.classes)
        for split in ("validation", "test"):
            scores = classification_scores(
                *class_predictions(model, getattr(datasets, split)), config.classes
            )
            results[f"{split}_macro_f1"] = scores["macro_f1"]
            results[f"{split}_scores"] = scores
        print(f"Macro-F1: {results['validation_macro_f1']:.4f} (validation), "
              f"{results['test_macro_f1']:.4f} (test)")
        print_class_table(results["test_scores"], "test")
        counts = results["test_scores"]["confusion_matrix"]
        return {CONFUSION_MATRIX: confusion_png(
            counts, config.classes, f"Test split: {results['test_scores']['examples']} examples"
        )}

    def export(self, config, model, tokenizers, path):
        from attention_layers.export import export_classifier

        return export_classifier(model, tokenizers[0], path, max_input_tokens=config.max_length,
                                 classes=config.classes)

